// Batch layout (all integers LEB128 varints unless said otherwise):
//
//   magic "GC" | format 1 (byte) | origin (byte) | epoch | first_seq | count
//   count * event:
//     kind (byte) | key (length-prefixed) | hlc (fixed64) | region (byte)
//     origin_wall_ms | value kind (byte) | value bytes (length-prefixed)
//     expire_at_ms
//
// The format byte lets a later version change the layout; a decoder refuses
// formats it does not know rather than misreading them.
#include "messaging/event.h"

#include "core/varint.h"

namespace geocache {
namespace {

constexpr char kMagic0 = 'G';
constexpr char kMagic1 = 'C';
constexpr uint8_t kFormat = 1;

bool valid_kind(uint8_t k) { return k <= static_cast<uint8_t>(ValueKind::kTombstone); }

}  // namespace

void encode_batch(const EventBatch& batch, std::string* out) {
  out->push_back(kMagic0);
  out->push_back(kMagic1);
  out->push_back(static_cast<char>(kFormat));
  out->push_back(static_cast<char>(batch.origin));
  put_varint(out, batch.epoch);
  put_varint(out, batch.first_seq);
  put_varint(out, batch.events.size());
  for (const Event& e : batch.events) {
    out->push_back(static_cast<char>(e.kind));
    put_length_prefixed(out, e.key);
    put_fixed64(out, e.record.version.hlc);
    out->push_back(static_cast<char>(e.record.version.region));
    put_varint(out, static_cast<uint64_t>(e.origin_wall_ms));
    out->push_back(static_cast<char>(e.record.kind));
    put_length_prefixed(out, e.record.bytes);
    put_varint(out, static_cast<uint64_t>(e.record.expire_at_ms));
  }
}

size_t encoded_event_size(const Event& e) {
  return 1 + varint_length(e.key.size()) + e.key.size() + 8 + 1 +
         varint_length(static_cast<uint64_t>(e.origin_wall_ms)) + 1 + varint_length(e.record.bytes.size()) +
         e.record.bytes.size() + varint_length(static_cast<uint64_t>(e.record.expire_at_ms));
}

Result<EventBatch> decode_batch(std::string_view in) {
  if (in.size() < 4 || in[0] != kMagic0 || in[1] != kMagic1) return Status::Corruption("not an event batch");
  if (static_cast<uint8_t>(in[2]) != kFormat) return Status::Corruption("unknown batch format");
  EventBatch batch;
  batch.origin = static_cast<RegionId>(in[3]);
  in.remove_prefix(4);
  uint64_t count;
  if (!get_varint(&in, &batch.epoch) || !get_varint(&in, &batch.first_seq) || !get_varint(&in, &count)) {
    return Status::Corruption("truncated batch header");
  }
  // An event takes at least 14 bytes; a count beyond that is a lie.
  if (count > kMaxEventsPerBatch || count > in.size() / 14) return Status::Corruption("bad event count");
  batch.events.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    Event e;
    std::string_view key, bytes;
    uint64_t wall, expire;
    if (in.empty()) return Status::Corruption("truncated event");
    const uint8_t kind = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (kind != static_cast<uint8_t>(EventKind::kPut) && kind != static_cast<uint8_t>(EventKind::kFlush)) {
      return Status::Corruption("unknown event kind");
    }
    e.kind = static_cast<EventKind>(kind);
    if (!get_length_prefixed(&in, &key) || !get_fixed64(&in, &e.record.version.hlc) || in.empty()) {
      return Status::Corruption("truncated event");
    }
    e.record.version.region = static_cast<RegionId>(in[0]);
    in.remove_prefix(1);
    if (!get_varint(&in, &wall) || in.empty()) return Status::Corruption("truncated event");
    const uint8_t vkind = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (!valid_kind(vkind)) return Status::Corruption("unknown value kind");
    if (!get_length_prefixed(&in, &bytes) || !get_varint(&in, &expire)) return Status::Corruption("truncated event");
    e.key.assign(key);
    e.origin_wall_ms = static_cast<int64_t>(wall);
    e.record.kind = static_cast<ValueKind>(vkind);
    e.record.bytes.assign(bytes);
    e.record.expire_at_ms = static_cast<int64_t>(expire);
    batch.events.push_back(std::move(e));
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after batch");
  return batch;
}

}  // namespace geocache
