// Uses an installed geocache with the <geocache/...> include form: the
// embedded cache and the client's header.
#include <geocache/cache/geo_cache.h>
#include <geocache/client/client.h>

#include <iostream>

int main() {
  geocache::GeoCacheOptions options;
  options.regions = {"a", "b"};
  geocache::GeoCache cache(options, geocache::make_in_process_transport(options));
  if (!cache.start().ok()) return 1;
  if (!cache.put("k", "v", "a").ok()) return 1;
  if (!cache.wait_replicated()) return 1;
  auto v = cache.get("k", "b");
  cache.stop();
  if (!v.ok() || v->as_string() != "v") return 1;
  std::cout << "consumer: replicated " << v->as_string() << "\n";
  return 0;
}
