// Status and Result<T>: expected failures as values on the request path.
//
// Nothing in cache/ or messaging/ throws per request; functions that can fail
// return a Status (or a Result<T> carrying either a T or a non-ok Status). The
// server maps each code to a RESP error line in one place (server/errors).
// Both types are [[nodiscard]]: a dropped error is a bug, so a caller that
// means to ignore one says so with (void) and a reason.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace geocache {

enum class StatusCode {
  kOk = 0,
  kNotFound,         // key absent, expired or deleted
  kWrongType,        // operation against a key holding the wrong kind of value
  kInvalidArgument,  // malformed input from a client or a caller
  kNotInteger,       // value is not an integer or out of range
  kNotFloat,         // value is not a valid float
  kOverflow,         // increment or decrement would overflow
  kTooLarge,         // a configured size bound was exceeded
  kCorruption,       // bytes that do not decode
  kUnavailable,      // region or link not reachable (circuit open)
  kExists,           // NX condition failed
  kOutOfMemory,      // the store cannot make room for the value
  // Refusals of the server's data commands, one per Redis error text.
  kNanOrInfinity,    // arithmetic would produce NaN or Infinity
  kHashNotInteger,   // a hash field's value is not an integer
  kHashNotFloat,     // a hash field's value is not a float
  kJsonRootOnly,     // a JSON path other than the root
  kJsonNewAtRoot,    // a new JSON document at a path other than the root
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status NotFound(std::string m = "not found") { return {StatusCode::kNotFound, std::move(m)}; }
  static Status WrongType(std::string m = "wrong type") { return {StatusCode::kWrongType, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotInteger(std::string m = "value is not an integer or out of range") {
    return {StatusCode::kNotInteger, std::move(m)};
  }
  static Status NotFloat(std::string m = "value is not a valid float") { return {StatusCode::kNotFloat, std::move(m)}; }
  static Status Overflow(std::string m = "increment or decrement would overflow") {
    return {StatusCode::kOverflow, std::move(m)};
  }
  static Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Exists(std::string m = "exists") { return {StatusCode::kExists, std::move(m)}; }
  static Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
  static Status NanOrInfinity(std::string m = "increment would produce NaN or Infinity") {
    return {StatusCode::kNanOrInfinity, std::move(m)};
  }
  static Status HashNotInteger(std::string m = "hash value is not an integer") {
    return {StatusCode::kHashNotInteger, std::move(m)};
  }
  static Status HashNotFloat(std::string m = "hash value is not a float") {
    return {StatusCode::kHashNotFloat, std::move(m)};
  }
  static Status JsonRootOnly(std::string m = "only the root path is supported") {
    return {StatusCode::kJsonRootOnly, std::move(m)};
  }
  static Status JsonNewAtRoot(std::string m = "new objects must be created at the root") {
    return {StatusCode::kJsonNewAtRoot, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status. g++ 12 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {     // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace geocache
