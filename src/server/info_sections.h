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

// How far this connection's region is behind region p, ms: INFO's lag_ms
// (the last event's write-to-apply delay, or before any event the last
// hello's transit; docs/data_commands.md, "INFO"). 0 for its own region.
int64_t region_lag_ms(CommandContext& ctx, const PeerStatus& p);

}  // namespace geocache
