// Batch layout (all integers LEB128 varints unless said otherwise; region
// ids are fixed32, hashes of the region names):
//
//   magic "GC" | format 3 (byte) | origin (fixed32) | epoch | first_seq | count
//   count * event:
//     kind (byte; bit 7: group_next) | key (length-prefixed) | hlc (fixed64) | region (fixed32)
//     origin_wall_ms | value kind (byte) | value bytes (length-prefixed)
//     expire_at_ms
//
// Control batches (resync) use format 7, so a node that predates them
// refuses them as an unknown format instead of misreading them:
//
//   magic "GC" | format 7 (byte) | batch kind (byte) | flags (byte: bit 0
//   warming, bit 1 backlog) | origin (fixed32) | target (fixed32)
//   request_id | seq | snapshot_hlc (fixed64) | flush_mark hlc (fixed64)
//   flush_mark region (fixed32) | epoch | until_seq | count
//   count * event, as above (snapshot chunks: kPut only unless backlog;
//   fetch requests and replies: at most one kPut)
//
// Format 4 was the same without epoch and until_seq (protocol 2).
//
// Hellos use format 5, whose first fields stay put in every later protocol,
// so that any two versions can tell each other which protocol they speak;
// bytes after the name are what a later protocol added, and are skipped:
//
//   magic "GC" | format 5 (byte) | protocol | origin (fixed32)
//   instance_id (fixed64) | wall_ms | region name (length-prefixed)
//   [endpoint (length-prefixed) [epoch | published_seq]]
//
// The endpoint and the stream's position came later within protocol 3:
// older nodes skip them, and a hello without them (or with ones that do not
// decode) has none. A sender that says where its stream stands writes an
// endpoint too (maybe empty), so the fields keep their places.
//
// Formats 1 and 2 were the same with one-byte region ids (positions in
// --regions, protocol 1).
//
// A sealed batch (a replication secret is set) wraps any of these:
//
//   magic "GC" | format 6 (byte) | HMAC-SHA256(secret, batch) (32 bytes) | batch
//
// The MAC covers the whole inner batch, its header included, so no field can
// be changed without the secret. It does not stop a replay of a captured
// batch: receivers drop those by (epoch, sequence) and last-writer-wins.
//
// The format byte lets a later version change the layout; a decoder refuses
// formats it does not know rather than misreading them.
#include "messaging/event.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/varint.h"

