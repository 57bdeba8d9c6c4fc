// Binary form of a Value: one tag byte, then the payload.
//
//   null 0x00 | false 0x01 | true 0x02
//   int     0x03 zigzag varint
//   double  0x04 8 bytes little-endian IEEE 754
//   string  0x05 varint length, bytes
//   list    0x06 varint count, values
//   map     0x07 varint count, (varint key length, key bytes, value) * count
//
// Varints are LEB128 (7 bits a byte, low first). A decoder never trusts a
// length or count beyond the bytes that remain, and bounds nesting depth.
#include "core/value.h"

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/varint.h"

namespace geocache {
namespace {

enum Tag : uint8_t { kTagNull = 0, kTagFalse, kTagTrue, kTagInt, kTagDouble, kTagString, kTagList, kTagMap };

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  Result<Value> value(int depth) {
    if (depth > Value::kMaxDepth) return Status::Corruption("value nested too deeply");
    if (in_.empty()) return Status::Corruption("truncated value");
    const uint8_t tag = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    switch (tag) {
      case kTagNull: return Value();
      case kTagFalse: return Value(false);
      case kTagTrue: return Value(true);
      case kTagInt: {
        uint64_t z;
        if (!get_varint(&in_, &z)) return Status::Corruption("bad integer");
        return Value(unzigzag(z));
      }
      case kTagDouble: {
        uint64_t bits;
        if (!get_fixed64(&in_, &bits)) return Status::Corruption("truncated double");
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return Value(d);
      }
      case kTagString: {
        std::string_view s;
        if (!get_length_prefixed(&in_, &s)) return Status::Corruption("bad string length");
        return Value(std::string(s));
      }
      case kTagList: {
        uint64_t n;
        // Every element takes at least one byte, so a count above what is left is a lie.
        if (!get_varint(&in_, &n) || n > in_.size()) return Status::Corruption("bad list length");
        Value::List list;
        list.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          auto v = value(depth + 1);
          if (!v.ok()) return v.status();
          list.push_back(std::move(v).value());
        }
        return Value(std::move(list));
      }
      case kTagMap: {
        uint64_t n;
        if (!get_varint(&in_, &n) || n > in_.size() / 2) return Status::Corruption("bad map length");
        Value::Map map;
        for (uint64_t i = 0; i < n; ++i) {
          std::string_view key;
          if (!get_length_prefixed(&in_, &key)) return Status::Corruption("bad map key");
          auto v = value(depth + 1);
          if (!v.ok()) return v.status();
          map.insert_or_assign(std::string(key), std::move(v).value());
        }
        return Value(std::move(map));
      }
      default: return Status::Corruption("unknown value tag");
    }
  }

  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

nlohmann::json to_json_tree(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return nullptr;
    case Value::Type::kBool: return v.as_bool();
    case Value::Type::kInt: return v.as_int();
    case Value::Type::kDouble: return std::isfinite(v.as_double()) ? nlohmann::json(v.as_double()) : nullptr;
    case Value::Type::kString: return v.as_string();
    case Value::Type::kList: {
      auto arr = nlohmann::json::array();
      for (const auto& e : v.as_list()) arr.push_back(to_json_tree(e));
      return arr;
    }
    case Value::Type::kMap: {
      auto obj = nlohmann::json::object();
      for (const auto& [k, e] : v.as_map()) obj[k] = to_json_tree(e);
      return obj;
    }
  }
  return nullptr;
}

Value from_json_tree(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value();
    case nlohmann::json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      Value::List list;
      list.reserve(j.size());
      for (const auto& e : j) list.push_back(from_json_tree(e));
      return Value(std::move(list));
    }
    case nlohmann::json::value_t::object: {
      Value::Map map;
      for (const auto& [k, e] : j.items()) map.insert_or_assign(k, from_json_tree(e));
      return Value(std::move(map));
    }
    default: return Value();
  }
}

// nlohmann's parser recurses; measure nesting first so deep input is refused
// instead of overflowing the stack.
bool json_depth_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

void Value::encode_to(std::string* out) const {
  switch (type()) {
    case Type::kNull: out->push_back(static_cast<char>(kTagNull)); break;
    case Type::kBool: out->push_back(static_cast<char>(as_bool() ? kTagTrue : kTagFalse)); break;
    case Type::kInt:
      out->push_back(static_cast<char>(kTagInt));
      put_varint(out, zigzag(as_int()));
      break;
    case Type::kDouble: {
      out->push_back(static_cast<char>(kTagDouble));
      uint64_t bits;
      const double d = as_double();
      std::memcpy(&bits, &d, sizeof bits);
      put_fixed64(out, bits);
      break;
    }
    case Type::kString:
      out->push_back(static_cast<char>(kTagString));
      put_length_prefixed(out, as_string());
      break;
    case Type::kList:
      out->push_back(static_cast<char>(kTagList));
      put_varint(out, as_list().size());
      for (const auto& e : as_list()) e.encode_to(out);
      break;
    case Type::kMap:
      out->push_back(static_cast<char>(kTagMap));
      put_varint(out, as_map().size());
      for (const auto& [k, e] : as_map()) {
        put_length_prefixed(out, k);
        e.encode_to(out);
      }
      break;
  }
}

std::string Value::encode() const {
  std::string out;
  out.reserve(encoded_size());
  encode_to(&out);
  return out;
}

size_t Value::encoded_size() const {
  switch (type()) {
    case Type::kNull:
    case Type::kBool: return 1;
    case Type::kInt: return 1 + varint_length(zigzag(as_int()));
    case Type::kDouble: return 9;
    case Type::kString: return 1 + varint_length(as_string().size()) + as_string().size();
    case Type::kList: {
      size_t n = 1 + varint_length(as_list().size());
      for (const auto& e : as_list()) n += e.encoded_size();
      return n;
    }
    case Type::kMap: {
      size_t n = 1 + varint_length(as_map().size());
      for (const auto& [k, e] : as_map()) n += varint_length(k.size()) + k.size() + e.encoded_size();
      return n;
    }
  }
  return 1;
}

Result<Value> Value::decode(std::string_view bytes) {
  Decoder d(bytes);
  auto v = d.value(0);
  if (!v.ok()) return v;
  if (!d.done()) return Status::Corruption("trailing bytes after value");
  return v;
}

std::string Value::to_json() const {
  return to_json_tree(*this).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Value> Value::from_json(std::string_view text) {
  if (!json_depth_within(text, kMaxDepth)) return Status::InvalidArgument("JSON nested too deeply");
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("invalid JSON");
  return from_json_tree(j);
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kList: return "array";
    case Type::kMap: return "object";
  }
  return "unknown";
}

}  // namespace geocache
