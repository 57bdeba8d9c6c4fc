// Encoded form (integers LEB128 varints unless said otherwise):
//
//   format 1 (byte) | flags (byte: bit 0 base, bit 1 expiry, bit 2 the
//   expiry's version written out)
//   [base: hlc (fixed64) region (fixed32)]
//   [expiry: expire_at_ms [hlc (fixed64) region (fixed32)]]
//   count | count * field:
//     flags (byte: bit 0 deleted, bit 1 version written out)
//     name (length-prefixed) | [value (length-prefixed), unless deleted]
//     [hlc (fixed64) region (fixed32)]
//
// A version left out is the record's own (HashDelta writes them so: a
// command's write has one version, assigned after it built its bytes).
#include "core/versioned_hash.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

#include "core/record.h"
#include "core/varint.h"

namespace geocache {
namespace {

constexpr uint8_t kFormat = 1;
constexpr uint8_t kHasBase = 1;
constexpr uint8_t kHasExpiry = 2;
constexpr uint8_t kExpiryVersion = 4;
constexpr uint8_t kFieldDeleted = 1;
constexpr uint8_t kFieldVersion = 2;
// A field takes at least 2 bytes (flags, empty name); a count beyond what is
// left is a lie.
constexpr size_t kMinFieldBytes = 2;

void put_version(std::string* out, Version v) {
  put_fixed64(out, v.hlc);
  put_fixed32(out, v.region);
}

bool get_version(std::string_view* in, Version* v) { return get_fixed64(in, &v->hlc) && get_fixed32(in, &v->region); }

void put_field(std::string* out, std::string_view name, std::string_view value, bool deleted,
               std::optional<Version> version) {
  out->push_back(static_cast<char>((deleted ? kFieldDeleted : 0) | (version ? kFieldVersion : 0)));
  put_length_prefixed(out, name);
  if (!deleted) put_length_prefixed(out, value);
  if (version) put_version(out, *version);
}

void put_header(std::string* out, std::optional<Version> base, bool has_expiry, int64_t expire_at,
                std::optional<Version> expire_version, size_t count) {
  out->push_back(static_cast<char>(kFormat));
  out->push_back(static_cast<char>((base ? kHasBase : 0) | (has_expiry ? kHasExpiry : 0) |
                                   (expire_version ? kExpiryVersion : 0)));
  if (base) put_version(out, *base);
  if (has_expiry) {
    put_varint(out, static_cast<uint64_t>(expire_at));
    if (expire_version) put_version(out, *expire_version);
  }
  put_varint(out, count);
}

}  // namespace

const std::string* VersionedHash::find(std::string_view field) const {
  auto it = fields_.find(field);
  if (it == fields_.end() || it->second.deleted) return nullptr;
  return &it->second.value;
}

void VersionedHash::for_each(absl::FunctionRef<void(std::string_view, std::string_view)> fn) const {
  for (const auto& [name, f] : fields_) {
    if (!f.deleted) fn(name, f.value);
  }
}

bool VersionedHash::write_field(std::string_view field, std::string_view value, bool deleted, Version v) {
  if (!(v > base_)) return false;
  auto [it, inserted] = fields_.try_emplace(field);
  Field& f = it->second;
  if (!inserted) {
    if (!(v > f.version)) return false;
    charge_ -= field_charge(field, f.value);
    if (!f.deleted) --live_;
  }
  f.version = v;
  f.deleted = deleted;
  if (deleted) f.value.clear();
  else f.value.assign(value);
  charge_ += field_charge(field, f.value);
  if (!deleted) ++live_;
  note_version(v);
  return true;
}

bool VersionedHash::set_expiry(int64_t expire_at_ms, Version v) {
  if (!(v > expire_version_)) return false;
  expire_at_ms_ = expire_at_ms;
  expire_version_ = v;
  note_version(v);
  return true;
}

bool VersionedHash::raise_base(Version v) {
  if (!(v > base_)) return false;
  base_ = v;
  note_version(v);
  for (auto it = fields_.begin(); it != fields_.end();) {
    const Field& f = it->second;
    if (f.version > v) {
      ++it;
      continue;
    }
    charge_ -= field_charge(it->first, f.value);
    if (!f.deleted) --live_;
    fields_.erase(it++);
  }
  return true;
}

bool VersionedHash::merge(const VersionedHash& other) {
  bool changed = raise_base(other.base_);
  changed |= set_expiry(other.expire_at_ms_, other.expire_version_);
  for (const auto& [name, f] : other.fields_) changed |= write_field(name, f.value, f.deleted, f.version);
  // A merge of nothing newer still counts what the other one had seen.
  note_version(other.max_);
  return changed;
}

std::string VersionedHash::encode() const {
  std::string out;
  const bool has_expiry = !expire_version_.is_zero();
  put_header(&out, base_.is_zero() ? std::nullopt : std::optional(base_), has_expiry, expire_at_ms_,
             has_expiry ? std::optional(expire_version_) : std::nullopt, fields_.size());
  for (const auto& [name, f] : fields_) put_field(&out, name, f.value, f.deleted, f.version);
  return out;
}

std::vector<std::string> VersionedHash::encode_in_pieces(size_t max_bytes) const {
  const bool has_expiry = !expire_version_.is_zero();
  auto header = [&](std::string* out, size_t count) {
    put_header(out, base_.is_zero() ? std::nullopt : std::optional(base_), has_expiry, expire_at_ms_,
               has_expiry ? std::optional(expire_version_) : std::nullopt, count);
  };
  std::vector<std::string> pieces;
  std::string fields;
  size_t count = 0;
  auto flush = [&] {
    std::string piece;
    header(&piece, count);
    piece += fields;
    pieces.push_back(std::move(piece));
    fields.clear();
    count = 0;
  };
  for (const auto& [name, f] : fields_) {
    put_field(&fields, name, f.value, f.deleted, f.version);
    ++count;
    if (fields.size() >= max_bytes) flush();
  }
  if (count > 0 || pieces.empty()) flush();
  return pieces;
}

std::string HashDelta::encode() const {
  // A field changed twice by one command (HSET h f 1 f 2) is written once,
  // as its last change: one write gives one field one value.
  std::vector<const Change*> last;
  last.reserve(fields_.size());
  absl::flat_hash_set<std::string_view> seen;
  for (auto it = fields_.rbegin(); it != fields_.rend(); ++it) {
    if (seen.insert(it->field).second) last.push_back(&*it);
  }
  std::string out;
  put_header(&out, std::nullopt, expiry_.has_value(), expiry_ ? expiry_->at : 0,
             expiry_ ? expiry_->set_by : std::nullopt, last.size());
  for (const Change* c : last) put_field(&out, c->field, c->value, c->deleted, std::nullopt);
  return out;
}

Result<VersionedHash> VersionedHash::decode(std::string_view in, Version record_version) {
  auto bad = [](const char* what) { return Status::Corruption(std::string("hash record: ") + what); };
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kFormat) return bad("unknown format");
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  if ((flags & ~(kHasBase | kHasExpiry | kExpiryVersion)) != 0) return bad("unknown flags");
  in.remove_prefix(2);
  // A version written out must be a real one and no newer than the record's.
  auto check = [&](Version v) { return !v.is_zero() && v <= record_version; };
  VersionedHash h;
  if (flags & kHasBase) {
    Version base;
    if (!get_version(&in, &base)) return bad("truncated");
    if (!check(base)) return bad("version out of range");
    h.raise_base(base);
  }
  if (flags & kHasExpiry) {
    uint64_t at;
    Version v = record_version;
    if (!get_varint(&in, &at) || ((flags & kExpiryVersion) && !get_version(&in, &v))) return bad("truncated");
    if (at > static_cast<uint64_t>(kMaxExpireAtMs)) return bad("expiry out of range");
    if (!check(v)) return bad("version out of range");
    h.set_expiry(static_cast<int64_t>(at), v);
  } else if (flags & kExpiryVersion) {
    return bad("expiry version without an expiry");
  }
  uint64_t count;
  if (!get_varint(&in, &count)) return bad("truncated");
  if (count > in.size() / kMinFieldBytes) return bad("bad field count");
  h.fields_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (in.empty()) return bad("truncated");
    const uint8_t fflags = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if ((fflags & ~(kFieldDeleted | kFieldVersion)) != 0) return bad("unknown field flags");
    const bool deleted = fflags & kFieldDeleted;
    std::string_view name, value;
    Version v = record_version;
    if (!get_length_prefixed(&in, &name) || (!deleted && !get_length_prefixed(&in, &value)) ||
        ((fflags & kFieldVersion) && !get_version(&in, &v))) {
      return bad("truncated");
    }
    if (!check(v)) return bad("version out of range");
    if (h.fields_.contains(name)) return bad("a field appears twice");
    // At or below the base it is gone already; that is no error.
    h.write_field(name, value, deleted, v);
  }
  if (!in.empty()) return bad("trailing bytes");
  return h;
}

bool operator==(const VersionedHash& a, const VersionedHash& b) {
  if (a.base_ != b.base_ || a.expire_at_ms_ != b.expire_at_ms_ || a.expire_version_ != b.expire_version_ ||
      a.fields_.size() != b.fields_.size()) {
    return false;
  }
  for (const auto& [name, f] : a.fields_) {
    auto it = b.fields_.find(name);
    if (it == b.fields_.end() || it->second.value != f.value || it->second.version != f.version ||
        it->second.deleted != f.deleted) {
      return false;
    }
  }
  return true;
}

}  // namespace geocache
