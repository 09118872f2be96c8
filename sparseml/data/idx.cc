// IDX reading and writing: header checks with messages that name the file, gzip through zlib.
#include "sparseml/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <sys/stat.h>

namespace sparsify::ml::data {
namespace {

constexpr std::uint8_t kTypeUint8 = 0x08;

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", static_cast<unsigned>(b));
  return buf;
}

std::string quoted(const std::string& name) { return "'" + name + "'"; }

// Inflates a gzip stream (possibly several concatenated members, as `cat a.gz b.gz` makes).
StatusOr<std::vector<std::uint8_t>> gunzip(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  std::vector<std::uint8_t> out;
  out.reserve(size * 4);
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return internal_error(quoted(name), ": zlib inflateInit2 failed");
  zs.next_in = const_cast<Bytef*>(bytes);
  std::size_t consumed = 0;
  constexpr std::size_t kChunk = 1 << 20;
  int rc = Z_OK;
  while (true) {
    // avail_in is 32-bit; feed at most 1 GiB at a time.
    const std::size_t remaining = size - consumed;
    zs.next_in = const_cast<Bytef*>(bytes + consumed);
    zs.avail_in = static_cast<uInt>(std::min<std::size_t>(remaining, std::size_t{1} << 30));
    const uInt fed = zs.avail_in;
    const std::size_t old_size = out.size();
    out.resize(old_size + kChunk);
    zs.next_out = out.data() + old_size;
    zs.avail_out = static_cast<uInt>(kChunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(out.size() - zs.avail_out);
    consumed += fed - zs.avail_in;
    if (rc == Z_STREAM_END) {
      if (consumed >= size) break;
      if (bytes[consumed] != 0x1f) break;  // trailing garbage after the last member: ignored, as gzip does
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR && consumed >= size) {
      inflateEnd(&zs);
      return invalid_argument(quoted(name), ": gzip stream ends early after ", size,
                              " compressed bytes (truncated file?)");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
      inflateEnd(&zs);
      return invalid_argument(quoted(name), ": corrupt gzip data (zlib: ", msg, ")");
    }
  }
  inflateEnd(&zs);
  return out;
}

StatusOr<IdxArray> parse_plain(const std::uint8_t* bytes, std::size_t size, const std::string& name, bool gz) {
  const char* what = gz ? " (after gunzip)" : "";
  if (size < 4)
    return invalid_argument(quoted(name), ": truncated header: ", size, " bytes", what,
                            ", an IDX header needs at least 4");
  if (bytes[0] != 0 || bytes[1] != 0)
    return invalid_argument(quoted(name), ": not an IDX file: magic starts with ", hex_byte(bytes[0]), " ",
                            hex_byte(bytes[1]), what, ", expected 0x00 0x00");
  const std::uint8_t type = bytes[2];
  const int ndims = bytes[3];
  if (const char* tname = idx_type_name(type); tname == nullptr) {
    return invalid_argument(quoted(name), ": not an IDX file: element type byte is ", hex_byte(type),
                            ", expected one of 0x08 0x09 0x0B 0x0C 0x0D 0x0E");
  } else if (type != kTypeUint8) {
    return unsupported(quoted(name), ": IDX element type ", hex_byte(type), " (", tname,
                       ") is not supported; only 0x08 (uint8) is");
  }
  if (ndims == 0) return invalid_argument(quoted(name), ": IDX header has 0 dimensions");
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndims);
  if (size < header)
    return invalid_argument(quoted(name), ": truncated header: ", ndims, " dims need ", header, " header bytes, found ",
                            size, what);
  IdxArray arr;
  std::int64_t expected = 1;
  bool overflow = false;
  for (int d = 0; d < ndims; ++d) {
    const std::uint8_t* p = bytes + 4 + 4 * d;
    const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    if (v > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()))
      return invalid_argument(quoted(name), ": dimension ", d, " is negative (", static_cast<std::int32_t>(v),
                              ") in the IDX header");
    arr.dims.push_back(static_cast<std::int64_t>(v));
    if (v != 0 && expected > (std::int64_t{1} << 50) / static_cast<std::int64_t>(v)) overflow = true;
    expected *= static_cast<std::int64_t>(v);
  }
  if (overflow) return invalid_argument(quoted(name), ": IDX dims ", arr.shape_string(), " are implausibly large");
  const std::size_t found = size - header;
  if (found != static_cast<std::size_t>(expected)) {
    if (found < static_cast<std::size_t>(expected))
      return invalid_argument(quoted(name), ": truncated data: expected ", expected, " bytes of data for ",
                              arr.shape_string(), " (", header + static_cast<std::size_t>(expected),
                              " bytes in all with the ", header, "-byte header), found ", found, what);
    return invalid_argument(quoted(name), ": ", found - static_cast<std::size_t>(expected),
                            " unexpected bytes after the data: expected ", expected, " bytes of data for ",
                            arr.shape_string(), ", found ", found, what);
  }
  arr.data.assign(bytes + header, bytes + size);
  return arr;
}

}  // namespace

