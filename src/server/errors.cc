// Error lines built at run time. The fixed texts are constants in errors.h.
#include "server/errors.h"

#include <algorithm>

namespace geocache::errors {
namespace {

// An error line must stay on one line: Redis turns CR and LF in names and
// arguments echoed back into spaces, so must we, or the reply would break
// the protocol stream.
void append_one_line(std::string* out, std::string_view s) {
  for (char c : s) out->push_back(c == '\r' || c == '\n' ? ' ' : c);
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
  switch (status.code()) {
    case StatusCode::kOk:
      return "ERR internal error: ok status sent as an error";
    case StatusCode::kWrongType:
      return std::string(kWrongType);
    case StatusCode::kNotInteger:
      return std::string(kNotInteger);
    case StatusCode::kNotFloat:
      return std::string(kNotFloat);
    case StatusCode::kOverflow:
      return std::string(kOverflow);
    case StatusCode::kOutOfMemory:
      return std::string(kOom);
    case StatusCode::kNotFound:
      return std::string(kNoSuchKey);
    case StatusCode::kTooLarge:  // the one bound a data command checks: proto-max-bulk-len
      return std::string(kStringTooLong);
    case StatusCode::kCorruption:  // stored bytes: what else reaches a reply is decoded already
      return std::string(kCorruptValue);
    case StatusCode::kNanOrInfinity:
      return std::string(kNanOrInfinity);
    case StatusCode::kHashNotInteger:
      return std::string(kHashNotInteger);
    case StatusCode::kHashNotFloat:
      return std::string(kHashNotFloat);
    case StatusCode::kJsonRootOnly:
      return std::string(kJsonRootOnly);
    case StatusCode::kJsonNewAtRoot:
      return std::string(kJsonNewAtRoot);
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnavailable:
    case StatusCode::kExists:
      break;
  }
  std::string out = "ERR ";
  append_one_line(&out, status.message());
  return out;
}

}  // namespace geocache::errors
