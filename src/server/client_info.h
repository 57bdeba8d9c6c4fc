// Formatting of CLIENT LIST / CLIENT INFO lines and client-name rules,
// shared by CLIENT and INFO.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/client_session.h"

namespace geocache {

// The Redis version clients are told we are compatible with (HELLO, INFO).
inline constexpr std::string_view kRedisCompatVersion = "7.0.0";

// Redis allows printable characters other than space in a client name.
bool valid_client_name(std::string_view name);

// Appends "id=.. addr=.. laddr=.. fd=.. name=.. age=.. idle=.. ... resp=..\n";
// age and idle count from now_ms, the server clock's time (ServerState::now_ms).
// REQUIRES: the client registry mutex is held (ServerState::for_each_client).
void append_client_line(const ClientSession& s, int64_t now_ms, std::string* out);

}  // namespace geocache
