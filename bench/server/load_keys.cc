// load_keys: writes N keys of 16 bytes with 32-byte values through
// pipelined SETs, for the memory-per-key comparison in redis_compare.sh; or,
// given a hash's key, N fields of that hash through pipelined HSETs, for
// big_hash.sh.
//
//   load_keys PORT N [HASH_KEY]
#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: load_keys PORT N [HASH_KEY]\n");
    return 2;
  }
  const char* hash_key = argc == 4 ? argv[3] : nullptr;
  const int port = atoi(argv[1]);
  const long n = atol(argv[2]);
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err) {
    fprintf(stderr, "connect: %s\n", c ? c->errstr : "?");
    return 1;
  }
  const std::string value(32, 'v');
  constexpr long kBatch = 1000;
  for (long base = 0; base < n; base += kBatch) {
    long end = base + kBatch < n ? base + kBatch : n;
    for (long i = base; i < end; ++i) {
      char key[17];
      snprintf(key, sizeof(key), "key:%012ld", i);  // 16 bytes
      if (hash_key != nullptr) {
        redisAppendCommand(c, "HSET %s %b %b", hash_key, key, static_cast<size_t>(16), value.data(), value.size());
      } else {
        redisAppendCommand(c, "SET %b %b", key, static_cast<size_t>(16), value.data(), value.size());
      }
    }
    for (long i = base; i < end; ++i) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) {
        fprintf(stderr, "reply: %s\n", c->errstr);
        return 1;
      }
      freeReplyObject(r);
    }
  }
  redisFree(c);
  return 0;
}
