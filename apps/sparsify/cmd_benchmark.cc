// `sparsify benchmark MODEL.onnx`: throughput and latency in the manner of deepsparse.benchmark.
// Random inputs of the model's shapes at batch N, a warm-up, then runs for T seconds; sync (one
// engine) or async (S engines on S threads, splitting the cores). --profile adds a per-layer table.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "apps/sparsify/cli.h"
#include "engine/engine.h"
#include "engine/graph/tensor_proto.h"
#include "engine/runtime/plan.h"
#include "engine/tools/bench_stats.h"
#include "engine/tools/calibrate.h"
#include "engine/tools/profile_table.h"
#include "zoo_client/zoo.h"

namespace sparsify::cli {
namespace {

using namespace sparsify::tools;
using Clock = std::chrono::steady_clock;

struct BenchmarkOptions {
  std::string model;
  std::int64_t batch = 1;
  double seconds = 10, warmup = 2;
  int threads = 0;
  std::string scenario = "sync";
  int streams = 0;
  std::string json;
  bool profile = false;
  int profile_top = 0;
  std::string isa;
  unsigned seed = 1;
};

struct Stream {
  engine::Engine engine;
  engine::CompiledModel* model = nullptr;
  std::vector<engine::Tensor> inputs, outputs;
  std::vector<double> latencies_ms;
  Status status;
  Clock::time_point end;
};

std::string hint_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kIoError: return "check that the path exists and is readable";
    case StatusCode::kUnsupported: return "the operators the engine implements are listed in engine/ops/ops.def";
    case StatusCode::kInvalidArgument: return "see `sparsify benchmark --help`";
    default: return "";
  }
}

int fail(const Status& s) { return report_error(s, hint_for(s)); }

std::string load_average() {
  StatusOr<std::string> s = engine::read_file_bytes("/proc/loadavg");
  if (!s.ok()) return "?";
  std::string v = *s;
  std::size_t cut = 0;
  for (int fields = 0; cut < v.size() && fields < 3; ++cut) fields += v[cut] == ' ' ? 1 : 0;
  return v.substr(0, cut > 0 ? cut - 1 : 0);
}

StatusOr<Stream> make_stream(const std::string& bytes, const std::string& base_dir, const engine::Options& options,
                             std::int64_t batch, unsigned seed) {
  SPARSIFY_ASSIGN_OR_RETURN(engine::Engine e, engine::Engine::load_bytes(bytes, base_dir, options));
  Stream s{std::move(e)};
  SPARSIFY_ASSIGN_OR_RETURN(std::vector<Sample> in, random_samples(s.engine, 1, batch, seed));
  s.inputs = std::move(in[0]);
  SPARSIFY_ASSIGN_OR_RETURN(s.model, s.engine.compile(s.inputs));
  s.outputs = s.model->make_outputs();
  return s;
}

// Warm-up until `warm_end`, wait for every stream, then time runs until `end`.
void run_stream(Stream& s, Clock::time_point warm_end, std::atomic<int>& warmed, int streams, double seconds,
                Clock::time_point* start, std::atomic<bool>& go, bool profile) {
  do {
    s.status = s.model->run(s.inputs, s.outputs);
    if (!s.status.ok()) break;
  } while (Clock::now() < warm_end);
  if (++warmed == streams) {
    *start = Clock::now();
    go = true;
  }
  while (!go) std::this_thread::yield();
  if (!s.status.ok()) return;
  if (profile) s.model->set_profiling(true);
  const Clock::time_point end = *start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point t1;
  do {
    const auto t0 = Clock::now();
    s.status = s.model->run(s.inputs, s.outputs);
    t1 = Clock::now();
    if (!s.status.ok()) return;
    s.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  } while (t1 < end);
  s.end = t1;
}

