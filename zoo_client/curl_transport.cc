// The HTTP transport: libcurl easy handles with connect and low-speed timeouts and Range requests.
#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "zoo_client/transport.h"

namespace sparsify::zoo {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Per-transfer state shared with curl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  ResponseSink* sink = nullptr;
  ResponseHead head;
  bool head_sent = false;
  Status sink_status;
  std::string content_range;
  std::int64_t content_length = -1;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

size_t on_header(char* buffer, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(buffer, size * nitems);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): forget old headers
    t->content_range.clear();
    t->content_length = -1;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    const std::string key = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    if (key == "content-range") t->content_range = value;
    if (key == "content-length") t->content_length = std::strtoll(value.c_str(), nullptr, 10);
  }
  return size * nitems;
}

// Fills the head from the status line and headers, once, before the first body byte.
Status send_head(Transfer* t) {
  if (t->head_sent) return Status::ok_status();
  t->head_sent = true;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->head.status);
  t->head.resource_size = t->content_length;
  if (t->head.status == 206 && t->content_range.rfind("bytes ", 0) == 0) {
    // "bytes START-END/TOTAL"
    const char* p = t->content_range.c_str() + 6;
    char* end = nullptr;
    t->head.body_offset = std::strtoull(p, &end, 10);
    const char* slash = std::strchr(p, '/');
    if (slash && slash[1] != '*') t->head.resource_size = std::strtoll(slash + 1, nullptr, 10);
  }
  return t->sink->on_head(t->head);
}

size_t on_write(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  Status s = send_head(t);
  if (s.ok()) s = t->sink->on_data(data, size * nmemb);
  if (!s.ok()) {
    t->sink_status = s;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return size * nmemb;
}

class CurlTransport : public Transport {
 public:
  StatusOr<ResponseHead> get(const std::string& url, std::uint64_t offset, const TransferLimits& limits,
                             ResponseSink* sink) override {
    global_init_once();
    Transfer t;
    t.sink = sink;
    t.curl = curl_easy_init();
    if (!t.curl) return Status(StatusCode::kInternal, "curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(t.curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "sparsify-zoo/0.1");
    curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout_s * 1000));
    curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, limits.low_speed_limit_bytes);
    curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(limits.low_speed_time_s + 0.5)));
    curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
    const std::string range = str_cat(offset, "-");
    if (offset > 0) curl_easy_setopt(t.curl, CURLOPT_RANGE, range.c_str());
    const CURLcode rc = curl_easy_perform(t.curl);
    Status head_status = rc == CURLE_OK ? send_head(&t) : Status::ok_status();  // bodiless responses
    curl_easy_cleanup(t.curl);
    if (!t.sink_status.ok()) return t.sink_status;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status(StatusCode::kNetwork,
                    str_cat(url, ": timed out (", errbuf[0] ? errbuf : curl_easy_strerror(rc), "; connect timeout ",
                            limits.connect_timeout_s, " s, stall limit: under ", limits.low_speed_limit_bytes,
                            " byte/s for ", limits.low_speed_time_s, " s)"));
    }
    if (rc != CURLE_OK) {
      return Status(StatusCode::kNetwork, str_cat(url, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    }
    if (!head_status.ok()) return head_status;
    return t.head;
  }
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

Status StringSink::on_head(const ResponseHead& head) {
  head_ = head;
  body_.clear();
  return Status::ok_status();
}

Status StringSink::on_data(const char* data, size_t size) {
  if (body_.size() + size > max_bytes_) return io_error("response larger than ", max_bytes_, " bytes");
  body_.append(data, size);
  return Status::ok_status();
}

}  // namespace sparsify::zoo
