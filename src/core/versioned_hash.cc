// Encoded form (integers LEB128 varints unless said otherwise):
//
//   format 1 (byte) | flags (byte: bit 0 base, bit 1 expiry, bit 2 the
//   expiry's version written out, bit 3 a base value: counters only)
//   [base: hlc (fixed64) region (fixed32)] [base value (zigzag varint)]
//   [expiry: expire_at_ms [hlc (fixed64) region (fixed32)]]
//   count | count * field:
//     flags (byte: bit 0 deleted, bit 1 version written out)
//     name (length-prefixed) | [value (length-prefixed), unless deleted]
//     [hlc (fixed64) region (fixed32)]
//
// A version left out is the record's own (HashDelta writes them so: a
// command's write has one version, assigned after it built its bytes).
// The kind is not in the bytes: the record's ValueKind says it.
#include "core/versioned_hash.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "absl/container/flat_hash_set.h"

#include "core/record.h"
#include "core/varint.h"

namespace geocache {
namespace {

constexpr uint8_t kFormat = 1;
constexpr uint8_t kHasBase = 1;
constexpr uint8_t kHasExpiry = 2;
constexpr uint8_t kExpiryVersion = 4;
constexpr uint8_t kHasBaseValue = 8;
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

void put_header(std::string* out, std::optional<Version> base, std::optional<int64_t> base_value, bool has_expiry,
                int64_t expire_at, std::optional<Version> expire_version, size_t count) {
  out->push_back(static_cast<char>(kFormat));
  out->push_back(static_cast<char>((base ? kHasBase : 0) | (has_expiry ? kHasExpiry : 0) |
                                   (expire_version ? kExpiryVersion : 0) | (base_value ? kHasBaseValue : 0)));
  if (base) put_version(out, *base);
  if (base_value) put_varint(out, zigzag(*base_value));
  if (has_expiry) {
    put_varint(out, static_cast<uint64_t>(expire_at));
    if (expire_version) put_version(out, *expire_version);
  }
  put_varint(out, count);
}

// Does a write (v, deleted) beat the field's state? Versions first; at an
// equal version a delete beats a write (a set's remove, written at the
// version of the add it saw).
bool beats(Version v, bool deleted, const VersionedHash::Field& f) {
  return v > f.version || (v == f.version && deleted && !f.deleted);
}

}  // namespace

VersionedHash::VersionedHash(Kind kind) : kind_(kind) {
  if (kind == Kind::kZset) index_.emplace();
}

const std::string* VersionedHash::find(std::string_view field) const {
  const Field* f = find_field(field);
  return f != nullptr ? &f->value : nullptr;
}

const VersionedHash::Field* VersionedHash::find_field(std::string_view field) const {
  auto it = fields_.find(field);
  if (it == fields_.end() || it->second.deleted) return nullptr;
  return &it->second;
}

std::string VersionedHash::encode_score(double score) {
  uint64_t bits;
  std::memcpy(&bits, &score, sizeof bits);
  std::string out;
  put_fixed64(&out, bits);
  return out;
}

double VersionedHash::decode_score(std::string_view value) {
  uint64_t bits = 0;
  get_fixed64(&value, &bits);
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string VersionedHash::encode_i64(int64_t v) {
  std::string out;
  put_fixed64(&out, static_cast<uint64_t>(v));
  return out;
}

int64_t VersionedHash::decode_i64(std::string_view value) {
  uint64_t bits = 0;
  get_fixed64(&value, &bits);
  return static_cast<int64_t>(bits);
}

std::string VersionedHash::counter_field(RegionId region) {
  std::string out;
  put_fixed32(&out, region);
  return out;
}

int64_t VersionedHash::counter_total() const {
  // Wrapping: INCR refuses a result past int64, but increments made at once
  // in several regions may add up past it; every region wraps alike.
  uint64_t total = static_cast<uint64_t>(base_value_);
  for (const auto& [name, f] : fields_) {
    if (!f.deleted) total += static_cast<uint64_t>(decode_i64(f.value));
  }
  return static_cast<int64_t>(total);
}

void VersionedHash::index_add(std::string_view field, std::string_view value) {
  if (index_) index_->insert(decode_score(value), field);
}

void VersionedHash::index_remove(std::string_view field, std::string_view value) {
  if (index_) index_->erase(decode_score(value), field);
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
    if (!beats(v, deleted, f)) return false;
    charge_ -= field_charge(field, f.value, f.deleted);
    if (!f.deleted) {
      --live_;
      index_remove(field, f.value);
    }
  }
  f.version = v;
  f.deleted = deleted;
  if (deleted) f.value.clear();
  else f.value.assign(value);
  charge_ += field_charge(field, f.value, f.deleted);
  if (!deleted) {
    ++live_;
    index_add(field, f.value);
  }
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

bool VersionedHash::raise_base(Version v, int64_t base_value) {
  if (!(v > base_)) return false;
  base_ = v;
  if (kind_ == Kind::kCounter) base_value_ = base_value;
  note_version(v);
  for (auto it = fields_.begin(); it != fields_.end();) {
    const Field& f = it->second;
    if (f.version > v) {
      ++it;
      continue;
    }
    charge_ -= field_charge(it->first, f.value, f.deleted);
    if (!f.deleted) {
      --live_;
      index_remove(it->first, f.value);
    }
    fields_.erase(it++);
  }
  return true;
}

bool VersionedHash::merge(const VersionedHash& other) {
  assert(kind_ == other.kind_);
  bool changed = raise_base(other.base_, other.base_value_);
  changed |= set_expiry(other.expire_at_ms_, other.expire_version_);
  for (const auto& [name, f] : other.fields_) changed |= write_field(name, f.value, f.deleted, f.version);
  // A merge of nothing newer still counts what the other one had seen.
  note_version(other.max_);
  return changed;
}

std::string VersionedHash::encode() const {
  std::string out;
  const bool has_expiry = !expire_version_.is_zero();
  put_header(&out, base_.is_zero() ? std::nullopt : std::optional(base_), encoded_base_value(), has_expiry,
             expire_at_ms_, has_expiry ? std::optional(expire_version_) : std::nullopt, fields_.size());
  for (const auto& [name, f] : fields_) put_field(&out, name, f.value, f.deleted, f.version);
  return out;
}

std::vector<std::string> VersionedHash::encode_in_pieces(size_t max_bytes) const {
  const bool has_expiry = !expire_version_.is_zero();
  auto header = [&](std::string* out, size_t count) {
    put_header(out, base_.is_zero() ? std::nullopt : std::optional(base_), encoded_base_value(), has_expiry,
               expire_at_ms_, has_expiry ? std::optional(expire_version_) : std::nullopt, count);
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
  put_header(&out, base_ ? std::optional(base_->version) : std::nullopt,
             base_ && base_->value != 0 ? std::optional(base_->value) : std::nullopt, expiry_.has_value(),
             expiry_ ? expiry_->at : 0, expiry_ ? expiry_->set_by : std::nullopt, last.size());
  for (const Change* c : last) put_field(&out, c->field, c->value, c->deleted, c->version);
  return out;
}

Result<VersionedHash> VersionedHash::decode(std::string_view in, Version record_version, Kind kind) {
  auto bad = [](const char* what) { return Status::Corruption(std::string("collection record: ") + what); };
  if (in.size() < 2 || static_cast<uint8_t>(in[0]) != kFormat) return bad("unknown format");
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  if ((flags & ~(kHasBase | kHasExpiry | kExpiryVersion | kHasBaseValue)) != 0) return bad("unknown flags");
  if ((flags & kHasBaseValue) && (kind != Kind::kCounter || !(flags & kHasBase))) return bad("unexpected base value");
  in.remove_prefix(2);
  // A version written out must be a real one and no newer than the record's.
  auto check = [&](Version v) { return !v.is_zero() && v <= record_version; };
  VersionedHash h(kind);
  if (flags & kHasBase) {
    Version base;
    uint64_t base_value = 0;
    if (!get_version(&in, &base) || ((flags & kHasBaseValue) && !get_varint(&in, &base_value))) return bad("truncated");
    if (!check(base)) return bad("version out of range");
    h.raise_base(base, unzigzag(base_value));
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
    if (const char* why = h.invalid_field(name, value, deleted, v)) return bad(why);
    // At or below the base it is gone already; that is no error.
    h.write_field(name, value, deleted, v);
  }
  if (!in.empty()) return bad("trailing bytes");
  return h;
}

const char* VersionedHash::invalid_field(std::string_view name, std::string_view value, bool deleted,
                                         Version v) const {
  switch (kind_) {
    case Kind::kHash: return nullptr;
    case Kind::kSet: return deleted || value.empty() ? nullptr : "a set member with a value";
    case Kind::kZset:
      if (deleted) return nullptr;
      if (value.size() != 8) return "a score that is not 8 bytes";
      return std::isnan(decode_score(value)) ? "a score that is NaN" : nullptr;
    case Kind::kCounter: {
      uint32_t region = 0;
      std::string_view n = name;
      if (!get_fixed32(&n, &region) || !n.empty()) return "a counter field that is no region id";
      if (deleted) return "a deleted counter field";
      if (value.size() != 8) return "a contribution that is not 8 bytes";
      // A region writes its own contribution only.
      return region == v.region ? nullptr : "a contribution written by another region";
    }
  }
  return "unknown kind";
}

bool operator==(const VersionedHash& a, const VersionedHash& b) {
  if (a.kind_ != b.kind_ || a.base_value_ != b.base_value_ || a.base_ != b.base_ || a.expire_at_ms_ != b.expire_at_ms_ || a.expire_version_ != b.expire_version_ ||
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
