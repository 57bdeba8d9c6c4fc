#include "server/client_info.h"

#include "fmt/format.h"
#include "server/command.h"

namespace geocache {

bool valid_client_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void append_client_line(const ClientSession& s, int64_t now, std::string* out) {
  const CommandSpec* last = s.last_command.load(std::memory_order_relaxed);
  fmt::format_to(std::back_inserter(*out),
                 "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 "
                 "multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 omem={} tot-mem=0 "
                 "events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
                 s.id, s.addr, s.laddr, s.fd, s.name, (now - s.created_ms) / 1000,
                 (now - s.last_interaction_ms.load(std::memory_order_relaxed)) / 1000,
                 s.subscriptions.load(std::memory_order_relaxed) + s.pattern_subscriptions.load(std::memory_order_relaxed) > 0
                     ? "P"
                     : "N",
                 s.db.load(std::memory_order_relaxed), s.subscriptions.load(std::memory_order_relaxed),
                 s.pattern_subscriptions.load(std::memory_order_relaxed),
                 s.input_buffer_bytes.load(std::memory_order_relaxed),
                 s.output_buffer_bytes.load(std::memory_order_relaxed),
                 last == nullptr ? std::string_view("NULL") : last->name, s.protocol.load(), s.lib_name, s.lib_ver);
}

}  // namespace geocache
