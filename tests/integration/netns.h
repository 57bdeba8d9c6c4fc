// Network namespaces for tests that run processes inside them (tests/faults).
// A namespace is named as `ip netns` names it: /run/netns/NAME.
//
// setns(2) moves only the calling thread, and a socket stays in the namespace
// its thread was in when it was created: a client enters the namespace, opens
// its connection and leaves, and the connection goes on working from anywhere.
//
//   { NetnsScope in("gcf123-0-east"); c = connect_port(6390); }
#pragma once

#include <string>

namespace geocache::testing {

// Moves the calling thread into the network namespace `name` for the scope's
// life and back at its end. An empty name stays where it is (ok() is true).
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& name);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

  // Whether the thread is in the namespace (false: it does not exist, or
  // setns failed, e.g. without CAP_SYS_ADMIN; the thread did not move).
  bool ok() const { return ok_; }

 private:
  int saved_ = -1;  // this thread's namespace before, to return to
  bool ok_ = false;
};

// An open descriptor of namespace `name` (O_CLOEXEC), or -1. For a child
// between fork and exec, which may only call setns(fd, CLONE_NEWNET) then.
int open_netns(const std::string& name);

}  // namespace geocache::testing
