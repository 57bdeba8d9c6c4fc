#include "messaging/event.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace geocache {
namespace {

using namespace std::string_literals;

// Region ids are 32-bit hashes of the names: use ones that need all 32 bits.
constexpr RegionId kOrigin = 0xdeadbeef;

EventBatch sample_batch() {
  EventBatch b;
  b.origin = kOrigin;
  b.epoch = 1'700'000'000'123;
  b.first_seq = 1'000'000;
  Event put;
  put.key = "user:\0:42"s;
  put.record = Record{ValueKind::kString, "bytes\0\xff"s, 1'700'000'060'000, Version{0xfedcba9876543210, kOrigin}};
  put.origin_wall_ms = 1'700'000'000'500;
  put.group_next = true;  // put and hash: one group (a transaction's writes)
  b.events.push_back(put);
  Event hash;
  hash.key = "h";
  hash.record = Record::from_value(Value(Value::Map{{"f", Value(1)}}));
  hash.record.kind = ValueKind::kHash;
  hash.record.version = Version{7, 0xfffffffe};
  b.events.push_back(hash);
  Event del;
  del.key = std::string(300, 'k');
  del.record = Record{ValueKind::kTombstone, "", kNoExpiry, Version{8, kOrigin}};
  b.events.push_back(del);
  Event flush;
  flush.kind = EventKind::kFlush;
  flush.record.kind = ValueKind::kTombstone;
  flush.record.version = Version{9, kOrigin};
  b.events.push_back(flush);
  return b;
}

std::string encode(const EventBatch& b) {
  std::string out;
  encode_batch(b, &out);
  return out;
}

void expect_same(const EventBatch& a, const EventBatch& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.snapshot_hlc, b.snapshot_hlc);
  EXPECT_EQ(a.flush_mark, b.flush_mark);
  EXPECT_EQ(a.warming, b.warming);
  EXPECT_EQ(a.backlog, b.backlog);
  EXPECT_EQ(a.until_seq, b.until_seq);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.published_seq, b.published_seq);
  EXPECT_EQ(a.first_seq, b.first_seq);
  EXPECT_EQ(a.region_name, b.region_name);
  EXPECT_EQ(a.instance_id, b.instance_id);
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.wall_ms, b.wall_ms);
  EXPECT_EQ(a.endpoint, b.endpoint);
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    const Event& x = a.events[i];
    const Event& y = b.events[i];
    EXPECT_EQ(x.kind, y.kind) << i;
    EXPECT_EQ(x.key, y.key) << i;
    EXPECT_EQ(x.record.kind, y.record.kind) << i;
    EXPECT_EQ(x.record.bytes, y.record.bytes) << i;
    EXPECT_EQ(x.record.expire_at_ms, y.record.expire_at_ms) << i;
    EXPECT_EQ(x.record.version, y.record.version) << i;
    EXPECT_EQ(x.origin_wall_ms, y.origin_wall_ms) << i;
    EXPECT_EQ(x.group_next, y.group_next) << i;
  }
}

TEST(EventTest, BatchRoundTripsEveryField) {
  const EventBatch b = sample_batch();
  auto back = decode_batch(encode(b));
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_same(*back, b);
}

TEST(EventTest, EmptyBatchRoundTrips) {
  EventBatch b;
  b.origin = 1;
  b.epoch = 2;
  b.first_seq = 3;
  auto back = decode_batch(encode(b));
  ASSERT_TRUE(back.ok());
  expect_same(*back, b);
}

TEST(EventTest, EncodedEventSizeIsWhatEachEventAddsToABatch) {
  EventBatch b = sample_batch();
  EventBatch header_only = b;
  header_only.events.clear();
  // The count varint is one byte for both, so the difference is the events.
  size_t sum = 0;
  for (const Event& e : b.events) sum += encoded_event_size(e);
  EXPECT_EQ(encode(b).size() - encode(header_only).size(), sum);
}

TEST(EventTest, EveryTruncationIsCorruption) {
  const std::string bytes = encode(sample_batch());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = decode_batch(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(r.ok()) << "prefix of " << cut << " bytes decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << cut;
  }
}

