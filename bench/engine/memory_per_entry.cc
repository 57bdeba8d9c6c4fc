// Memory cost of an LruCache entry beyond its key and value bytes.
//
// Loads N entries (16-byte keys, 32-byte values) into an unbounded store and
// compares heap in use (mallinfo2) and resident set size (/proc/self/statm)
// before and after. The difference over N, minus the 48 payload bytes, is the
// per-entry overhead: entry header, allocator rounding, hash-table slot and
// control byte at the table's current load factor. Also shows what the store
// itself charges against max_bytes, which should be close to the heap figure.
//
// Usage: memory_per_entry [--entries N]   (default 1000000)
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "cache/lru_cache.h"

namespace {

constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 32;

size_t heap_in_use() { return mallinfo2().uordblks; }

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1'000'000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--entries") == 0) n = std::strtoull(argv[i + 1], nullptr, 10);
  }
  using namespace geocache;
  const std::string value(kValueSize, 'v');
  char key[kKeySize + 1];

  const size_t heap0 = heap_in_use();
  const size_t rss0 = rss_bytes();
  {
    LruCacheOptions o;  // default 16 shards, no limits
    LruCache cache(o);
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(key, sizeof key, "key:%012llu", static_cast<unsigned long long>(i % 1'000'000'000'000));
      cache.apply(std::string_view(key, kKeySize), Record{ValueKind::kString, value, kNoExpiry, Version{i + 1, 1}});
    }
    const size_t heap1 = heap_in_use();
    const size_t rss1 = rss_bytes();
    const LruCacheStats st = cache.stats();
    if (st.items != n) {
      std::fprintf(stderr, "expected %zu items, store holds %llu\n", n, static_cast<unsigned long long>(st.items));
      return 1;
    }
    const double payload = kKeySize + kValueSize;
    const double heap_per = static_cast<double>(heap1 - heap0) / n;
    const double rss_per = static_cast<double>(rss1 - rss0) / n;
    const double charged_per = static_cast<double>(st.bytes) / n;
    std::printf("LruCache memory per entry: %zu entries, %zu-byte keys, %zu-byte values (%.0f payload bytes)\n", n,
                kKeySize, kValueSize, payload);
    std::printf("%-28s %14s %12s %14s\n", "measure", "total MiB", "bytes/entry", "overhead/entry");
    auto row = [&](const char* name, double total, double per) {
      std::printf("%-28s %14.1f %12.1f %14.1f\n", name, total / (1 << 20), per, per - payload);
    };
    row("heap in use (mallinfo2)", static_cast<double>(heap1 - heap0), heap_per);
    row("resident set (statm)", static_cast<double>(rss1 - rss0), rss_per);
    row("charged by the store", static_cast<double>(st.bytes), charged_per);
  }
  return 0;
}
