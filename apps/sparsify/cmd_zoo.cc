// `sparsify zoo search|info|download|ls|verify|rm|publish|serve`: the model zoo from the command line.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "apps/sparsify/cli.h"
#include "zoo_client/fs_util.h"
#include "zoo_client/publish.h"
#include "zoo_client/server.h"
#include "zoo_client/zoo.h"

namespace sparsify::cli {
namespace {

using namespace sparsify::zoo;

struct ZooCliOptions {
  FetchOptions fetch;
  std::string stub;
  std::string dir;        // download --dir; publish's model folder; serve's zoo folder
  std::string zoo_dir;    // publish --zoo
  std::string short_stub; // publish --short-stub
  bool replace = false;
  std::string host = "127.0.0.1";
  int port = 8080;
  bool quiet = false;
  SearchQuery query;
  double sparsity_min = -1, sparsity_max = -1;
  std::string quantized;  // "", "yes", "no"
};

std::string hint_for(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNetwork:
      return "check --zoo / SPARSIFY_ZOO_URL and the connection; run the command again: partial downloads resume";
    case StatusCode::kChecksumMismatch:
      return "the zoo's bytes do not match its index.json; nothing was cached. Ask the zoo's owner to re-publish";
    case StatusCode::kInvalidArgument:
      return "see docs/zoo.md for stubs and the zoo format";
    default:
      return "";
  }
}

int fail(const Status& s) { return report_error(s, hint_for(s)); }

std::string fmt_fraction(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100);
  return buf;
}

std::string fmt_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= 1000000) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  else if (bytes >= 1000) std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string fmt_accuracy(const ModelCard& c) {
  std::string s;
  for (const auto& [k, v] : c.accuracy) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%s%s=%.4g", s.empty() ? "" : ",", k.c_str(), v);
    s += buf;
  }
  return s.empty() ? "-" : s;
}

int run_search(ZooCliOptions o) {
  if (o.sparsity_min >= 0) o.query.sparsity_min = o.sparsity_min > 1 ? o.sparsity_min / 100 : o.sparsity_min;
  if (o.sparsity_max >= 0) o.query.sparsity_max = o.sparsity_max > 1 ? o.sparsity_max / 100 : o.sparsity_max;
  if (!o.quantized.empty()) o.query.quantized = o.quantized == "yes";
  StatusOr<std::vector<ModelEntry>> found = search(o.query, o.fetch);
  if (!found.ok()) return fail(found.status());
  std::printf("%-40s %-9s %-6s %-18s %s\n", "short stub", "sparsity", "quant", "accuracy", "stub");
  for (const ModelEntry& m : *found) {
    std::printf("%-40s %-9s %-6s %-18s %s\n", m.short_stub.c_str(), fmt_fraction(m.card.sparsity).c_str(),
                m.card.quantized ? (*m.card.quantized ? "yes" : "no") : "-", fmt_accuracy(m.card).c_str(),
                m.stub.c_str());
  }
  std::fprintf(stderr, "%zu model%s\n", found->size(), found->size() == 1 ? "" : "s");
  return kExitOk;
}

int run_info(const ZooCliOptions& o) {
  StatusOr<ModelEntry> m = model_info(o.stub, o.fetch);
  if (!m.ok()) return fail(m.status());
  const ModelCard& c = m->card;
  std::printf("stub:          %s\nshort stub:    %s\nid:            %s\n", m->stub.c_str(), m->short_stub.c_str(),
              m->id.c_str());
  if (!c.display_name.empty()) std::printf("name:          %s\n", c.display_name.c_str());
  std::printf("domain/task:   %s / %s\narchitecture:  %s%s%s\nframework:     %s (repo %s)\ndataset:       %s\n",
              c.domain.c_str(), c.task.empty() ? c.sub_domain.c_str() : c.task.c_str(), c.architecture.c_str(),
              c.sub_architecture.empty() ? "" : "-", c.sub_architecture.c_str(), c.framework.c_str(), c.repo.c_str(),
              c.dataset.c_str());
  std::printf("sparsity:      %s\nquantized:     %s\naccuracy:      %s\n", fmt_fraction(c.sparsity).c_str(),
              c.quantized ? (*c.quantized ? "yes" : "no") : "-", fmt_accuracy(c).c_str());
  std::string types;
  for (const std::string& t : c.recipe_types) types += (types.empty() ? "" : ", ") + t;
  std::printf("recipe types:  %s\n", types.empty() ? "-" : types.c_str());
  if (!m->published.empty()) std::printf("published:     %s\n", m->published.c_str());
  if (!c.description.empty()) std::printf("description:   %s\n", c.description.c_str());
  std::printf("files (%zu, %s):\n", m->files.size(), fmt_size(m->total_size()).c_str());
  for (const FileEntry& f : m->files) {
    std::printf("  %-44s %10s  %s\n", f.path.c_str(), fmt_size(f.size).c_str(), f.sha256.c_str());
  }
  return kExitOk;
}

