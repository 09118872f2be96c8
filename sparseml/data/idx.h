// IDX files (the MNIST container format): read and write, plain or gzip-compressed, no LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sparsify::ml::data {

/// A uint8 IDX array: dims as in the header, elements row-major (last dim fastest).
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;

  /// Product of dims (1 for no dims).
  std::int64_t numel() const;
  /// "60000x28x28"
  std::string shape_string() const;
};

/// Name of an IDX element type code: 0x08 "uint8", 0x09 "int8", 0x0B "int16", 0x0C "int32",
/// 0x0D "float32", 0x0E "float64"; nullptr for codes the format does not define.
const char* idx_type_name(std::uint8_t code);

/// Reads an IDX file (magic 0x00 0x00 <type> <ndims>, big-endian int32 dims, then the data).
/// Gzip-compressed files are detected by their content (bytes 1f 8b), not by the file name.
/// Only element type 0x08 (uint8) is supported; other defined types return unsupported naming the
/// type. Every error names the file: not_found (missing), io_error (unreadable), invalid_argument
/// (corrupt gzip, truncated header, wrong magic, data size not matching the dims, trailing bytes).
/// Thread-safe (no shared state). The caller owns the result.
StatusOr<IdxArray> read_idx(const std::string& path);

/// Parses IDX bytes already in memory (plain or gzip), with the same checks as read_idx; `name` is
/// used in messages in place of a file path. Does not keep `bytes`.
StatusOr<IdxArray> parse_idx(const std::uint8_t* bytes, std::size_t size, const std::string& name);

/// Writes `array` as a uint8 IDX file, gzip-compressed when `gzip` is true. invalid_argument when
/// dims and data disagree or a dim does not fit the format's int32; io_error naming the file when
/// writing fails. Overwrites an existing file.
Status write_idx(const std::string& path, const IdxArray& array, bool gzip = false);

}  // namespace sparsify::ml::data
