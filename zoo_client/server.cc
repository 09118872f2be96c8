// The zoo HTTP server (cpp-httplib): static files of a zoo directory, streamed, with Range.
#include "zoo_client/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <filesystem>
#include <memory>
#include <vector>

namespace sparsify::zoo {

namespace fs = std::filesystem;

struct ZooServer::Impl {
  std::string root;
  httplib::Server server;
  Logger logger;
};

namespace {

// Maps a URL path to a file under root, or "" when it must not be served.
std::string resolve(const std::string& root, const std::string& url_path) {
  if (url_path.empty() || url_path.front() != '/') return "";
  std::string rel = url_path.substr(1);
  if (rel.empty()) return "";
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    const std::string seg = rel.substr(start, end - start);
    if (seg.empty() || seg.front() == '.' || seg.find('\\') != std::string::npos) return "";
    start = end + 1;
  }
  const fs::path p = fs::path(root) / rel;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return "";
  return p.string();
}

void serve_file(const std::string& root, const httplib::Request& req, httplib::Response& res) {
  const std::string path = resolve(root, req.path);
  if (path.empty()) {
    res.status = 404;
    res.set_content("not found\n", "text/plain");
    return;
  }
  auto file = std::shared_ptr<std::FILE>(std::fopen(path.c_str(), "rb"), [](std::FILE* f) {
    if (f) std::fclose(f);
  });
  if (!file) {
    res.status = 403;
    res.set_content("cannot read\n", "text/plain");
    return;
  }
  std::error_code ec;
  const size_t size = static_cast<size_t>(fs::file_size(path, ec));
  const char* type = path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0 ? "application/json"
                                                                                       : "application/octet-stream";
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("Cache-Control", "no-cache");
  // httplib applies a single Range to a sized provider itself: it asks for (offset, length).
  res.set_content_provider(size, type, [file](size_t offset, size_t length, httplib::DataSink& sink) {
    std::vector<char> buf(64 << 10);
    if (std::fseek(file.get(), static_cast<long>(offset), SEEK_SET) != 0) return false;
    while (length > 0) {
      const size_t n = std::fread(buf.data(), 1, std::min(length, buf.size()), file.get());
      if (n == 0) return false;
      if (!sink.write(buf.data(), n)) return false;
      length -= n;
    }
    return true;
  });
}

}  // namespace

ZooServer::ZooServer(std::string zoo_dir) : impl_(std::make_unique<Impl>()) {
  impl_->root = std::move(zoo_dir);
  const std::string root = impl_->root;
  auto handler = [root](const httplib::Request& req, httplib::Response& res) { serve_file(root, req, res); };
  impl_->server.Get(R"(/.*)", handler);
  impl_->server.set_read_timeout(30, 0);
  impl_->server.set_write_timeout(30, 0);
  impl_->server.set_logger([impl = impl_.get()](const httplib::Request& req, const httplib::Response& res) {
    if (impl->logger) impl->logger(req.method, req.path, res.status, req.get_header_value("Range"));
  });
}

ZooServer::~ZooServer() { stop(); }

void ZooServer::set_logger(Logger logger) { impl_->logger = std::move(logger); }

StatusOr<int> ZooServer::bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(host);
    if (bound < 0) return io_error("cannot bind ", host, " to any port");
  } else if (!impl_->server.bind_to_port(host, port)) {
    return io_error("cannot bind ", host, ":", port, " (in use, or not an address of this machine)");
  }
  return bound;
}

Status ZooServer::listen() {
  if (!impl_->server.listen_after_bind()) return io_error("the zoo server stopped with an error");
  return Status::ok_status();
}

void ZooServer::wait_until_listening() const {
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ZooServer::stop() {
  if (impl_) impl_->server.stop();
}

}  // namespace sparsify::zoo
