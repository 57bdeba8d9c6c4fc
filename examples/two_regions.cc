// The seed's usage in C++: two regions in one process, a write in one and a
// read from the other once replication has carried it there.
#include <iostream>

#include "cache/geo_cache.h"

int main() {
  geocache::GeoCacheOptions options;
  options.regions = {"us-east", "eu-central"};
  options.latency_ms[{"us-east", "eu-central"}] = 80;
  options.simulate_link_delay = true;  // 40 ms each way, like the real Atlantic

  geocache::GeoCache cache(options, geocache::make_in_process_transport(options));
  if (auto st = cache.start(); !st.ok()) {
    std::cerr << "start failed: " << st.message() << "\n";
    return 1;
  }

  geocache::Status st = cache.put("myKey", "myValue", "us-east");
  if (st.ok()) {
    st = cache.put("profile:42", geocache::Value::Map{{"name", "Ada"}, {"visits", int64_t{3}}}, "us-east",
                   /*ttl_ms=*/60'000);
  }
  if (!st.ok()) {
    std::cerr << "put failed: " << st.message() << "\n";
    return 1;
  }

  auto before = cache.get("myKey", "eu-central");
  std::cout << "eu-central right after the write: " << (before.ok() ? before->as_string() : "(not yet)") << "\n";

  cache.wait_replicated();  // wait for the 40 ms link
  std::cout << "eu-central after replication:     " << cache.get("myKey", "eu-central")->as_string() << "\n";
  std::cout << "profile:42 in eu-central:         " << cache.get("profile:42", "eu-central")->to_json()
            << " (ttl " << cache.ttl("profile:42", "eu-central") << " ms)\n";

  if (auto removed = cache.remove("myKey", "eu-central"); !removed.ok()) {
    std::cerr << "remove failed: " << removed.status().message() << "\n";
    return 1;
  }
  cache.wait_replicated();
  std::cout << "us-east after a delete in eu-central: "
            << (cache.get("myKey", "us-east").ok() ? "still there" : "gone") << "\n";
  cache.stop();
  return 0;
}
