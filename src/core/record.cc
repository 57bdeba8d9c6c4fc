#include "core/record.h"

#include "core/list.h"
#include "core/versioned_hash.h"

namespace geocache {

Result<Value> Record::to_value() const {
  switch (kind) {
    case ValueKind::kString: return Value(bytes);
    case ValueKind::kApiValue:
    case ValueKind::kJson: return Value::decode(bytes);
    case ValueKind::kHash:
    case ValueKind::kSet:
    case ValueKind::kZset:
    case ValueKind::kCounter: {
      auto h = VersionedHash::decode(bytes, version, collection_kind(kind));
      if (!h.ok()) return h.status();
      if (kind == ValueKind::kCounter) return Value(h->counter_total());
      if (kind == ValueKind::kSet) {
        Value::List members;
        h->for_each([&](std::string_view member, std::string_view) { members.emplace_back(member); });
        return Value(std::move(members));
      }
      Value::Map map;  // a sorted set: member -> score
      h->for_each([&](std::string_view field, std::string_view value) {
        if (kind == ValueKind::kZset) map.emplace(field, Value(VersionedHash::decode_score(value)));
        else map.emplace(field, Value(value));
      });
      return Value(std::move(map));
    }
    case ValueKind::kList: {
      Value::List elements;
      for (std::string_view e : ListView(bytes).elements()) elements.emplace_back(e);
      return Value(std::move(elements));
    }
    case ValueKind::kListOp: return Status::Corruption("list ops are not a value");
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
    case ValueKind::kHash:
    case ValueKind::kSet:
    case ValueKind::kZset:
    case ValueKind::kCounter: return VersionedHash::decode(bytes, version, collection_kind(kind)).status();
    case ValueKind::kList: return validate_list(bytes);
    case ValueKind::kListOp: return validate_list_ops(bytes, version);
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
