// Latency statistics for `sparsify benchmark`: mean, median, standard deviation and percentiles.
#pragma once

#include <cstddef>
#include <vector>

namespace sparsify::tools {

/// Summary of a set of latencies (any unit; the CLI uses ms per batch).
struct LatencyStats {
  std::size_t count = 0;
  double mean = 0, median = 0, std = 0, min = 0, max = 0, p90 = 0, p95 = 0, p99 = 0;
};

/// The p-th percentile (p in [0, 100]) of ascending `sorted`, interpolating linearly between the
/// closest ranks (numpy's default): rank = p/100 * (n - 1). 0 for an empty vector.
double percentile(const std::vector<double>& sorted, double p);

/// Statistics of `samples` (any order). std is the population standard deviation (numpy's
/// default, ddof 0), as deepsparse.benchmark reports it. All zero for an empty vector.
LatencyStats summarize(std::vector<double> samples);

}  // namespace sparsify::tools
