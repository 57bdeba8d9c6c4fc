// Batch layout (all integers LEB128 varints unless said otherwise):
//
//   magic "GC" | format 1 (byte) | origin (byte) | epoch | first_seq | count
//   count * event:
//     kind (byte) | key (length-prefixed) | hlc (fixed64) | region (byte)
//     origin_wall_ms | value kind (byte) | value bytes (length-prefixed)
//     expire_at_ms
//
// Control batches (resync) use format 3 (2 lacked the flags), so a node that
// predates them refuses them as an unknown format instead of misreading them:
//
//   magic "GC" | format 3 (byte) | batch kind (byte) | flags (byte: bit 0
//   warming) | origin (byte) | target (byte) | request_id | snapshot_hlc (fixed64)
//   flush_mark hlc (fixed64) | flush_mark region (byte) | count
//   count * event, as above (snapshot chunks only; kPut only)
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
constexpr uint8_t kControlFormat = 3;
constexpr uint8_t kFlagWarming = 1;
// An event takes at least 14 bytes; a count beyond what is left is a lie.
constexpr size_t kMinEventBytes = 14;

bool valid_kind(uint8_t k) { return k <= static_cast<uint8_t>(ValueKind::kTombstone); }

void encode_event(const Event& e, std::string* out) {
  out->push_back(static_cast<char>(e.kind));
  put_length_prefixed(out, e.key);
  put_fixed64(out, e.record.version.hlc);
  out->push_back(static_cast<char>(e.record.version.region));
  put_varint(out, static_cast<uint64_t>(e.origin_wall_ms));
  out->push_back(static_cast<char>(e.record.kind));
  put_length_prefixed(out, e.record.bytes);
  put_varint(out, static_cast<uint64_t>(e.record.expire_at_ms));
}

Status decode_event(std::string_view* in, Event* e) {
  std::string_view key, bytes;
  uint64_t wall, expire;
  if (in->empty()) return Status::Corruption("truncated event");
  const uint8_t kind = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (kind != static_cast<uint8_t>(EventKind::kPut) && kind != static_cast<uint8_t>(EventKind::kFlush)) {
    return Status::Corruption("unknown event kind");
  }
  e->kind = static_cast<EventKind>(kind);
  if (!get_length_prefixed(in, &key) || !get_fixed64(in, &e->record.version.hlc) || in->empty()) {
    return Status::Corruption("truncated event");
  }
  e->record.version.region = static_cast<RegionId>((*in)[0]);
  in->remove_prefix(1);
  if (!get_varint(in, &wall) || in->empty()) return Status::Corruption("truncated event");
  const uint8_t vkind = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (!valid_kind(vkind)) return Status::Corruption("unknown value kind");
  if (!get_length_prefixed(in, &bytes) || !get_varint(in, &expire)) return Status::Corruption("truncated event");
  e->key.assign(key);
  e->origin_wall_ms = static_cast<int64_t>(wall);
  e->record.kind = static_cast<ValueKind>(vkind);
  e->record.bytes.assign(bytes);
  e->record.expire_at_ms = static_cast<int64_t>(expire);
  return Status::Ok();
}

// Reads `count`, then that many events, then expects the end of input.
Status decode_events(std::string_view in, std::vector<Event>* events) {
  uint64_t count;
  if (!get_varint(&in, &count)) return Status::Corruption("truncated batch header");
  if (count > kMaxEventsPerBatch || count > in.size() / kMinEventBytes) return Status::Corruption("bad event count");
  events->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    Event e;
    if (Status st = decode_event(&in, &e); !st.ok()) return st;
    events->push_back(std::move(e));
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after batch");
  return Status::Ok();
}

Result<EventBatch> decode_control(std::string_view in) {
  EventBatch batch;
  if (in.size() < 4) return Status::Corruption("truncated control batch");
  const uint8_t kind = static_cast<uint8_t>(in[0]);
  if (kind < static_cast<uint8_t>(BatchKind::kResyncRequest) || kind > static_cast<uint8_t>(BatchKind::kSnapshotEnd)) {
    return Status::Corruption("unknown control batch kind");
  }
  batch.kind = static_cast<BatchKind>(kind);
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  if ((flags & ~kFlagWarming) != 0) return Status::Corruption("unknown control batch flags");
  batch.warming = (flags & kFlagWarming) != 0;
  batch.origin = static_cast<RegionId>(in[2]);
  batch.target = static_cast<RegionId>(in[3]);
  in.remove_prefix(4);
  if (!get_varint(&in, &batch.request_id) || !get_fixed64(&in, &batch.snapshot_hlc) ||
      !get_fixed64(&in, &batch.flush_mark.hlc) || in.empty()) {
    return Status::Corruption("truncated control batch");
  }
  batch.flush_mark.region = static_cast<RegionId>(in[0]);
  in.remove_prefix(1);
  if (Status st = decode_events(in, &batch.events); !st.ok()) return st;
  if (batch.kind != BatchKind::kSnapshotChunk && !batch.events.empty()) {
    return Status::Corruption("control batch carries events");
  }
  for (const Event& e : batch.events) {
    if (e.kind != EventKind::kPut) return Status::Corruption("snapshot chunk carries a flush");
  }
  return batch;
}

}  // namespace

void encode_batch(const EventBatch& batch, std::string* out) {
  out->push_back(kMagic0);
  out->push_back(kMagic1);
  if (batch.is_control()) {
    out->push_back(static_cast<char>(kControlFormat));
    out->push_back(static_cast<char>(batch.kind));
    out->push_back(static_cast<char>(batch.warming ? kFlagWarming : 0));
    out->push_back(static_cast<char>(batch.origin));
    out->push_back(static_cast<char>(batch.target));
    put_varint(out, batch.request_id);
    put_fixed64(out, batch.snapshot_hlc);
    put_fixed64(out, batch.flush_mark.hlc);
    out->push_back(static_cast<char>(batch.flush_mark.region));
  } else {
    out->push_back(static_cast<char>(kFormat));
    out->push_back(static_cast<char>(batch.origin));
    put_varint(out, batch.epoch);
    put_varint(out, batch.first_seq);
  }
  put_varint(out, batch.events.size());
  for (const Event& e : batch.events) encode_event(e, out);
}

size_t encoded_event_size(const Event& e) {
  return 1 + varint_length(e.key.size()) + e.key.size() + 8 + 1 +
         varint_length(static_cast<uint64_t>(e.origin_wall_ms)) + 1 + varint_length(e.record.bytes.size()) +
         e.record.bytes.size() + varint_length(static_cast<uint64_t>(e.record.expire_at_ms));
}

Result<EventBatch> decode_batch(std::string_view in) {
  if (in.size() < 4 || in[0] != kMagic0 || in[1] != kMagic1) return Status::Corruption("not an event batch");
  const uint8_t format = static_cast<uint8_t>(in[2]);
  if (format == kControlFormat) return decode_control(in.substr(3));
  if (format != kFormat) return Status::Corruption("unknown batch format");
  EventBatch batch;
  batch.origin = static_cast<RegionId>(in[3]);
  in.remove_prefix(4);
  if (!get_varint(&in, &batch.epoch) || !get_varint(&in, &batch.first_seq)) {
    return Status::Corruption("truncated batch header");
  }
  if (Status st = decode_events(in, &batch.events); !st.ok()) return st;
  return batch;
}

}  // namespace geocache
