// Every error line the server sends, in Redis' wording so clients match it.
// ReplyWriter::error() adds the leading '-'.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace geocache::errors {

inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol "
    "version at the same time";
inline constexpr std::string_view kBadClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kAuthNotSet =
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
    "configuration is correct?";
inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kInvalidExpire = "ERR invalid expire time in '%s' command";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kDbIndexOutOfRange = "ERR DB index is out of range";
inline constexpr std::string_view kHashNotInteger = "ERR hash value is not an integer";
inline constexpr std::string_view kHashNotFloat = "ERR hash value is not a float";
inline constexpr std::string_view kStringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
inline constexpr std::string_view kNoProto = "NOPROTO unsupported protocol version";
inline constexpr std::string_view kInvalidPassword = "ERR invalid password";
// Sent to a non-loopback client when no password is set and protected mode is on.
inline constexpr std::string_view kDenied =
    "DENIED geocached is running in protected mode because protected mode is enabled and no password is "
    "set for the default user. In this mode connections are only accepted from the loopback interface. "
    "To accept connections from other hosts, either set a password (requirepass, or CONFIG SET "
    "requirepass from a loopback connection) or disable protected mode (protected-mode no), and restart.";

// Protocol errors (the connection is closed after the reply), Redis' wording.
inline constexpr std::string_view kProtoInvalidMultibulk = "ERR Protocol error: invalid multibulk length";
inline constexpr std::string_view kProtoInvalidBulk = "ERR Protocol error: invalid bulk length";
inline constexpr std::string_view kProtoBigMultibulkCount = "ERR Protocol error: too big mbulk count string";
inline constexpr std::string_view kProtoBigBulkCount = "ERR Protocol error: too big bulk count string";
inline constexpr std::string_view kProtoBigInline = "ERR Protocol error: too big inline request";
inline constexpr std::string_view kProtoUnbalancedQuotes = "ERR Protocol error: unbalanced quotes in request";
inline constexpr std::string_view kProtoUnauthMultibulk = "ERR Protocol error: unauthenticated multibulk length";
inline constexpr std::string_view kProtoUnauthBulk = "ERR Protocol error: unauthenticated bulk length";

// Data commands.
inline constexpr std::string_view kNanOrInfinity = "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view kValueNanOrInfinity = "ERR value is NaN or Infinity";
inline constexpr std::string_view kDecrementOverflow = "ERR decrement would overflow";
inline constexpr std::string_view kOffsetOutOfRange = "ERR offset is out of range";
inline constexpr std::string_view kInvalidCursor = "ERR invalid cursor";
inline constexpr std::string_view kExpireNxConflict =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
inline constexpr std::string_view kExpireGtLtConflict = "ERR GT and LT options at the same time are not compatible";
inline constexpr std::string_view kJsonNewAtRoot = "ERR new objects must be created at the root";
inline constexpr std::string_view kJsonRootOnly = "ERR only the root path ($ or .) is supported";
inline constexpr std::string_view kCorruptValue = "ERR stored value is corrupt";

// Sets and sorted sets.
inline constexpr std::string_view kMustBePositive = "ERR value is out of range, must be positive";
inline constexpr std::string_view kOutOfRange = "ERR value is out of range";
inline constexpr std::string_view kNumkeysPositive = "ERR numkeys should be greater than 0";
inline constexpr std::string_view kNumkeysTooBig = "ERR Number of keys can't be greater than number of args";
inline constexpr std::string_view kLimitNegative = "ERR LIMIT can't be negative";
inline constexpr std::string_view kMinMaxNotFloat = "ERR min or max is not a float";
inline constexpr std::string_view kMinMaxNotString = "ERR min or max not valid string range item";
inline constexpr std::string_view kZaddXxNx = "ERR XX and NX options at the same time are not compatible";
inline constexpr std::string_view kZaddGtLtNx = "ERR GT, LT, and/or NX options at the same time are not compatible";
inline constexpr std::string_view kZaddIncrPair = "ERR INCR option supports a single increment-element pair";
inline constexpr std::string_view kScoreNan = "ERR resulting score is not a number (NaN)";
inline constexpr std::string_view kZrangeLimit =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
inline constexpr std::string_view kZrangeByLexScores = "ERR syntax error, WITHSCORES not supported in combination with BYLEX";

// Connection and server commands.
inline constexpr std::string_view kProtocolVersion = "ERR Protocol version is not an integer or out of range";
inline constexpr std::string_view kDebugProtocolType =
    "ERR Wrong protocol type name. Please use one of the following: "
    "string|integer|double|null|array|set|map|true|false|verbatim";

// Transactions and scripts.
inline constexpr std::string_view kExecWithoutMulti = "ERR EXEC without MULTI";
inline constexpr std::string_view kDiscardWithoutMulti = "ERR DISCARD without MULTI";
inline constexpr std::string_view kMultiNested = "ERR MULTI calls can not be nested";
inline constexpr std::string_view kWatchInMulti = "ERR WATCH inside MULTI is not allowed";
inline constexpr std::string_view kNotInMulti = "ERR Command not allowed inside a transaction";
inline constexpr std::string_view kExecAbort = "EXECABORT Transaction discarded because of previous errors.";
inline constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";
inline constexpr std::string_view kNegativeKeys = "ERR Number of keys can't be negative";
inline constexpr std::string_view kTooManyKeys = "ERR Number of keys can't be greater than number of args";
inline constexpr std::string_view kScriptNotAllowed = "ERR This Redis command is not allowed from script";
inline constexpr std::string_view kScriptWriteReadOnly = "ERR Write commands are not allowed from read-only scripts.";

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
std::string unknown_command(std::string_view name, std::string_view first_args);
// The same, quoting the arguments after the name the way Redis 7 does.
std::string unknown_command(std::string_view name, std::span<const std::string_view> args);
// "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
std::string only_while_subscribed(std::string_view name);
// "ERR unknown subcommand 'foo'. Try CLIENT HELP."
std::string unknown_subcommand(std::string_view sub, std::string_view command);
// "ERR Protocol error: expected '$', got 'x'" and the like.
std::string protocol_error(std::string_view what);
// "ERR wrong number of arguments for 'get' command"
std::string wrong_arity(std::string_view name);
// "ERR invalid expire time in 'set' command"
std::string invalid_expire(std::string_view command);
// "ERR Syntax error in HELLO option '<option>'"
std::string hello_syntax(std::string_view option);
// "ERR Unrecognized option '<option>'" (CLIENT SETINFO).
std::string unrecognized_option(std::string_view option);
// "ERR Unknown option or number of arguments for CONFIG SET - '<name>'"
std::string config_set_unknown(std::string_view name);
// "ERR CONFIG SET failed (possibly related to argument '<name>') - <why>"
std::string config_set_failed(std::string_view name, std::string_view why);
// "ERR Unsupported option <option>" (EXPIRE's flags).
std::string unsupported_option(std::string_view option);
// "ERR <what>" for a JSON text that does not parse.
std::string json_parse(std::string_view what);
// The error line for a non-ok Status from cache/ or a data command's
// mutator: each code's Redis text above (WRONGTYPE, OOM, ...); codes without
// one give "ERR <message>".
std::string from_status(const Status& status);

}  // namespace geocache::errors
