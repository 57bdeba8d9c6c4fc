#include "core/record.h"

#include "core/versioned_hash.h"

namespace geocache {

Result<Value> Record::to_value() const {
  switch (kind) {
    case ValueKind::kString: return Value(bytes);
    case ValueKind::kApiValue:
    case ValueKind::kJson: return Value::decode(bytes);
    case ValueKind::kHash: {
      auto h = VersionedHash::decode(bytes, version);
      if (!h.ok()) return h.status();
      Value::Map map;
      h->for_each([&](std::string_view field, std::string_view value) { map.emplace(field, Value(value)); });
      return Value(std::move(map));
    }
    case ValueKind::kTombstone: return Status::NotFound();
  }
  return Status::Corruption("unknown value kind");
}

Status Record::well_formed() const {
  if (expire_at_ms < 0 || expire_at_ms > kMaxExpireAtMs) return Status::Corruption("expiry out of range");
  switch (kind) {
    case ValueKind::kString: return Status::Ok();
    case ValueKind::kTombstone: return bytes.empty() ? Status::Ok() : Status::Corruption("tombstone with a value");
    case ValueKind::kApiValue:
    case ValueKind::kJson: return Value::decode(bytes).status();
    case ValueKind::kHash: return VersionedHash::decode(bytes, version).status();
  }
  return Status::Corruption("unknown value kind");
}

Record Record::from_value(const Value& v) {
  Record r;
  if (v.is_string()) {
    r.kind = ValueKind::kString;
    r.bytes = v.as_string();
  } else {
    r.kind = ValueKind::kApiValue;
    r.bytes = v.encode();
  }
  return r;
}

}  // namespace geocache
