// `zoo serve`: a zoo directory over HTTP (index.json and models/<id>/<path>), with Range support.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/base/status.h"

namespace sparsify::zoo {

/// Serves GET/HEAD of the regular files under a zoo directory. Paths with hidden ('.') or ".."
/// parts are refused (404), so locks and publish temp folders never leak. Bodies are streamed
/// from disk; a `Range: bytes=A-B` request gets 206 with that slice.
class ZooServer {
 public:
  /// Called after each request: method, path, status, and the Range header ("" when none).
  using Logger = std::function<void(const std::string& method, const std::string& path, int status,
                                    const std::string& range)>;

  explicit ZooServer(std::string zoo_dir);
  ~ZooServer();
  ZooServer(const ZooServer&) = delete;
  ZooServer& operator=(const ZooServer&) = delete;

  void set_logger(Logger logger);
  /// Binds host:port (port 0 = an ephemeral port) and returns the port; the server does not
  /// answer until listen() runs. io_error when the address is taken.
  StatusOr<int> bind(const std::string& host, int port);
  /// Serves until stop() (blocks; call from a thread of its own or from main).
  Status listen();
  /// Blocks until a listen() started in another thread accepts connections (so stop() reaches it).
  void wait_until_listening() const;
  /// Stops a listen() running in another thread; safe to call from any thread, or twice.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparsify::zoo
