#include "core/record.h"

namespace geocache {

Result<Value> Record::to_value() const {
  switch (kind) {
    case ValueKind::kString: return Value(bytes);
    case ValueKind::kApiValue:
    case ValueKind::kHash:
    case ValueKind::kJson: return Value::decode(bytes);
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
    case ValueKind::kHash: {
      // The hash commands read every field's value as a string.
      auto v = Value::decode(bytes);
      if (!v.ok()) return v.status();
      if (v->type() != Value::Type::kMap) return Status::Corruption("hash bytes are not a map");
      for (const auto& [field, value] : v->as_map()) {
        if (!value.is_string()) return Status::Corruption("hash field value is not a string");
      }
      return Status::Ok();
    }
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
