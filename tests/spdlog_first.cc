// Linked into every test: makes spdlog's registry before main, on the main
// thread. Made lazily by a worker thread's first log line instead, the main
// thread's later use looks like a data race to ThreadSanitizer, which cannot
// see the synchronisation inside the uninstrumented libspdlog.
#include <spdlog/spdlog.h>

namespace {
[[maybe_unused]] const bool kRegistryMade = spdlog::default_logger_raw() != nullptr;
}  // namespace