std::int64_t IdxArray::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= d;
  return n;
}

std::string IdxArray::shape_string() const {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

const char* idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

StatusOr<IdxArray> parse_idx(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
    SPARSIFY_ASSIGN_OR_RETURN(std::vector<std::uint8_t> raw, gunzip(bytes, size, name));
    return parse_plain(raw.data(), raw.size(), name, /*gz=*/true);
  }
  return parse_plain(bytes, size, name, /*gz=*/false);
}

StatusOr<IdxArray> read_idx(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return not_found(quoted(path), ": no such file");
    return io_error(quoted(path), ": cannot stat: ", std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return io_error(quoted(path), ": is a directory, expected an IDX file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return io_error(quoted(path), ": cannot open: ", std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kChunk = 1 << 20;
  bytes.reserve(static_cast<std::size_t>(st.st_size));
  while (true) {
    const std::size_t old = bytes.size();
    bytes.resize(old + kChunk);
    const std::size_t got = std::fread(bytes.data() + old, 1, kChunk, f);
    bytes.resize(old + got);
    if (got < kChunk) break;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return io_error(quoted(path), ": read error after ", bytes.size(), " bytes");
  return parse_idx(bytes.data(), bytes.size(), path);
}

Status write_idx(const std::string& path, const IdxArray& array, bool gzip) {
  if (array.dims.empty() || array.dims.size() > 255)
    return invalid_argument("write_idx ", quoted(path), ": ", array.dims.size(), " dims, IDX allows 1 to 255");
  for (std::int64_t d : array.dims)
    if (d < 0 || d > std::numeric_limits<std::int32_t>::max())
      return invalid_argument("write_idx ", quoted(path), ": dim ", d, " does not fit IDX's int32");
  if (array.numel() != static_cast<std::int64_t>(array.data.size()))
    return invalid_argument("write_idx ", quoted(path), ": dims ", array.shape_string(), " need ", array.numel(),
                            " bytes, data has ", array.data.size());
  std::vector<std::uint8_t> header = {0, 0, kTypeUint8, static_cast<std::uint8_t>(array.dims.size())};
  for (std::int64_t d : array.dims) {
    const auto v = static_cast<std::uint32_t>(d);
    header.insert(header.end(), {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                                 static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
  }
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "wb");
    if (gz == nullptr) return io_error(quoted(path), ": cannot open for writing: ", std::strerror(errno));
    bool ok = gzwrite(gz, header.data(), static_cast<unsigned>(header.size())) == static_cast<int>(header.size());
    constexpr std::size_t kChunk = 1 << 24;
    for (std::size_t off = 0; ok && off < array.data.size(); off += kChunk) {
      const auto n = static_cast<unsigned>(std::min(kChunk, array.data.size() - off));
      ok = gzwrite(gz, array.data.data() + off, n) == static_cast<int>(n);
    }
    if (gzclose(gz) != Z_OK) ok = false;
    if (!ok) return io_error(quoted(path), ": gzip write failed");
    return Status::ok_status();
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return io_error(quoted(path), ": cannot open for writing: ", std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  ok = ok && (array.data.empty() || std::fwrite(array.data.data(), 1, array.data.size(), f) == array.data.size());
  if (std::fclose(f) != 0) ok = false;
  if (!ok) return io_error(quoted(path), ": write failed");
  return Status::ok_status();
}

}  // namespace sparsify::ml::data