int run_download(const ZooCliOptions& o) {
  StatusOr<FetchResult> r = fetch_model_entry(o.stub, o.fetch);
  if (!r.ok()) return fail(r.status());
  if (!o.dir.empty()) {
    if (Status s = copy_model_to(r->snapshot_dir, r->model, o.dir); !s.ok()) return fail(s);
    std::printf("%s\n", o.dir.c_str());
  } else {
    std::printf("%s\n", r->snapshot_dir.c_str());
  }
  return kExitOk;
}

int run_ls(const ZooCliOptions& o) {
  const Cache cache(resolve_cache_dir(o.fetch));
  StatusOr<std::vector<ModelEntry>> models = cache.list_models();
  if (!models.ok()) return fail(models.status());
  std::printf("cache: %s\n", cache.root().c_str());
  for (const ModelEntry& m : *models) {
    size_t present = 0;
    for (const FileEntry& f : m.files) present += cache.has_file(m, f) ? 1 : 0;
    std::printf("%-40s %3zu/%-3zu files %10s  %s\n", m.short_stub.c_str(), present, m.files.size(),
                fmt_size(m.total_size()).c_str(), m.stub.c_str());
  }
  if (const std::uint64_t inc = cache.incomplete_bytes()) {
    std::printf("interrupted downloads: %s in %s/*.incomplete (resumed by the next download)\n", fmt_size(inc).c_str(),
                cache.blobs_dir().c_str());
  }
  std::fprintf(stderr, "%zu model%s cached\n", models->size(), models->size() == 1 ? "" : "s");
  return kExitOk;
}

int run_verify(const ZooCliOptions& o) {
  const Cache cache(resolve_cache_dir(o.fetch));
  StatusOr<std::vector<CacheIssue>> issues = cache.verify();
  if (!issues.ok()) return fail(issues.status());
  for (const CacheIssue& i : *issues) std::printf("%s: %s: %s\n", i.stub.c_str(), i.path.c_str(), i.problem.c_str());
  if (!issues->empty()) {
    return report_error(Status(StatusCode::kChecksumMismatch, str_cat(issues->size(), " problem(s) in the cache at ",
                                                                      cache.root())),
                        "download the models again: sparsify zoo download STUB");
  }
  std::printf("cache %s: every cached file matches its sha256\n", cache.root().c_str());
  return kExitOk;
}

int run_rm(const ZooCliOptions& o) {
  StatusOr<Stub> stub = parse_stub(o.stub);
  if (!stub.ok()) return fail(stub.status());
  const Cache cache(resolve_cache_dir(o.fetch));
  StatusOr<ModelEntry> m = cache.find_model(*stub);
  if (!m.ok()) return fail(m.status());
  StatusOr<FileLock> lock = FileLock::acquire(cache.model_lock_path(m->id));
  if (!lock.ok()) return fail(lock.status());
  if (Status s = cache.remove_model(*m); !s.ok()) return fail(s);
  std::printf("removed %s from %s\n", m->stub.c_str(), cache.root().c_str());
  return kExitOk;
}

int run_publish(const ZooCliOptions& o) {
  PublishOptions p;
  p.short_stub = o.short_stub;
  p.replace = o.replace;
  StatusOr<ModelEntry> m = publish_model(o.dir, o.zoo_dir, o.stub, p);
  if (!m.ok()) return fail(m.status());
  std::printf("published %s (%s): %zu files, %s, in %s\n", m->stub.c_str(), m->short_stub.c_str(), m->files.size(),
              fmt_size(m->total_size()).c_str(), o.zoo_dir.c_str());
  return kExitOk;
}

int run_serve(const ZooCliOptions& o) {
  StatusOr<ZooIndex> index = read_zoo_dir_index(o.dir);
  if (!index.ok()) return fail(index.status());
  // SIGINT/SIGTERM are taken by sigwait below, in this thread, so the server stops cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ZooServer server(o.dir);
  if (!o.quiet) {
    server.set_logger([](const std::string& method, const std::string& path, int status, const std::string& range) {
      std::fprintf(stderr, "%s %s %d%s%s\n", method.c_str(), path.c_str(), status, range.empty() ? "" : " ",
                   range.c_str());
    });
  }
  StatusOr<int> port = server.bind(o.host, o.port);
  if (!port.ok()) return fail(port.status());
  std::printf("serving %s (%zu models) at http://%s:%d\n", o.dir.c_str(), index->models.size(), o.host.c_str(), *port);
  std::fflush(stdout);
  Status result;
  std::thread listener([&] { result = server.listen(); });
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  listener.join();
  return result.ok() ? kExitOk : fail(result);
}

void add_fetch_options(CLI::App* cmd, ZooCliOptions* o, bool network) {
  cmd->add_option("--cache", o->fetch.cache_dir, "Cache directory (default $SPARSIFY_CACHE or ~/.cache/sparsify)");
  if (!network) return;
  cmd->add_option("--zoo", o->fetch.zoo, "Zoo: http(s) URL or directory (default $SPARSIFY_ZOO_URL, then data/zoo)");
  cmd->add_flag("--offline", o->fetch.offline, "Use the cache only (also SPARSIFY_OFFLINE=1)");
  cmd->add_option("--connect-timeout", o->fetch.limits.connect_timeout_s, "Seconds to wait for a connection (15)");
  cmd->add_option("--stall-timeout", o->fetch.limits.low_speed_time_s,
                  "Abandon a transfer that receives nothing for this many seconds (30)");
  cmd->add_option("--retries", o->fetch.retry.max_retries, "Retries on 5xx answers and failed transfers (4)");
}

}  // namespace

