// Event: one replicated write, and the binary form batches of them travel in.
//
// A batch holds consecutive events of one origin: (origin, epoch, first seq,
// count) in a header, then the events. Receivers check (epoch, seq) per origin
// to skip duplicates and to notice gaps (docs/replication.md).
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

struct EventBatch {
  RegionId origin = 0;
  uint64_t epoch = 0;      // bumped when the origin lost events it could not send
  uint64_t first_seq = 0;  // events[i] has sequence first_seq + i
  std::vector<Event> events;
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
