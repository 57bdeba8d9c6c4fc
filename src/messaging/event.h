// Event: one replicated write, and the binary form batches of them travel in.
//
// A batch holds consecutive events of one origin: (origin, epoch, first seq,
// count) in a header, then the events. Receivers check (epoch, seq) per origin
// to skip duplicates and to notice gaps (docs/replication.md).
//
// Control batches carry resync (a request, snapshot chunks, the snapshot's
// end) from one region to one other; they are not numbered, because a lost
// one is recovered by asking again, not by the gap check. A hello is the
// control batch every node publishes to all the others about once a second
// (messaging/membership.h).
//
// Sealing. With a replication secret every batch travels sealed: an
// HMAC-SHA256 of the encoded batch under the secret goes before it, so only
// nodes holding the secret can write into one that has it, whatever the
// transport (docs/replication.md, "Validation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace geocache {

enum class EventKind : uint8_t {
  kPut = 1,    // record is the key's whole new state (may be a tombstone)
  kFlush = 2,  // FLUSHALL: everything older than version goes
};

struct Event {
  EventKind kind = EventKind::kPut;
  std::string key;          // empty for kFlush
  Record record;            // record.version is the write's version
  int64_t origin_wall_ms = 0;  // origin's wall clock at the write, for lag
};

enum class BatchKind : uint8_t {
  kEvents = 0,          // replicated writes, numbered by (epoch, seq)
  kResyncRequest = 1,   // target, please send origin a snapshot of yourself
  kSnapshotChunk = 2,   // records (kPut events) of the sender's store
  kSnapshotEnd = 3,     // the snapshot is complete: snapshot_hlc, flush_mark
  kHello = 4,           // to every region: the sender is alive (heartbeat)
};

// The replication protocol this build speaks. Hellos carry it; a node that
// hears another number logs it as an error. 1: region ids were positions in
// --regions; 2: region ids are hashes of the names; 3: a kHash record is a
// VersionedHash, merged per field (it was a whole Value::Map).
inline constexpr uint32_t kProtocolVersion = 3;

struct EventBatch {
  BatchKind kind = BatchKind::kEvents;
  RegionId origin = 0;     // the sending region
  uint64_t epoch = 0;      // bumped when the origin lost events it could not send
  uint64_t first_seq = 0;  // events[i] has sequence first_seq + i; snapshot
                           // chunks: the chunk's number (1, 2, ...); an end:
                           // how many chunks the snapshot had
  std::vector<Event> events;

  // Control batches only.
  RegionId target = 0;        // the one region addressed
  uint64_t request_id = 0;    // chosen by the requester, echoed by the snapshot
  uint64_t snapshot_hlc = 0;  // kSnapshotEnd: the snapshot holds every write before it
  Version flush_mark;         // kSnapshotEnd: the sender's latest FLUSHALL
  // The sender has not finished warming up from the target (resync.h): on a
  // kResyncRequest, answer at once even if you are warming too; on a
  // kSnapshotEnd, the snapshot may lack what the target holds, so it is no
  // ground for dropping anything.
  bool warming = false;

  // kHello only.
  std::string region_name;   // the sender's region
  uint64_t instance_id = 0;  // chosen at random by each process
  uint32_t protocol = 0;     // the sender's kProtocolVersion
  int64_t wall_ms = 0;       // the sender's wall clock when it sent the hello
  // Where clients reach the sender's region ("host:port"), as its node
  // announces it; empty if it announces none. Clients discover regions by it
  // (GEO.REGIONS).
  std::string endpoint;

  bool is_control() const { return kind != BatchKind::kEvents; }
};

// Hard bounds a decoder enforces whatever the configuration says.
inline constexpr size_t kMaxEventsPerBatch = 1 << 20;
// Sequences an origin can reach (it counts from 1, one per event); a batch
// claiming more is refused by receivers.
inline constexpr uint64_t kMaxSequence = uint64_t{1} << 62;

// Appends the binary form of a batch to *out, sealed with `secret` unless it
// is empty.
void encode_batch(const EventBatch& batch, std::string* out, std::string_view secret = {});
// The unsealed batch inside `bytes`, or nullopt if its seal is missing or
// does not match `secret`. With an empty secret nothing is checked: an
// unsealed batch passes as it is and a sealed one without its seal, so a
// node without a secret reads what nodes with one send. Never crashes.
std::optional<std::string_view> unseal_batch(std::string_view bytes, std::string_view secret);
// Decodes an unsealed batch (see unseal_batch). kCorruption for truncated,
// trailing or malformed bytes, and for a sealed batch; never crashes.
Result<EventBatch> decode_batch(std::string_view bytes);


// Bytes one event adds to a batch (for size-based flushing and outbox bounds).
size_t encoded_event_size(const Event& e);

}  // namespace geocache