namespace geocache {
namespace {

constexpr char kMagic0 = 'G';
constexpr char kMagic1 = 'C';
constexpr uint8_t kFormat = 3;
constexpr uint8_t kControlFormat = 7;
constexpr uint8_t kHelloFormat = 5;
constexpr uint8_t kSealedFormat = 6;
constexpr uint8_t kLastPositionalFormat = 2;  // formats 1 and 2: protocol 1
constexpr uint8_t kFlagWarming = 1;           // control batches' flags
constexpr uint8_t kFlagBacklog = 2;
constexpr size_t kMacBytes = 32;                    // SHA-256
constexpr size_t kSealHeaderBytes = 3 + kMacBytes;  // magic, format, MAC
// magic, format, origin, then epoch, first sequence and count as varints
constexpr size_t kMaxEventsHeaderBytes = 3 + 4 + 3 * 10;
// An event takes at least 17 bytes; a count beyond what is left is a lie.
constexpr size_t kMinEventBytes = 17;
// A hello's region name, bytes at most (config checks names against it too).
constexpr size_t kMaxHelloName = 255;
// A hello's endpoint, bytes at most ("host:port"; a DNS name is at most 253).
constexpr size_t kMaxHelloEndpoint = 261;

bool valid_kind(uint8_t k) { return k <= static_cast<uint8_t>(kLastValueKind); }

// The kind byte's top bit: the next event is of the same group (protocol 4).
constexpr uint8_t kGroupNextBit = 0x80;

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
  if (in.size() < 2) return Status::Corruption("truncated control batch");
  const uint8_t kind = static_cast<uint8_t>(in[0]);
  if (kind < static_cast<uint8_t>(BatchKind::kResyncRequest) || kind > static_cast<uint8_t>(BatchKind::kFetchReply) ||
      kind == static_cast<uint8_t>(BatchKind::kHello)) {
    return Status::Corruption("unknown control batch kind");
  }
  batch.kind = static_cast<BatchKind>(kind);
  const uint8_t flags = static_cast<uint8_t>(in[1]);
  if ((flags & ~(kFlagWarming | kFlagBacklog)) != 0) return Status::Corruption("unknown control batch flags");
  batch.warming = (flags & kFlagWarming) != 0;
  batch.backlog = (flags & kFlagBacklog) != 0;
  in.remove_prefix(2);
  if (!get_fixed32(&in, &batch.origin) || !get_fixed32(&in, &batch.target) || !get_varint(&in, &batch.request_id) ||
      !get_varint(&in, &batch.first_seq) || !get_fixed64(&in, &batch.snapshot_hlc) ||
      !get_fixed64(&in, &batch.flush_mark.hlc) || !get_fixed32(&in, &batch.flush_mark.region) ||
      !get_varint(&in, &batch.epoch) || !get_varint(&in, &batch.until_seq)) {
    return Status::Corruption("truncated control batch");
  }
  if (Status st = decode_events(in, &batch.events); !st.ok()) return st;
  const bool fetch = batch.kind == BatchKind::kFetchRequest || batch.kind == BatchKind::kFetchReply;
  if (batch.kind != BatchKind::kSnapshotChunk && !fetch && !batch.events.empty()) {
    return Status::Corruption("control batch carries events");
  }
  if (fetch && batch.events.size() > 1) return Status::Corruption("fetch carries more than one key");
  if (batch.kind == BatchKind::kFetchRequest && batch.events.empty()) return Status::Corruption("fetch of no key");
  for (const Event& e : batch.events) {
    if (e.kind != EventKind::kPut && !batch.backlog) return Status::Corruption("snapshot chunk carries a flush");
  }
  return batch;
}

Result<EventBatch> decode_hello(std::string_view in) {
  EventBatch batch;
  batch.kind = BatchKind::kHello;
  uint64_t protocol, wall;
  std::string_view name;
  if (!get_varint(&in, &protocol) || !get_fixed32(&in, &batch.origin) || !get_fixed64(&in, &batch.instance_id) ||
      !get_varint(&in, &wall) || !get_length_prefixed(&in, &name)) {
    return Status::Corruption("truncated hello");
  }
  if (protocol > UINT32_MAX || wall > INT64_MAX || name.empty() || name.size() > kMaxHelloName) {
    return Status::Corruption("malformed hello");
  }
  batch.protocol = static_cast<uint32_t>(protocol);
  batch.wall_ms = static_cast<int64_t>(wall);
  batch.region_name.assign(name);
  std::string_view endpoint;
  if (get_length_prefixed(&in, &endpoint) && endpoint.size() <= kMaxHelloEndpoint) {
    batch.endpoint.assign(endpoint);
    uint64_t epoch, published_seq;
    if (get_varint(&in, &epoch) && get_varint(&in, &published_seq) && published_seq <= kMaxSequence) {
      batch.epoch = epoch;
      batch.published_seq = published_seq;
    }
  }
  return batch;
}

// HMAC-SHA256 of `data` under `secret` into mac (kMacBytes).
void compute_mac(std::string_view secret, std::string_view data, unsigned char* mac) {
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
}

bool is_sealed(std::string_view bytes) {
  return bytes.size() >= 3 && bytes[0] == kMagic0 && bytes[1] == kMagic1 &&
         static_cast<uint8_t>(bytes[2]) == kSealedFormat;
}

}  // namespace