TEST(EventTest, TrailingBytesAreCorruption) {
  auto r = decode_batch(encode(sample_batch()) + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(EventTest, WrongMagicOrFormatIsCorruption) {
  std::string bytes = encode(sample_batch());
  for (size_t pos : {0, 1, 2}) {
    std::string bad = bytes;
    bad[pos] ^= 0x40;
    EXPECT_EQ(decode_batch(bad).status().code(), StatusCode::kCorruption) << pos;
  }
}

TEST(EventTest, UnknownEventOrValueKindIsCorruption) {
  EventBatch b;
  b.origin = 1;
  Event e;
  e.key = "k";
  b.events.push_back(e);
  std::string good = encode(b);
  ASSERT_TRUE(decode_batch(good).ok());
  // Header: "GC", format, origin (4), epoch 0, first_seq 0, count 1 => event at 10.
  std::string bad_kind = good;
  bad_kind[10] = 9;
  EXPECT_EQ(decode_batch(bad_kind).status().code(), StatusCode::kCorruption);
  // kind, key (2), hlc (8), region (4), wall (1) => value kind at 10 + 16.
  std::string bad_value_kind = good;
  bad_value_kind[10 + 16] = static_cast<char>(static_cast<uint8_t>(kLastValueKind) + 1);  // one past the last kind
  EXPECT_EQ(decode_batch(bad_value_kind).status().code(), StatusCode::kCorruption);
}

TEST(EventTest, HugeCountIsRejectedWithoutReserving) {
  std::string bytes = "GC\x03\x01\x00\x00\x00\x00\x00"s;
  bytes += "\xff\xff\xff\xff\xff\xff\xff\xff\x7f"s;  // a count of 2^63 - 1
  bytes += std::string(64, '\0');
  EXPECT_EQ(decode_batch(bytes).status().code(), StatusCode::kCorruption);
}

// Mutates `good` at random 20'000 times: every result is rejected as
// corruption or decodes to something that round-trips. Returns the rejects.
int fuzz(const std::string& good) {
  std::mt19937_64 rng(7);
  int rejected = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0: bytes[pos] = static_cast<char>(rng()); break;
        case 1: bytes.erase(pos, 1); break;
        case 2: bytes.insert(pos, 1, static_cast<char>(rng())); break;
      }
    }
    auto r = decode_batch(bytes);
    if (!r.ok()) {
      ++rejected;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().message();
    } else {
      // A mutation inside a key or value can still be a valid batch (or a
      // non-minimal varint); whatever decoded must survive its own round trip.
      auto again = decode_batch(encode(*r));
      EXPECT_TRUE(again.ok());
      if (again.ok()) expect_same(*again, *r);
    }
  }
  return rejected;
}

// Most mutations are refused; those in a key, a value or a region id (any 32
// bits are an id) decode, and must round-trip.
TEST(EventTest, RandomCorruptionIsRejectedOrDecodesNeverCrashes) {
  EXPECT_GT(fuzz(encode(sample_batch())), 9'000);
}

// ---- control batches (resync) ------------------------------------------------

EventBatch control(BatchKind kind) {
  EventBatch b;
  b.kind = kind;
  b.origin = 2;
  b.target = 0xc0ffee00;
  b.request_id = 1'700'000'000'123;
  b.first_seq = 300;  // a chunk's number, an end's count of chunks
  if (kind == BatchKind::kResyncRequest) {
    b.epoch = 1'700'000'000'456;
    b.until_seq = 400;  // missed events 300..399
  }
  if (kind == BatchKind::kSnapshotEnd) {
    b.snapshot_hlc = 0xfedcba9876543210;
    b.flush_mark = Version{0x0123456789abcdef, 0x87654321};
  }
  if (kind == BatchKind::kSnapshotChunk) {
    for (Event e : sample_batch().events) {
      if (e.kind == EventKind::kPut) b.events.push_back(std::move(e));
    }
  }
  return b;
}

TEST(EventTest, ControlBatchesRoundTripEveryField) {
  for (BatchKind kind : {BatchKind::kResyncRequest, BatchKind::kSnapshotChunk, BatchKind::kSnapshotEnd}) {
    for (bool warming : {false, true}) {
      EventBatch b = control(kind);
      b.warming = warming;
      b.backlog = !warming && kind != BatchKind::kResyncRequest;
      ASSERT_TRUE(b.is_control());
      auto back = decode_batch(encode(b));
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_TRUE(back->is_control());
      expect_same(*back, b);
    }
  }
}

TEST(EventTest, EventBatchesAreNotControl) {
  auto back = decode_batch(encode(sample_batch()));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->is_control());
  EXPECT_EQ(back->kind, BatchKind::kEvents);
}

