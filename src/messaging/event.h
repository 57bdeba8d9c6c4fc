// Event: one replicated write, and the binary form batches of them travel in.
//
// A batch holds consecutive events of one origin: (origin, epoch, first seq,
// count) in a header, then the events. Receivers check (epoch, seq) per origin
// to skip duplicates and to notice gaps (docs/replication.md).
//
// Control batches carry resync (a request, snapshot chunks, the snapshot's
// end) from one region to one other; they are not numbered, because a lost
// one is recovered by asking again, not by the gap check.
#pragma once

#include <cstdint>
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
};

struct EventBatch {
  BatchKind kind = BatchKind::kEvents;
  RegionId origin = 0;     // the sending region
  uint64_t epoch = 0;      // bumped when the origin lost events it could not send
  uint64_t first_seq = 0;  // events[i] has sequence first_seq + i
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

  bool is_control() const { return kind != BatchKind::kEvents; }
};

// Hard bounds a decoder enforces whatever the configuration says.
inline constexpr size_t kMaxEventsPerBatch = 1 << 20;

// Appends the binary form of a batch to *out.
void encode_batch(const EventBatch& batch, std::string* out);
// kCorruption for truncated, trailing or malformed bytes; never crashes.
Result<EventBatch> decode_batch(std::string_view bytes);

// Bytes one event adds to a batch (for size-based flushing and outbox bounds).
size_t encoded_event_size(const Event& e);

}  // namespace geocache
