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
