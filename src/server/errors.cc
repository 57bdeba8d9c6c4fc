// Error lines built at run time. The fixed texts are constants in errors.h.
#include "server/errors.h"

#include "fmt/format.h"

#include <algorithm>

namespace geocache::errors {
namespace {

// An error line must stay on one line: Redis turns CR and LF in names and
// arguments echoed back into spaces, so must we, or the reply would break
// the protocol stream.
void append_one_line(std::string* out, std::string_view s) {
  for (char c : s) out->push_back(c == '\r' || c == '\n' ? ' ' : c);
}

// Redis' text for a code, or "" for codes whose message makes the line. A
// switch, so a new code without a decision here warns.
std::string_view status_text(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ERR internal error: ok status sent as an error";
    case StatusCode::kWrongType: return kWrongType;
    case StatusCode::kNotInteger: return kNotInteger;
    case StatusCode::kNotFloat: return kNotFloat;
    case StatusCode::kOverflow: return kOverflow;
    case StatusCode::kOutOfMemory: return kOom;
    case StatusCode::kNotFound: return kNoSuchKey;
    case StatusCode::kTooLarge: return kStringTooLong;  // the one bound data commands check
    case StatusCode::kCorruption: return kCorruptValue;  // only stored bytes are decoded on the way
    case StatusCode::kNanOrInfinity: return kNanOrInfinity;
    case StatusCode::kHashNotInteger: return kHashNotInteger;
    case StatusCode::kHashNotFloat: return kHashNotFloat;
    case StatusCode::kJsonRootOnly: return kJsonRootOnly;
    case StatusCode::kJsonNewAtRoot: return kJsonNewAtRoot;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnavailable:
    case StatusCode::kExists: return {};
  }
  return {};
}

}  // namespace

std::string unknown_command(std::string_view name, std::string_view first_args) {
  std::string out = "ERR unknown command '";
  append_one_line(&out, name.substr(0, 128));
  out += "', with args beginning with: ";
  append_one_line(&out, first_args);
  return out;
}

std::string unknown_command(std::string_view name, std::span<const std::string_view> args) {
  // Redis 7 quotes each argument and stops once about 128 bytes are shown.
  std::string shown;
  for (size_t i = 0; i < args.size() && shown.size() < 128; ++i) {
    shown += '\'';
    shown.append(args[i].substr(0, 128 - std::min<size_t>(shown.size() - 1, 128)));
    shown += "' ";
  }
  return unknown_command(name, shown);
}

std::string unknown_subcommand(std::string_view sub, std::string_view command) {
  std::string out = "ERR unknown subcommand '";
  append_one_line(&out, sub.substr(0, 128));
  out += "'. Try ";
  for (char c : command) out.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  out += " HELP.";
  return out;
}

std::string wrong_arity(std::string_view name) {
  std::string out = "ERR wrong number of arguments for '";
  for (char c : name) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  out += "' command";
  return out;
}

std::string invalid_expire(std::string_view command) {
  std::string out = "ERR invalid expire time in '";
  for (char c : command) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  out += "' command";
  return out;
}

std::string hello_syntax(std::string_view option) {
  std::string out = "ERR Syntax error in HELLO option '";
  out.append(option).append("'");
  return out;
}

std::string unrecognized_option(std::string_view option) {
  std::string out = "ERR Unrecognized option '";
  out.append(option).append("'");
  return out;
}

std::string config_set_unknown(std::string_view name) {
  std::string out = "ERR Unknown option or number of arguments for CONFIG SET - '";
  out.append(name).append("'");
  return out;
}

std::string config_set_failed(std::string_view name, std::string_view why) {
  std::string out = "ERR CONFIG SET failed (possibly related to argument '";
  out.append(name).append("') - ").append(why);
  return out;
}

std::string unsupported_option(std::string_view option) {
  std::string out = "ERR Unsupported option ";
  append_one_line(&out, option);
  return out;
}

std::string json_parse(std::string_view what) {
  std::string out = "ERR ";
  out.append(what);
  return out;
}

std::string protocol_error(std::string_view what) {
  std::string out = "ERR Protocol error: ";
  out.append(what);
  return out;
}

std::string from_status(const Status& status) {
  if (const std::string_view text = status_text(status.code()); !text.empty()) return std::string(text);
  std::string out = "ERR ";
  append_one_line(&out, status.message());
  return out;
}

std::string only_while_subscribed(std::string_view name) {
  return fmt::format(
      "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
      "context",
      name);
}

}  // namespace geocache::errors
