#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace geocache::testing {

int open_netns(const std::string& name) { return open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC); }

NetnsScope::NetnsScope(const std::string& name) {
  if (name.empty()) {
    ok_ = true;
    return;
  }
  const int target = open_netns(name);
  if (target < 0) return;
  saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ok_ = saved_ >= 0 && setns(target, CLONE_NEWNET) == 0;
  close(target);
}

NetnsScope::~NetnsScope() {
  if (saved_ < 0) return;
  // A thread left in a test's namespace would open its later sockets there,
  // and the namespace goes away at the end of the test: never go on like that.
  if (ok_ && setns(saved_, CLONE_NEWNET) != 0) {
    std::perror("NetnsScope: cannot return to the original network namespace");
    std::abort();
  }
  close(saved_);
}

}  // namespace geocache::testing
