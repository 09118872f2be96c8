// Benchmark statistics on known samples (numpy's linear-interpolation percentiles, ddof-0 std).
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "engine/tools/bench_stats.h"

namespace sparsify::tools {

TEST_CASE("percentiles interpolate between closest ranks", "[bench_stats]") {
  const std::vector<double> v{1, 2, 3, 4};
  CHECK(percentile(v, 50) == Approx(2.5));
  CHECK(percentile(v, 90) == Approx(3.7));
  CHECK(percentile(v, 0) == 1);
  CHECK(percentile(v, 100) == 4);
  CHECK(percentile({7.0}, 99) == 7);
  CHECK(percentile({}, 50) == 0);
}

TEST_CASE("summarize 1..100 in shuffled order", "[bench_stats]") {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);
  std::swap(v[0], v[57]);
  std::swap(v[99], v[3]);
  const LatencyStats s = summarize(v);
  CHECK(s.count == 100);
  CHECK(s.mean == Approx(50.5));
  CHECK(s.median == Approx(50.5));
  CHECK(s.p90 == Approx(90.1));
  CHECK(s.p95 == Approx(95.05));
  CHECK(s.p99 == Approx(99.01));
  CHECK(s.std == Approx(std::sqrt((100.0 * 100.0 - 1.0) / 12.0)));
  CHECK(s.min == 1);
  CHECK(s.max == 100);
  CHECK(summarize({}).count == 0);
}

}  // namespace sparsify::tools