TEST(EventTest, EveryTruncationOfAControlBatchIsCorruption) {
  for (BatchKind kind : {BatchKind::kResyncRequest, BatchKind::kSnapshotChunk, BatchKind::kSnapshotEnd}) {
    const std::string bytes = encode(control(kind));
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      auto r = decode_batch(std::string_view(bytes).substr(0, cut));
      ASSERT_FALSE(r.ok()) << "prefix of " << cut << " bytes decoded";
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << cut;
    }
    EXPECT_EQ(decode_batch(bytes + "x").status().code(), StatusCode::kCorruption);
  }
}

TEST(EventTest, UnknownControlKindIsCorruption) {
  std::string bytes = encode(control(BatchKind::kResyncRequest));
  // "GC", format 7, then the batch kind.
  ASSERT_EQ(bytes[2], 7);
  for (char kind : {0, 4, 9, -1}) {
    bytes[3] = kind;
    EXPECT_EQ(decode_batch(bytes).status().code(), StatusCode::kCorruption) << int(kind);
  }
}

TEST(EventTest, UnknownControlFlagsAreCorruption) {
  std::string bytes = encode(control(BatchKind::kResyncRequest));
  // "GC", format, kind, then the flags: only bits 0 (warming) and 1 (backlog) are known.
  ASSERT_EQ(bytes[4], 0);
  for (char flags : {4, 7, -128}) {
    bytes[4] = flags;
    EXPECT_EQ(decode_batch(bytes).status().code(), StatusCode::kCorruption) << int(flags);
  }
}

TEST(EventTest, ControlBatchMayCarryOnlyWhatItsKindAllows) {
  // Records in a request or an end.
  for (BatchKind kind : {BatchKind::kResyncRequest, BatchKind::kSnapshotEnd}) {
    EventBatch b = control(kind);
    b.events = control(BatchKind::kSnapshotChunk).events;
    EXPECT_EQ(decode_batch(encode(b)).status().code(), StatusCode::kCorruption);
  }
  // A flush in a snapshot chunk: a snapshot holds records, not commands.
  EventBatch chunk = control(BatchKind::kSnapshotChunk);
  Event flush;
  flush.kind = EventKind::kFlush;
  chunk.events.push_back(flush);
  EXPECT_EQ(decode_batch(encode(chunk)).status().code(), StatusCode::kCorruption);
  // A backlog's events may be flushes.
  chunk.backlog = true;
  EXPECT_TRUE(decode_batch(encode(chunk)).ok());
}

TEST(EventTest, RandomCorruptionOfAControlBatchIsRejectedOrDecodesNeverCrashes) {
  EXPECT_GT(fuzz(encode(control(BatchKind::kSnapshotChunk))), 9'000);
  EXPECT_GT(fuzz(encode(control(BatchKind::kSnapshotEnd))), 5'000);
}

// ---- hellos (heartbeats) -------------------------------------------------------

EventBatch hello() {
  EventBatch b;
  b.kind = BatchKind::kHello;
  b.origin = 0x9abcdef0;
  b.region_name = "eu-west_2";
  b.instance_id = 0x0123456789abcdef;
  b.protocol = kProtocolVersion;
  b.wall_ms = 1'700'000'000'999;
  b.epoch = 1'700'000'000'000;
  b.published_seq = 12345;
  return b;
}

TEST(EventTest, HelloRoundTripsEveryField) {
  const EventBatch b = hello();
  ASSERT_TRUE(b.is_control());
  auto back = decode_batch(encode(b));
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_same(*back, b);
}

TEST(EventTest, HelloOfAnotherProtocolStillDecodesSoTheMismatchCanBeReported) {
  EventBatch b = hello();
  b.protocol = 7;
  // A later protocol may add fields after the name.
  auto back = decode_batch(encode(b) + "later fields");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->protocol, 7u);
  EXPECT_EQ(back->region_name, "eu-west_2");
}

TEST(EventTest, HelloCarriesTheEndpointClientsReachTheRegionAt) {
  EventBatch b = hello();
  b.endpoint = "[fd00::1]:6390";
  auto back = decode_batch(encode(b));
  ASSERT_TRUE(back.ok()) << back.status().message();
  expect_same(*back, b);
  // A cut endpoint (or a later protocol's field in its place) is no endpoint,
  // and no stream position after it either.
  b.epoch = b.published_seq = 0;
  const std::string bytes = encode(b);
  back = decode_batch(bytes.substr(0, bytes.size() - 3));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->endpoint, "");
  EXPECT_EQ(back->published_seq, 0u);
  EXPECT_EQ(back->region_name, "eu-west_2");
}

