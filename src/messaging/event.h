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
#include <span>
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
  // The next event of the batch belongs to the same group (a transaction's
  // or a script's writes): a receiver applies a group as one unit, and a
  // batch never ends inside one (Replicator::append_group).
  bool group_next = false;
};

// An event by reference, as encode_event reads it: the request path encodes
// a write from the key and record it has, without copying them into an Event.
struct EventRef {
  EventKind kind;
  std::string_view key;
  const Record& record;
  int64_t origin_wall_ms;
  bool group_next = false;

  EventRef(EventKind kind, std::string_view key, const Record& record, int64_t origin_wall_ms)
      : kind(kind), key(key), record(record), origin_wall_ms(origin_wall_ms) {}
  EventRef(const Event& e)  // NOLINT(google-explicit-constructor): an Event is one
      : kind(e.kind), key(e.key), record(e.record), origin_wall_ms(e.origin_wall_ms), group_next(e.group_next) {}
  Event to_event() const { return Event{kind, std::string(key), record, origin_wall_ms, group_next}; }
};

enum class BatchKind : uint8_t {
  kEvents = 0,          // replicated writes, numbered by (epoch, seq)
  kResyncRequest = 1,   // target, please send origin a snapshot of yourself
  kSnapshotChunk = 2,   // records (kPut events) of the sender's store, or its backlog's events
  kSnapshotEnd = 3,     // the snapshot is complete: snapshot_hlc, flush_mark
  kHello = 4,           // to every region: the sender is alive (heartbeat)
  kFetchRequest = 5,    // target, please send me what you hold of the key of events[0] (a miss here)
  kFetchReply = 6,      // the record held of the key asked (events[0]), or no event: none
};

// The replication protocol this build speaks. Hellos carry it; a node that
// hears another number logs it as an error. 1: region ids were positions in
// --regions; 2: region ids are hashes of the names; 3: a kHash record is a
// VersionedHash, merged per field (it was a whole Value::Map); 4: an event
// may carry the group flag (Event::group_next), control batches may be
// miss-fallback fetches (kFetchRequest, kFetchReply), and records may be sets,
// sorted sets and counters (kSet, kZset, kCounter); 5: records may be lists
// (kList) and list writes (kListOp, core/list.h), whose receiver may ask the
// writer for the key (kFetchRequest) when the write cannot apply.
inline constexpr uint32_t kProtocolVersion = 5;

struct EventBatch {
  BatchKind kind = BatchKind::kEvents;
  RegionId origin = 0;     // the sending region
  uint64_t epoch = 0;      // bumped when the origin lost events it could not send
  uint64_t first_seq = 0;  // events[i] has sequence first_seq + i; snapshot
                           // chunks: the chunk's number (1, 2, ...); an end:
                           // how many chunks the snapshot had; a request: see
                           // until_seq
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
  // kFetchRequest, kFetchReply: events[0].key is the key (a request's
  // record is empty); request_id pairs them.
  // kResyncRequest: the requester missed the target's events [first_seq,
  // until_seq) of epoch `epoch`, and takes them from its backlog if it still
  // has them all (a snapshot otherwise); 0: a snapshot.
  uint64_t until_seq = 0;
  // kSnapshotChunk, kSnapshotEnd: the answer is events from the sender's
  // backlog (flushes included), not a snapshot of its store.
  bool backlog = false;

  // kHello only.
  std::string region_name;   // the sender's region
  uint64_t instance_id = 0;  // chosen at random by each process
  uint32_t protocol = 0;     // the sender's kProtocolVersion
  int64_t wall_ms = 0;       // the sender's wall clock when it sent the hello
  // Where clients reach the sender's region ("host:port"), as its node
  // announces it; empty if it announces none. Clients discover regions by it
  // (GEO.REGIONS).
  std::string endpoint;
  // Where the sender's stream of events stands: the last sequence the broker
  // confirmed, of epoch `epoch` (0: none yet). A receiver that has not got
  // that far, and got nothing from it for a whole heartbeat, lost the
  // stream's tail (a full queue dropped it; no later batch will show the
  // gap) and resyncs. Absent from hellos of protocol 3 before it was added.
  uint64_t published_seq = 0;

  bool is_control() const { return kind != BatchKind::kEvents; }
};

// The events of one origin a receiver missed: [from, until) of epoch
// `epoch` (a gap in its numbering). A resync asks the origin for them from
// its backlog before it asks for a snapshot.
struct MissedRange {
  uint64_t epoch = 0;
  uint64_t from = 0;
  uint64_t until = 0;
  friend bool operator==(const MissedRange&, const MissedRange&) = default;
};

// A point of an origin's stream: its event `seq` of epoch `epoch` (seq 0:
// before its first event). A write's session token for read-your-writes
// across regions (GEO.TOKEN, GEO.WAIT; docs/replication.md).
struct StreamPoint {
  RegionId origin = 0;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  friend bool operator==(const StreamPoint&, const StreamPoint&) = default;
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
size_t encoded_event_size(EventRef e);

// An event as a batch of kEvents holds it, appended to *out; and read back
// from the front of *in (checked as decode_batch checks it). An origin keeps
// its outgoing events so, encoded once (messaging/encoded_log.h).
void encode_event(EventRef e, std::string* out);
Status decode_event(std::string_view* in, Event* e);
// Appends a batch of kEvents whose `count` events are already encoded, one
// after another, in the pieces of `events`: the same bytes encode_batch
// writes for them.
void encode_event_batch(RegionId origin, uint64_t epoch, uint64_t first_seq, size_t count,
                        std::span<const std::string_view> events, std::string* out, std::string_view secret = {});

}  // namespace geocache
