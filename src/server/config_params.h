// The settings CONFIG GET shows and CONFIG SET changes. Live settings take
// effect at once (for new commands and connections; maxmemory evicts down
// to the new bound at once); the others are read-only after start.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "server/command.h"

namespace geocache {

struct ConfigParam {
  std::string_view name;
  std::string (*get)(CommandContext& ctx);
  // Applies value; returns an empty string or the reason it was refused
  // (e.g. "argument must be a memory value"). nullptr: read-only.
  std::string (*set)(CommandContext& ctx, std::string_view value);
};

std::span<const ConfigParam> config_params();

}  // namespace geocache