TEST(EventTest, RandomCorruptionOfAHelloIsRejectedOrDecodesNeverCrashes) { fuzz(encode(hello())); }

TEST(EventTest, EveryTruncationOfAHelloBeforeItsOptionalFieldsIsCorruption) {
  EventBatch bare = hello();
  bare.epoch = bare.published_seq = 0;
  bare.endpoint.clear();
  // What every hello has: up to the region name. The fields after it came
  // later in protocol 3 and may be missing.
  const size_t required = encode(bare).size() - 3;  // an empty endpoint, two zeros
  const std::string bytes = encode(hello());
  for (size_t cut = 0; cut < required; ++cut) {
    auto r = decode_batch(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(r.ok()) << "prefix of " << cut << " bytes decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << cut;
  }
  auto r = decode_batch(std::string_view(bytes).substr(0, required));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->published_seq, 0u);  // a sender that does not say
}

TEST(EventTest, BatchOfProtocolOneIsRefusedAsSuch) {
  // Format 1: one-byte region ids that were positions in --regions.
  const std::string old = "GC\x01\x02\x01\x01\x00"s;
  auto r = decode_batch(old);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("protocol 1"), std::string::npos) << r.status().message();
}

// ---- sealing (replication secret) -------------------------------------------------

std::string sealed(const EventBatch& b, std::string_view secret) {
  std::string out;
  encode_batch(b, &out, secret);
  return out;
}

TEST(EventTest, SealedBatchOpensWithItsSecretToTheSameBatch) {
  for (const EventBatch& b :
       {sample_batch(), control(BatchKind::kSnapshotChunk), control(BatchKind::kSnapshotEnd), hello()}) {
    const std::string bytes = sealed(b, "s3cret");
    EXPECT_NE(bytes, encode(b));
    auto inner = unseal_batch(bytes, "s3cret");
    ASSERT_TRUE(inner.has_value());
    EXPECT_EQ(*inner, encode(b));  // the seal wraps the ordinary form
    auto back = decode_batch(*inner);
    ASSERT_TRUE(back.ok()) << back.status().message();
    expect_same(*back, b);
  }
}

TEST(EventTest, SealDoesNotOpenWithAnotherSecretOrAfterAnyChange) {
  const std::string bytes = sealed(sample_batch(), "s3cret");
  EXPECT_FALSE(unseal_batch(bytes, "s3cre").has_value());
  EXPECT_FALSE(unseal_batch(bytes, "s3cret!").has_value());
  EXPECT_FALSE(unseal_batch(bytes, "other").has_value());
  // Any flipped bit, in the MAC or in the batch it covers, breaks the seal.
  for (size_t pos = 3; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] ^= 0x01;
    EXPECT_FALSE(unseal_batch(bad, "s3cret").has_value()) << pos;
  }
  // So does anything cut off or added.
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(unseal_batch(std::string_view(bytes).substr(0, cut), "s3cret").has_value()) << cut;
  }
  EXPECT_FALSE(unseal_batch(bytes + "x", "s3cret").has_value());
}

TEST(EventTest, UnsealedBatchIsRefusedWhenASecretIsSet) {
  EXPECT_FALSE(unseal_batch(encode(sample_batch()), "s3cret").has_value());
  EXPECT_FALSE(unseal_batch(encode(control(BatchKind::kResyncRequest)), "s3cret").has_value());
  EXPECT_FALSE(unseal_batch("", "s3cret").has_value());
  EXPECT_FALSE(unseal_batch("garbage", "s3cret").has_value());
}

TEST(EventTest, WithoutASecretBatchesPassSealedOrNot) {
  const std::string plain = encode(sample_batch());
  EXPECT_EQ(unseal_batch(plain, ""), std::optional<std::string_view>(plain));
  EXPECT_EQ(unseal_batch(sealed(sample_batch(), "s3cret"), ""), std::optional<std::string_view>(plain));
  // Garbage passes too; decoding refuses it.
  EXPECT_EQ(unseal_batch("GC\x03xx", ""), std::optional<std::string_view>("GC\x03xx"));
  EXPECT_EQ(decode_batch("GC\x03xx").status().code(), StatusCode::kCorruption);
}

TEST(EventTest, SealedBatchIsCorruptionToTheDecoderUntilUnsealed) {
  EXPECT_EQ(decode_batch(sealed(sample_batch(), "s3cret")).status().code(), StatusCode::kCorruption);
}


}  // namespace
}  // namespace geocache
