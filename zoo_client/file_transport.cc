// The local-directory transport: file:// URLs read with offsets, so a directory zoo takes the same
// download, verify and cache path as an HTTP zoo.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "zoo_client/transport.h"

namespace sparsify::zoo {
namespace {

// Undoes %XX escapes (paths in file:// URLs are percent-encoded when they hold odd characters).
std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

class FileTransport : public Transport {
 public:
  StatusOr<ResponseHead> get(const std::string& url, std::uint64_t offset, const TransferLimits&,
                             ResponseSink* sink) override {
    constexpr const char kScheme[] = "file://";
    if (url.rfind(kScheme, 0) != 0) return invalid_argument("not a file:// URL: ", url);
    const std::string path = percent_decode(url.substr(sizeof(kScheme) - 1));
    ResponseHead head;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      head.status = errno == ENOENT || errno == ENOTDIR ? 404 : 403;
      SPARSIFY_RETURN_IF_ERROR(sink->on_head(head));
      return head;
    }
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    if (size < 0) {
      std::fclose(f);
      return io_error("cannot read ", path, ": ", std::strerror(errno));
    }
    head.resource_size = size;
    if (offset > 0 && offset < static_cast<std::uint64_t>(size)) {
      head.status = 206;
      head.body_offset = offset;
    } else if (offset > 0) {
      head.status = 416;
      std::fclose(f);
      SPARSIFY_RETURN_IF_ERROR(sink->on_head(head));
      return head;
    } else {
      head.status = 200;
    }
    std::fseek(f, static_cast<long>(head.body_offset), SEEK_SET);
    Status s = sink->on_head(head);
    std::vector<char> buf(1 << 20);
    while (s.ok()) {
      const size_t n = std::fread(buf.data(), 1, buf.size(), f);
      if (n == 0) break;
      s = sink->on_data(buf.data(), n);
    }
    const bool read_failed = std::ferror(f) != 0;
    std::fclose(f);
    SPARSIFY_RETURN_IF_ERROR(s);
    if (read_failed) return io_error("cannot read ", path);
    return head;
  }
};

}  // namespace

std::unique_ptr<Transport> make_file_transport() { return std::make_unique<FileTransport>(); }

}  // namespace sparsify::zoo
