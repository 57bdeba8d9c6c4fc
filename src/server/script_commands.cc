#include "server/command_families.h"
namespace geocache {
std::span<const CommandSpec> scripting_family() { return {}; }
}
