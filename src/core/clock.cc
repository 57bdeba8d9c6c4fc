#include "core/clock.h"

#include <chrono>

namespace geocache {

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::now_us() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock* SystemClock::instance() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

}  // namespace geocache