void add_zoo_command(CLI::App& app, CommandRunner* run) {
  auto o = std::make_shared<ZooCliOptions>();
  CLI::App* zoo = app.add_subcommand("zoo", "Find, download, cache, publish and serve models by zoo: stubs");
  zoo->require_subcommand(1);
  zoo->footer("Stubs: zoo:DOMAIN/SUB_DOMAIN/ARCH[-SUB_ARCH]/FRAMEWORK/REPO/DATASET[-TRAINING_SCHEME]/"
              "SPARSE_NAME-SPARSE_CATEGORY[-SPARSE_TARGET] or zoo:ARCH-DATASET-SPARSE_TAG. See docs/zoo.md.");
  auto on = [run, o](CLI::App* cmd, int (*fn)(const ZooCliOptions&)) {
    cmd->callback([run, o, fn]() { *run = [o, fn]() { return fn(*o); }; });
  };

  CLI::App* search_cmd = zoo->add_subcommand("search", "List the zoo's models that match every filter given");
  add_fetch_options(search_cmd, o.get(), true);
  search_cmd->add_option("--domain", o->query.domain, "e.g. cv, nlp");
  search_cmd->add_option("--sub-domain", o->query.sub_domain, "e.g. classification");
  search_cmd->add_option("--architecture", o->query.architecture, "e.g. mnist_cnn, resnet_v1");
  search_cmd->add_option("--dataset", o->query.dataset, "e.g. mnist, imagenet");
  search_cmd->add_option("--framework", o->query.framework, "e.g. pytorch");
  search_cmd->add_option("--repo", o->query.repo, "e.g. sparsify, sparseml");
  search_cmd->add_option("--sparse-name", o->query.sparse_name, "e.g. pruned90_quant, base");
  search_cmd->add_option("--sparsity-min", o->sparsity_min, "Minimum sparsity (0.9 or 90)");
  search_cmd->add_option("--sparsity-max", o->sparsity_max, "Maximum sparsity (0.9 or 90)");
  search_cmd->add_option("--quantized", o->quantized, "yes or no")->check(CLI::IsMember({"yes", "no"}));
  search_cmd->add_option("--recipe-type", o->query.recipe_type, "Models that have this recipe type");
  search_cmd->add_option("text", o->query.text, "Words to find in stubs, names and tags");
  search_cmd->callback([run, o]() { *run = [o]() { return run_search(*o); }; });

  CLI::App* info = zoo->add_subcommand("info", "Show a model's card and files");
  info->add_option("stub", o->stub, "zoo: stub")->required();
  add_fetch_options(info, o.get(), true);
  on(info, run_info);

  CLI::App* download = zoo->add_subcommand("download", "Download a model into the cache (or --dir) and print its folder");
  download->add_option("stub", o->stub, "zoo: stub")->required();
  download->add_option("--dir", o->dir, "Also copy the files into this directory");
  add_fetch_options(download, o.get(), true);
  on(download, run_download);

  CLI::App* ls = zoo->add_subcommand("ls", "List cached models");
  add_fetch_options(ls, o.get(), false);
  on(ls, run_ls);

  CLI::App* verify = zoo->add_subcommand("verify", "Re-hash every cached file; delete and report corrupt ones");
  add_fetch_options(verify, o.get(), false);
  on(verify, run_verify);

  CLI::App* rm = zoo->add_subcommand("rm", "Remove a model from the cache (and blobs no other model uses)");
  rm->add_option("stub", o->stub, "zoo: stub")->required();
  add_fetch_options(rm, o.get(), false);
  on(rm, run_rm);

  CLI::App* publish = zoo->add_subcommand("publish", "Add an exported model folder to a zoo directory");
  publish->add_option("dir", o->dir, "Model folder: model.onnx, model.md, recipes/, ...")->required();
  publish->add_option("--zoo", o->zoo_dir, "Zoo directory (created if missing)")->required();
  publish->add_option("--stub", o->stub, "Long stub to publish under")->required();
  publish->add_option("--short-stub", o->short_stub, "Short stub (default zoo:ARCH-DATASET-SPARSE_NAME)");
  publish->add_flag("--replace", o->replace, "Replace a model already published under this stub");
  on(publish, run_publish);

  CLI::App* serve = zoo->add_subcommand("serve", "Serve a zoo directory over HTTP (loopback by default)");
  serve->add_option("dir", o->dir, "Zoo directory")->required();
  serve->add_option("--host", o->host, "Address to listen on (127.0.0.1)");
  serve->add_option("--port", o->port, "Port (8080; 0 picks a free one, printed on start)");
  serve->add_flag("--quiet", o->quiet, "Do not log requests to stderr");
  on(serve, run_serve);
}

}  // namespace sparsify::cli