int benchmark(const BenchmarkOptions& o) {
  if (o.batch < 1) return fail(invalid_argument("--batch-size must be >= 1, got ", o.batch));
  if (!(o.seconds > 0)) return fail(invalid_argument("--time must be > 0 seconds, got ", o.seconds));
  if (!(o.warmup >= 0)) return fail(invalid_argument("--warmup must be >= 0 seconds, got ", o.warmup));
  if (o.scenario != "sync" && o.scenario != "async") {
    return fail(unsupported("scenario '", o.scenario, "' is not supported; valid: sync, async"));
  }
  const int cores = engine::cpu_info().logical_cores;
  const int threads = o.threads > 0 ? o.threads : cores;
  int streams = o.scenario == "sync" ? 1 : (o.streams > 0 ? o.streams : threads);
  if (o.scenario == "sync" && o.streams > 1) return fail(invalid_argument("--streams ", o.streams, " needs -s async"));
  streams = std::min(streams, threads);
  const int per_stream = std::max(1, threads / streams);
  engine::Options options;
  options.threads = per_stream;
  options.batch_size = 0;
  if (!o.isa.empty()) {
    StatusOr<engine::Isa> isa = engine::parse_isa(o.isa);
    if (!isa.ok()) return fail(isa.status());
    options.isa_ceiling = *isa;
  }
  std::string model_path = o.model;
  if (zoo::is_stub(model_path)) {  // zoo:... benchmarks the model.onnx of a zoo model (fetched and cached)
    StatusOr<std::string> dir = zoo::fetch_model(model_path);
    if (!dir.ok()) return fail(dir.status());
    model_path = *dir + "/model.onnx";
  }
  StatusOr<std::string> bytes = engine::read_file_bytes(model_path);
  if (!bytes.ok()) return fail(bytes.status());
  const std::string base_dir = std::filesystem::path(model_path).parent_path().string();
  const auto c0 = Clock::now();
  std::vector<Stream> ss;
  for (int i = 0; i < streams; ++i) {
    StatusOr<Stream> s = make_stream(*bytes, base_dir.empty() ? "." : base_dir, options, o.batch, o.seed + static_cast<unsigned>(i));
    if (!s.ok()) return fail(s.status().with_prefix(model_path));
    ss.push_back(std::move(s).value());
  }
  const double compile_ms = std::chrono::duration<double, std::milli>(Clock::now() - c0).count() / streams;
  const engine::CompiledModel& cm0 = *ss[0].model;
  std::printf("sparsify benchmark: %s\n", o.model.c_str());
  std::printf("  batch %lld | scenario %s | streams %d | threads %d (%d per stream) | isa %s | warmup %.1f s | time %.1f s\n",
              static_cast<long long>(o.batch), o.scenario.c_str(), streams, threads, per_stream, engine::isa_name(ss[0].engine.isa()),
              o.warmup, o.seconds);
  std::printf("  cpu: %s | load average %s\n", engine::describe(engine::cpu_info()).c_str(), load_average().c_str());
  if (cm0.plan() != nullptr) {
    std::printf("  compile %.0f ms | plan: %zu steps, %zu on the reference path\n", compile_ms, cm0.plan()->steps().size(),
                cm0.plan()->reference_steps());
  } else {
    std::printf("  compile %.0f ms | reference fallback: %s\n", compile_ms, cm0.fallback_reason().c_str());
  }
  std::fflush(stdout);

  std::atomic<int> warmed{0};
  std::atomic<bool> go{false};
  Clock::time_point start;
  const auto warm_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const bool profile = o.profile && cm0.plan() != nullptr;
  if (streams == 1) {
    run_stream(ss[0], warm_end, warmed, 1, o.seconds, &start, go, profile);
  } else {
    std::vector<std::thread> workers;
    for (int i = 0; i < streams; ++i) {
      workers.emplace_back(run_stream, std::ref(ss[static_cast<std::size_t>(i)]), warm_end, std::ref(warmed), streams, o.seconds,
                           &start, std::ref(go), profile && i == 0);
    }
    for (auto& w : workers) w.join();
  }
  std::vector<double> all;
  Clock::time_point end = start;
  for (const Stream& s : ss) {
    if (!s.status.ok()) return fail(s.status);
    all.insert(all.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    end = std::max(end, s.end);
  }
  const double elapsed = std::chrono::duration<double>(end - start).count();
  const LatencyStats st = summarize(all);
  const double items_per_s = static_cast<double>(all.size()) * static_cast<double>(o.batch) / elapsed;
  std::printf("throughput: %.2f items/s (%zu iterations of batch %lld in %.2f s)\n", items_per_s, all.size(),
              static_cast<long long>(o.batch), elapsed);
  std::printf("latency ms/batch: mean %.3f | median %.3f | std %.3f | p90 %.3f | p95 %.3f | p99 %.3f | min %.3f | max %.3f\n",
              st.mean, st.median, st.std, st.p90, st.p95, st.p99, st.min, st.max);
  std::vector<ProfileRow> rows;
  if (o.profile) {
    if (!profile) {
      std::printf("profile: unavailable on the reference fallback\n");
    } else {
      rows = profile_rows(*ss[0].model->plan(), ss[0].latencies_ms.size());
      std::printf("profile (stream 0, mean per run over %zu runs):\n%s", ss[0].latencies_ms.size(),
                  format_profile(rows, static_cast<std::size_t>(o.profile_top)).c_str());
    }
  }
  if (!o.json.empty()) {
    const engine::CpuInfo& cpu = engine::cpu_info();
    nlohmann::json j;
    j["model"] = o.model;
    j["options"] = {{"batch_size", o.batch}, {"time_s", o.seconds}, {"warmup_s", o.warmup}, {"scenario", o.scenario},
                    {"streams", streams}, {"threads", threads}, {"threads_per_stream", per_stream},
                    {"isa", engine::isa_name(ss[0].engine.isa())}, {"seed", o.seed}};
    j["cpu"] = {{"brand", cpu.brand}, {"vendor", cpu.vendor}, {"logical_cores", cpu.logical_cores},
                {"best_isa", engine::isa_name(cpu.best_isa())}, {"describe", engine::describe(cpu)}};
    j["load_average"] = load_average();
    j["compile_ms"] = compile_ms;
    j["iterations"] = all.size();
    j["elapsed_s"] = elapsed;
    j["throughput_items_per_s"] = items_per_s;
    j["latency_ms"] = {{"mean", st.mean}, {"median", st.median}, {"std", st.std}, {"p90", st.p90}, {"p95", st.p95},
                       {"p99", st.p99}, {"min", st.min}, {"max", st.max}};
    if (!rows.empty()) {
      nlohmann::json prof = nlohmann::json::array();
      for (const ProfileRow& r : rows) {
        prof.push_back({{"op", r.op}, {"node", r.node}, {"kernel", r.kernel}, {"shape", r.shape},
                        {"weight_sparsity", r.weight_sparsity}, {"ms", r.ms}, {"gflops", r.gflops}, {"share", r.share}});
      }
      j["profile"] = prof;
    }
    const std::string tmp = o.json + ".tmp";
    {
      std::ofstream f(tmp);
      f << j.dump(1) << "\n";
      if (!f) return fail(io_error("cannot write '", tmp, "'"));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, o.json, ec);
    if (ec) return fail(io_error("cannot rename '", tmp, "' to '", o.json, "': ", ec.message()));
  }
  return kExitOk;
}

}  // namespace

