// Value: the flexible schema. A value is null, a boolean, a 64-bit integer, a
// double, a byte string, a list of values or a map from strings to values,
// nested to any depth up to kMaxDepth. Type and content replicate together.
//
// Values have a compact binary form (encode/decode), used in the store and on
// the wire, and a JSON text form (to_json/from_json). The store's byte limit
// counts a value by its encoded size (strings by their length).
//
// Thread-safety: a Value is a plain value type; const methods may be called
// concurrently, anything else needs external synchronisation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace geocache {

class Value {
 public:
  enum class Type : uint8_t { kNull = 0, kBool, kInt, kDouble, kString, kList, kMap };
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;

  // Nesting deeper than this is rejected by decode and from_json, so hostile
  // input cannot exhaust the stack.
  static constexpr int kMaxDepth = 128;

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(List l) : v_(std::move(l)) {}
  Value(Map m) : v_(std::move(m)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_string() const { return type() == Type::kString; }

  // REQUIRES: the value holds that type.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const List& as_list() const { return std::get<List>(v_); }
  List& as_list() { return std::get<List>(v_); }
  const Map& as_map() const { return std::get<Map>(v_); }
  Map& as_map() { return std::get<Map>(v_); }

  // Appends the binary form to *out.
  void encode_to(std::string* out) const;
  std::string encode() const;
  // Bytes encode() would produce.
  size_t encoded_size() const;
  // Parses the binary form; truncated, trailing or malformed bytes give
  // kCorruption, never a crash.
  static Result<Value> decode(std::string_view bytes);

  // JSON text. Strings that are not valid UTF-8 have bad bytes replaced;
  // non-finite doubles become null.
  std::string to_json() const;
  // kInvalidArgument with the parser's message for malformed text.
  static Result<Value> from_json(std::string_view text);

  static const char* type_name(Type t);

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, List, Map> v_;
};

}  // namespace geocache