void encode_event(EventRef e, std::string* out) {
  // Sized once and filled: the origin encodes every write it replicates.
  const size_t at = out->size();
  out->resize(at + encoded_event_size(e));
  char* p = out->data() + at;
  *p++ = static_cast<char>(static_cast<uint8_t>(e.kind) | (e.group_next ? kGroupNextBit : 0));
  p = write_length_prefixed(p, e.key);
  p = write_fixed64(p, e.record.version.hlc);
  p = write_fixed32(p, e.record.version.region);
  p = write_varint(p, static_cast<uint64_t>(e.origin_wall_ms));
  *p++ = static_cast<char>(e.record.kind);
  p = write_length_prefixed(p, e.record.bytes);
  p = write_varint(p, static_cast<uint64_t>(e.record.expire_at_ms));
  assert(p == out->data() + out->size());
}

Status decode_event(std::string_view* in, Event* e) {
  std::string_view key, bytes;
  uint64_t wall, expire;
  if (in->empty()) return Status::Corruption("truncated event");
  const uint8_t kind = static_cast<uint8_t>((*in)[0]) & ~kGroupNextBit;
  e->group_next = (static_cast<uint8_t>((*in)[0]) & kGroupNextBit) != 0;
  in->remove_prefix(1);
  if (kind != static_cast<uint8_t>(EventKind::kPut) && kind != static_cast<uint8_t>(EventKind::kFlush)) {
    return Status::Corruption("unknown event kind");
  }
  e->kind = static_cast<EventKind>(kind);
  if (!get_length_prefixed(in, &key) || !get_fixed64(in, &e->record.version.hlc) ||
      !get_fixed32(in, &e->record.version.region) || !get_varint(in, &wall) || in->empty()) {
    return Status::Corruption("truncated event");
  }
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

namespace {

// The seal's header goes first with room for the MAC, computed once the
// batch behind it is written: no second copy of the batch.
class Seal {
 public:
  Seal(std::string* out, std::string_view secret) : out_(out), secret_(secret), seal_at_(out->size()) {
    if (!secret_.empty()) {
      out->push_back(kMagic0);
      out->push_back(kMagic1);
      out->push_back(static_cast<char>(kSealedFormat));
      out->append(kMacBytes, '\0');
    }
    batch_at_ = out->size();
  }
  // Call once the batch is written.
  void close() {
    if (secret_.empty()) return;
    unsigned char mac[kMacBytes];
    compute_mac(secret_, std::string_view(*out_).substr(batch_at_), mac);
    std::memcpy(out_->data() + seal_at_ + 3, mac, kMacBytes);
  }

 private:
  std::string* out_;
  std::string_view secret_;
  size_t seal_at_, batch_at_ = 0;
};

void put_events_header(RegionId origin, uint64_t epoch, uint64_t first_seq, std::string* out) {
  out->push_back(kMagic0);
  out->push_back(kMagic1);
  out->push_back(static_cast<char>(kFormat));
  put_fixed32(out, origin);
  put_varint(out, epoch);
  put_varint(out, first_seq);
}

}  // namespace

void encode_event_batch(RegionId origin, uint64_t epoch, uint64_t first_seq, size_t count,
                        std::span<const std::string_view> events, std::string* out, std::string_view secret) {
  size_t bytes = 0;
  for (std::string_view piece : events) bytes += piece.size();
  out->reserve(out->size() + kSealHeaderBytes + kMaxEventsHeaderBytes + bytes);
  Seal seal(out, secret);
  put_events_header(origin, epoch, first_seq, out);
  put_varint(out, count);
  for (std::string_view piece : events) out->append(piece);
  seal.close();
}

void encode_batch(const EventBatch& batch, std::string* out, std::string_view secret) {
  Seal seal(out, secret);
  if (batch.kind == BatchKind::kEvents) {
    put_events_header(batch.origin, batch.epoch, batch.first_seq, out);
  } else if (batch.kind == BatchKind::kHello) {
    out->push_back(kMagic0);
    out->push_back(kMagic1);
    out->push_back(static_cast<char>(kHelloFormat));
    put_varint(out, batch.protocol);
    put_fixed32(out, batch.origin);
    put_fixed64(out, batch.instance_id);
    put_varint(out, static_cast<uint64_t>(std::max<int64_t>(batch.wall_ms, 0)));
    put_length_prefixed(out, batch.region_name);
    put_length_prefixed(out, batch.endpoint);
    put_varint(out, batch.epoch);
    put_varint(out, batch.published_seq);
  } else {
    out->push_back(kMagic0);
    out->push_back(kMagic1);
    out->push_back(static_cast<char>(kControlFormat));
    out->push_back(static_cast<char>(batch.kind));
    out->push_back(static_cast<char>((batch.warming ? kFlagWarming : 0) | (batch.backlog ? kFlagBacklog : 0)));
    put_fixed32(out, batch.origin);
    put_fixed32(out, batch.target);
    put_varint(out, batch.request_id);
    put_varint(out, batch.first_seq);
    put_fixed64(out, batch.snapshot_hlc);
    put_fixed64(out, batch.flush_mark.hlc);
    put_fixed32(out, batch.flush_mark.region);
    put_varint(out, batch.epoch);
    put_varint(out, batch.until_seq);
  }
  if (batch.kind != BatchKind::kHello) {
    put_varint(out, batch.events.size());
    for (const Event& e : batch.events) encode_event(e, out);
  }
  seal.close();
}

std::optional<std::string_view> unseal_batch(std::string_view bytes, std::string_view secret) {
  if (!is_sealed(bytes)) {
    if (!secret.empty()) return std::nullopt;
    return bytes;
  }
  // A seal too short to hold its MAC is left for decode_batch to refuse.
  if (bytes.size() < kSealHeaderBytes) return secret.empty() ? std::optional(bytes) : std::nullopt;
  const std::string_view inner = bytes.substr(kSealHeaderBytes);
  if (secret.empty()) return inner;
  unsigned char mac[kMacBytes];
  compute_mac(secret, inner, mac);
  // Constant time: a forger learns nothing from how long a refusal takes.
  if (CRYPTO_memcmp(mac, bytes.data() + 3, kMacBytes) != 0) return std::nullopt;
  return inner;
}

size_t encoded_event_size(EventRef e) {
  return 1 + varint_length(e.key.size()) + e.key.size() + 8 + 4 +
         varint_length(static_cast<uint64_t>(e.origin_wall_ms)) + 1 + varint_length(e.record.bytes.size()) +
         e.record.bytes.size() + varint_length(static_cast<uint64_t>(e.record.expire_at_ms));
}

Result<EventBatch> decode_batch(std::string_view in) {
  if (in.size() < 4 || in[0] != kMagic0 || in[1] != kMagic1) return Status::Corruption("not an event batch");
  const uint8_t format = static_cast<uint8_t>(in[2]);
  if (format == kControlFormat) return decode_control(in.substr(3));
  if (format == kHelloFormat) return decode_hello(in.substr(3));
  if (format >= 1 && format <= kLastPositionalFormat) {
    return Status::Corruption("batch from a geocache of protocol 1 (region ids were positions in --regions)");
  }
  if (format == kSealedFormat) return Status::Corruption("sealed batch: unseal it first");
  if (format != kFormat) return Status::Corruption("unknown batch format");
  EventBatch batch;
  in.remove_prefix(3);
  if (!get_fixed32(&in, &batch.origin) || !get_varint(&in, &batch.epoch) || !get_varint(&in, &batch.first_seq)) {
    return Status::Corruption("truncated batch header");
  }
  if (Status st = decode_events(in, &batch.events); !st.ok()) return st;
  return batch;
}

}  // namespace geocache