void add_benchmark_command(CLI::App& app, CommandRunner* run) {
  auto o = std::make_shared<BenchmarkOptions>();
  CLI::App* cmd = app.add_subcommand("benchmark", "Measure throughput and latency of an ONNX model in the engine");
  cmd->add_option("model", o->model, "ONNX model file")->required();
  cmd->add_option("-b,--batch-size", o->batch, "batch size: the leading dim of every input (default 1)");
  cmd->add_option("-t,--time", o->seconds, "seconds of timed runs (default 10)");
  cmd->add_option("-w,--warmup", o->warmup, "seconds of untimed warm-up runs (default 2)");
  cmd->add_option("--threads", o->threads, "threads in all (0: every logical core)")->check(CLI::Range(0, 1024));
  cmd->add_option("-s,--scenario", o->scenario, "sync (one stream) or async (--streams engines on their own threads)");
  cmd->add_option("--streams", o->streams, "async streams (default: one per thread); threads are split between them");
  cmd->add_option("--json", o->json, "write every number, the options and the CPU to this JSON file");
  cmd->add_flag("--profile", o->profile, "time every step and print the per-layer table");
  cmd->add_option("--profile-top", o->profile_top, "rows of the per-layer table (0: all)");
  cmd->add_option("--isa", o->isa, "highest ISA the kernels may use: scalar, avx2, avx512, avx512vnni");
  cmd->add_option("--seed", o->seed, "seed for the random inputs");
  cmd->callback([o, run] { *run = [o] { return benchmark(*o); }; });
}

}  // namespace sparsify::cli
