// zipf_replay: replays a cache-aside trace (GET; on a miss, SET) whose keys
// follow a Zipf distribution, and prints the hit ratio. The trace depends
// only on the seed, so two servers see exactly the same requests.
//
//   zipf_replay PORT [--keys N] [--ops N] [--theta T] [--seed S] [--pipeline P]
//
// Keys are 16 bytes, values 32 bytes. Ranks are drawn by inverting the
// Zipf CDF (precomputed, binary search), then scrambled by a fixed
// permutation so popular keys do not share a prefix.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  int port = 6379;
  long keys = 1'000'000;
  long ops = 2'000'000;
  double theta = 0.99;
  unsigned seed = 42;
  int pipeline = 100;
};

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    fprintf(stderr, "usage: zipf_replay PORT [--keys N] [--ops N] [--theta T] [--seed S] [--pipeline P]\n");
    exit(2);
  }
  o.port = atoi(argv[1]);
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--keys") o.keys = atol(argv[i + 1]);
    else if (f == "--ops") o.ops = atol(argv[i + 1]);
    else if (f == "--theta") o.theta = atof(argv[i + 1]);
    else if (f == "--seed") o.seed = static_cast<unsigned>(atol(argv[i + 1]));
    else if (f == "--pipeline") o.pipeline = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "unknown flag %s\n", f.c_str());
      exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::vector<double> cdf(static_cast<size_t>(o.keys));
  double sum = 0;
  for (long i = 0; i < o.keys; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), o.theta);
    cdf[static_cast<size_t>(i)] = sum;
  }
  for (double& x : cdf) x /= sum;
  std::vector<long> perm(static_cast<size_t>(o.keys));
  for (long i = 0; i < o.keys; ++i) perm[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(o.seed);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::uniform_real_distribution<double> u(0.0, 1.0);

  redisContext* c = redisConnect("127.0.0.1", o.port);
  if (c == nullptr || c->err) {
    fprintf(stderr, "connect: %s\n", c ? c->errstr : "?");
    return 1;
  }
  const std::string value(32, 'v');
  long hits = 0, misses = 0;
  std::vector<long> batch;
  std::vector<long> missed;
  for (long done = 0; done < o.ops;) {
    batch.clear();
    for (int i = 0; i < o.pipeline && done < o.ops; ++i, ++done) {
      size_t rank = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      batch.push_back(perm[std::min(rank, cdf.size() - 1)]);
    }
    char key[17];
    for (long k : batch) {
      snprintf(key, sizeof(key), "key:%012ld", k);
      redisAppendCommand(c, "GET %b", key, static_cast<size_t>(16));
    }
    missed.clear();
    for (long k : batch) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) {
        fprintf(stderr, "reply: %s\n", c->errstr);
        return 1;
      }
      auto* r = static_cast<redisReply*>(raw);
      if (r->type == REDIS_REPLY_NIL) {
        ++misses;
        missed.push_back(k);
      } else {
        ++hits;
      }
      freeReplyObject(r);
    }
    // Cache-aside: fill what was missing, as an application would.
    for (long k : missed) {
      snprintf(key, sizeof(key), "key:%012ld", k);
      redisAppendCommand(c, "SET %b %b", key, static_cast<size_t>(16), value.data(), value.size());
    }
    for (size_t i = 0; i < missed.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return 1;
      freeReplyObject(raw);
    }
  }
  printf("hits=%ld misses=%ld hit_ratio=%.4f\n", hits, misses,
         static_cast<double>(hits) / static_cast<double>(hits + misses));
  redisFree(c);
  return 0;
}
