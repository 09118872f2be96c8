// Terminal progress bar for downloads.
#include "zoo_client/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

namespace sparsify::zoo {

namespace {

struct BarState {
  std::string label;
  std::chrono::steady_clock::time_point start, last;
  std::uint64_t first_done = 0;
};

}  // namespace

ProgressFn terminal_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  auto st = std::make_shared<BarState>();
  return [st](const std::string& label, std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (label != st->label) {
      st->label = label;
      st->start = now;
      st->first_done = done;
      st->last = {};
    }
    const bool finished = done >= total;
    if (!finished && now - st->last < std::chrono::milliseconds(100)) return;
    st->last = now;
    const double secs = std::chrono::duration<double>(now - st->start).count();
    const double rate = secs > 0 ? static_cast<double>(done - st->first_done) / secs : 0;
    const int pct = total ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 100;
    const int width = 24, filled = pct * width / 100;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    // Labels are "STUB: PATH"; the path is what tells the files apart. Long paths keep their end.
    std::string shown = label.substr(label.rfind(": ") == std::string::npos ? 0 : label.rfind(": ") + 2);
    if (shown.size() > 32) shown = "..." + shown.substr(shown.size() - 29);
    std::fprintf(stderr, "\r%-32s [%s] %3d%% %8.1f/%.1f MB %7.1f MB/s%s", shown.c_str(), bar.c_str(), pct,
                 static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6, rate / 1e6, finished ? "\n" : "");
    std::fflush(stderr);
  };
}

}  // namespace sparsify::zoo
