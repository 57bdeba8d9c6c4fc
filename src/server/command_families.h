// Each family of commands lives in its own file and exposes its rows of the
// command table; command_table.cc joins them into the one table dispatch reads.
#pragma once

#include <span>

#include "server/command.h"

namespace geocache {

std::span<const CommandSpec> string_family();      // string_commands.cc
std::span<const CommandSpec> key_family();         // key_commands.cc
std::span<const CommandSpec> hash_family();        // hash_commands.cc
std::span<const CommandSpec> set_family();         // set_commands.cc
std::span<const CommandSpec> zset_family();        // zset_commands.cc
std::span<const CommandSpec> list_family();        // list_commands.cc
std::span<const CommandSpec> json_family();        // json_commands.cc
std::span<const CommandSpec> connection_family();  // connection_commands.cc
std::span<const CommandSpec> server_family();      // server_commands.cc
std::span<const CommandSpec> geo_family();         // geo_commands.cc
std::span<const CommandSpec> transaction_family(); // transaction_commands.cc
std::span<const CommandSpec> scripting_family();   // script_commands.cc
std::span<const CommandSpec> pubsub_family();      // pubsub_commands.cc

}  // namespace geocache
