#include "server/process_stats.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GEOCACHE_SANITIZER_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GEOCACHE_SANITIZER_ALLOCATOR 1
#endif
#ifdef GEOCACHE_SANITIZER_ALLOCATOR
// From <sanitizer/allocator_interface.h>, which g++ does not put on the
// include path; the sanitizer runtimes (ASan, TSan) define it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace geocache {
namespace {

CpuTimes cpu_of(int who) {
  rusage ru{};
  if (getrusage(who, &ru) != 0) return {};
  CpuTimes t;
  t.user_s = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  t.sys_s = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  return t;
}

}  // namespace

uint64_t heap_in_use_bytes() {
#ifdef GEOCACHE_SANITIZER_ALLOCATOR
  // The sanitizers replace malloc: glibc's figures would miss the heap.
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t total_system_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

CpuTimes process_cpu() { return cpu_of(RUSAGE_SELF); }
CpuTimes children_cpu() { return cpu_of(RUSAGE_CHILDREN); }
CpuTimes thread_cpu() { return cpu_of(RUSAGE_THREAD); }

}  // namespace geocache
