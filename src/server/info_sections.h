// INFO: the text of each section, Redis' "field:value" lines under
// "# Section" headers, plus a `geo` section about regions and replication.
#pragma once

#include <string>
#include <string_view>

#include "server/command.h"

namespace geocache {

// The INFO text for one section name (any case), "default", "all" or
// "everything"; empty for an unknown section (Redis replies an empty text).
std::string info_text(CommandContext& ctx, std::string_view section);

}  // namespace geocache
