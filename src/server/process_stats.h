// What the process costs the machine, as INFO memory and INFO cpu report it:
// heap in use (Redis' used_memory is its allocator's figure, so ours is the
// allocator's too), resident set, the machine's memory, CPU time.
//
// Thread-safety: every function is thread-safe.
#pragma once

#include <cstdint>

namespace geocache {

// Bytes the allocator has handed out and not had back: glibc's arenas plus
// its mmapped blocks (mallinfo2), or, in a sanitizer build, the sanitizer
// allocator's figure. Walks the allocator's arenas: for INFO, not a hot path.
uint64_t heap_in_use_bytes();
// Resident set size (/proc/self/statm).
uint64_t rss_bytes();
// The machine's physical memory.
uint64_t total_system_memory_bytes();

struct CpuTimes {
  double user_s = 0, sys_s = 0;
};
// getrusage: the whole process, its waited-for children, the calling thread.
CpuTimes process_cpu();
CpuTimes children_cpu();
CpuTimes thread_cpu();

}  // namespace geocache
