// Run-time CPU feature detection (CPUID + XGETBV) and the choice of ISA level the kernels may use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sparsify::engine {

/// Instruction-set levels the kernels are written for, in increasing order.
/// Each level implies every level below it; comparisons (<, std::min) are meaningful.
enum class Isa : std::uint8_t { kScalar, kAvx2, kAvx512, kAvx512Vnni };

/// Lower-case name of a level ("scalar", "avx2", "avx512", "avx512vnni"); a static string.
const char* isa_name(Isa isa);

/// Parses a level name as printed by isa_name(), case-insensitively. Anything else is an
/// invalid_argument error that quotes the input and lists the valid names. Pure; thread-safe.
StatusOr<Isa> parse_isa(std::string_view name);

/// What the CPU and the operating system support. Default-constructed: nothing (scalar only).
struct CpuInfo {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx_vnni = false;      // VEX-encoded VNNI (leaf 7 subleaf 1 EAX bit 4); informational only
  bool os_saves_ymm = false;  // XCR0 bits 1 and 2: the OS preserves XMM and YMM state
  bool os_saves_zmm = false;  // XCR0 bits 1, 2, 5, 6 and 7: also opmask and ZMM state
  std::string vendor;         // "GenuineIntel", "AuthenticAMD", ...; empty off x86
  std::string brand;          // full brand string, trimmed; empty when the CPU has none
  int logical_cores = 1;      // std::thread::hardware_concurrency(), at least 1

  /// The highest level whose every CPU feature and OS state support holds:
  /// kAvx2 needs avx2, fma, f16c and os_saves_ymm; kAvx512 adds avx512 f/bw/dq/vl and
  /// os_saves_zmm; kAvx512Vnni adds avx512vnni.
  Isa best_isa() const;
};

/// The host's features, detected on first call and cached for the life of the process.
/// Thread-safe (function-local static); the reference stays valid until exit.
const CpuInfo& cpu_info();

/// The ISA kernels may use: best_isa() capped by the SPARSIFY_ISA environment variable (when set
/// and non-empty) and by `ceiling` (when given). An unparsable SPARSIFY_ISA is an
/// invalid_argument error naming the variable and the valid values. Reads the environment on
/// every call, so do not call it while another thread may change the environment.
StatusOr<Isa> effective_isa(std::optional<Isa> ceiling = std::nullopt);

/// Pure helper used by effective_isa, testable without touching the environment: the lowest of
/// `detected` and whichever ceilings are given. A ceiling never raises the level.
Isa cap_isa(Isa detected, std::optional<Isa> env_ceiling, std::optional<Isa> ceiling);

/// One line for logs and --dump-plan, e.g.
/// "Intel(R) Xeon(R) ... | avx512vnni (sse4.2 avx avx2 fma f16c avx512f ... avx512vnni) | 2 cores".
/// Features the CPU has but the OS does not enable are marked, e.g. "(os: no zmm)".
std::string describe(const CpuInfo& info);

}  // namespace sparsify::engine
