// A plain main() for the libFuzzer target when libFuzzer is not available (GCC builds): feeds the
// seed files and deterministic mutations of them (bit flips, truncation, byte runs, splices) to
// LLVMFuzzerTestOneInput. No coverage guidance; it is the smoke test, libFuzzer the real fuzzer.
//
// usage: onnx_loader_smoke SEED_DIR [RUNS] [SECONDS]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: onnx_loader_smoke SEED_DIR [RUNS] [SECONDS]\n");
    return 2;
  }
  const long runs = argc > 2 ? std::atol(argv[2]) : 2000;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 20;
  std::vector<std::string> seeds;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    seeds.push_back(ss.str());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "onnx_loader_smoke: no seeds in %s\n", argv[1]);
    return 77;
  }
  std::mt19937_64 rng(12345);
  const auto start = std::chrono::steady_clock::now();
  long done = 0;
  for (; done < runs; ++done) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) break;
    std::string s = seeds[rng() % seeds.size()];
    const int edits = done < static_cast<long>(seeds.size()) ? 0 : 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 5) {
        case 0: s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8))); break;
        case 1: s.resize(at); break;
        case 2: s[at] = static_cast<char>(rng()); break;
        case 3: s.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
        default: {
          const std::string& o = seeds[rng() % seeds.size()];
          if (!o.empty()) s.replace(at, s.size() - at, o.substr(rng() % o.size()));
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  std::printf("onnx_loader_smoke: %ld inputs, no crash\n", done);
  return 0;
}
