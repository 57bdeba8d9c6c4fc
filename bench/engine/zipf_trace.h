// Zipf-distributed key ids, shared by the engine benchmarks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

// Zipf(s) over ranks 1..n by inverse transform on the precomputed CDF; ranks
// are then mapped to key ids by a random permutation so hotness is not tied
// to key order.
inline std::vector<uint32_t> zipf_trace(size_t requests, size_t keys, double s, uint64_t seed) {
  std::vector<double> cdf(keys);
  double sum = 0;
  for (size_t r = 0; r < keys; ++r) {
    sum += 1.0 / std::pow(static_cast<double>(r + 1), s);
    cdf[r] = sum;
  }
  for (double& c : cdf) c /= sum;
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> key_of_rank(keys);
  std::iota(key_of_rank.begin(), key_of_rank.end(), 0u);
  std::shuffle(key_of_rank.begin(), key_of_rank.end(), rng);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<uint32_t> trace(requests);
  for (auto& t : trace) {
    const size_t rank = std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin();
    t = key_of_rank[std::min(rank, keys - 1)];
  }
  return trace;
}
