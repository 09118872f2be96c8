// CPUID/XGETBV feature detection and ISA selection; generic code, built without any -m ISA flags.
#include "engine/base/cpu_info.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SPARSIFY_X86 1
#else
#define SPARSIFY_X86 0
#endif

namespace sparsify::engine {
namespace {

// THE list of ISA levels and their names; isa_name, parse_isa and error messages expand it.
struct IsaName {
  Isa isa;
  const char* name;
};
constexpr IsaName kIsaNames[] = {
    {Isa::kScalar, "scalar"},
    {Isa::kAvx2, "avx2"},
    {Isa::kAvx512, "avx512"},
    {Isa::kAvx512Vnni, "avx512vnni"},
};

// The features describe() prints, in the order printed.
struct FeatureName {
  const char* name;
  bool CpuInfo::*flag;
};
constexpr FeatureName kFeatureNames[] = {
    {"sse4.2", &CpuInfo::sse42},       {"avx", &CpuInfo::avx},
    {"avx2", &CpuInfo::avx2},          {"fma", &CpuInfo::fma},
    {"f16c", &CpuInfo::f16c},          {"avx512f", &CpuInfo::avx512f},
    {"avx512bw", &CpuInfo::avx512bw},  {"avx512dq", &CpuInfo::avx512dq},
    {"avx512vl", &CpuInfo::avx512vl},  {"avx512vnni", &CpuInfo::avx512vnni},
    {"avxvnni", &CpuInfo::avx_vnni},
};

constexpr const char* kIsaEnvVar = "SPARSIFY_ISA";

std::string valid_isa_names() {
  std::string out;
  for (const IsaName& entry : kIsaNames) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string trim(std::string s) {
  const char* kSpace = " \t\r\n";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string::npos) return std::string();
  const std::size_t last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

bool bit(std::uint32_t reg, int index) { return ((reg >> index) & 1u) != 0; }

#if SPARSIFY_X86

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Zeroed registers when the leaf is beyond the CPU's maximum (__get_cpuid_count checks it).
CpuidRegs cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) r = CpuidRegs();
  return r;
}

// XGETBV with ECX=0 (XCR0). Emitted as raw bytes so neither -mxsave nor a new assembler is
// needed; only call it when CPUID reports OSXSAVE, otherwise it faults.
// ref: Intel SDM vol. 1, 13.3 "Enabling the XSAVE feature set"; vol. 2, XGETBV.
std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

void detect_x86(CpuInfo* info) {
  // Cast: GCC's cpuid.h returns unsigned, Clang's returns int.
  const unsigned max_leaf = static_cast<unsigned>(__get_cpuid_max(0, nullptr));
  if (max_leaf == 0) return;

  // Vendor: leaf 0 EBX, EDX, ECX in that order.
  const CpuidRegs leaf0 = cpuid(0, 0);
  char vendor[13] = {};
  std::memcpy(vendor + 0, &leaf0.ebx, 4);
  std::memcpy(vendor + 4, &leaf0.edx, 4);
  std::memcpy(vendor + 8, &leaf0.ecx, 4);
  info->vendor = vendor;

  const CpuidRegs leaf1 = cpuid(1, 0);
  info->sse42 = bit(leaf1.ecx, 20);
  info->fma = bit(leaf1.ecx, 12);
  info->avx = bit(leaf1.ecx, 28);
  info->f16c = bit(leaf1.ecx, 29);
  const bool osxsave = bit(leaf1.ecx, 27);

  if (osxsave) {
    // XCR0: bit 1 SSE, 2 AVX (YMM upper halves), 5 opmask, 6 ZMM0-15 upper, 7 ZMM16-31.
    const std::uint64_t xcr0 = read_xcr0();
    constexpr std::uint64_t kYmmState = (1u << 1) | (1u << 2);
    constexpr std::uint64_t kZmmState = kYmmState | (1u << 5) | (1u << 6) | (1u << 7);
    info->os_saves_ymm = (xcr0 & kYmmState) == kYmmState;
    info->os_saves_zmm = (xcr0 & kZmmState) == kZmmState;
  }

  if (max_leaf >= 7) {
    const CpuidRegs leaf7 = cpuid(7, 0);
    info->avx2 = bit(leaf7.ebx, 5);
    info->avx512f = bit(leaf7.ebx, 16);
    info->avx512dq = bit(leaf7.ebx, 17);
    info->avx512bw = bit(leaf7.ebx, 30);
    info->avx512vl = bit(leaf7.ebx, 31);
    info->avx512vnni = bit(leaf7.ecx, 11);
    if (leaf7.eax >= 1) {  // leaf 7 EAX = highest subleaf
      const CpuidRegs leaf7_1 = cpuid(7, 1);
      info->avx_vnni = bit(leaf7_1.eax, 4);
    }
  }

  // Brand string: 48 bytes from leaves 0x80000002..0x80000004, NUL-padded.
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      const CpuidRegs r = cpuid(0x80000002u + i, 0);
      std::memcpy(brand + 16 * i + 0, &r.eax, 4);
      std::memcpy(brand + 16 * i + 4, &r.ebx, 4);
      std::memcpy(brand + 16 * i + 8, &r.ecx, 4);
      std::memcpy(brand + 16 * i + 12, &r.edx, 4);
    }
    info->brand = trim(brand);
  }
}

#endif  // SPARSIFY_X86

CpuInfo detect() {
  CpuInfo info;
#if SPARSIFY_X86
  detect_x86(&info);
#endif
  const unsigned cores = std::thread::hardware_concurrency();  // 0 when unknown
  info.logical_cores = cores == 0 ? 1 : static_cast<int>(cores);
  return info;
}

}  // namespace

const char* isa_name(Isa isa) {
  for (const IsaName& entry : kIsaNames) {
    if (entry.isa == isa) return entry.name;
  }
  return "unknown";
}

StatusOr<Isa> parse_isa(std::string_view name) {
  for (const IsaName& entry : kIsaNames) {
    if (equals_ignoring_case(name, entry.name)) return entry.isa;
  }
  return invalid_argument("unknown ISA level '", name, "'; valid values: ", valid_isa_names());
}

Isa CpuInfo::best_isa() const {
  const bool has_avx2 = avx2 && fma && f16c && os_saves_ymm;
  if (!has_avx2) return Isa::kScalar;
  const bool has_avx512 = avx512f && avx512bw && avx512dq && avx512vl && os_saves_zmm;
  if (!has_avx512) return Isa::kAvx2;
  if (!avx512vnni) return Isa::kAvx512;
  return Isa::kAvx512Vnni;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

Isa cap_isa(Isa detected, std::optional<Isa> env_ceiling, std::optional<Isa> ceiling) {
  Isa out = detected;
  if (env_ceiling) out = std::min(out, *env_ceiling);
  if (ceiling) out = std::min(out, *ceiling);
  return out;
}

StatusOr<Isa> effective_isa(std::optional<Isa> ceiling) {
  std::optional<Isa> env_ceiling;
  const char* env = std::getenv(kIsaEnvVar);
  if (env != nullptr && env[0] != '\0') {  // set but empty counts as unset, like `SPARSIFY_ISA= cmd`
    StatusOr<Isa> parsed = parse_isa(env);
    if (!parsed.ok()) return parsed.status().with_prefix(kIsaEnvVar);
    env_ceiling = *parsed;
  }
  return cap_isa(cpu_info().best_isa(), env_ceiling, ceiling);
}

std::string describe(const CpuInfo& info) {
  std::string out;
  if (!info.brand.empty()) {
    out = info.brand;
  } else if (!info.vendor.empty()) {
    out = info.vendor;
  } else {
    out = "unknown CPU";
  }
  out += " | ";
  out += isa_name(info.best_isa());
  out += " (";
  bool first = true;
  for (const FeatureName& feature : kFeatureNames) {
    if (!(info.*feature.flag)) continue;
    if (!first) out += ' ';
    out += feature.name;
    first = false;
  }
  if (first) out += "no SIMD features";
  out += ')';
  // A feature the OS does not enable is unusable; say so, or the chosen level looks like a bug.
  if (info.avx512f && !info.os_saves_zmm) {
    out += info.os_saves_ymm ? " (os: no zmm)" : " (os: no ymm, no zmm)";
  } else if (info.avx && !info.os_saves_ymm) {
    out += " (os: no ymm)";
  }
  out += str_cat(" | ", info.logical_cores, info.logical_cores == 1 ? " core" : " cores");
  return out;
}

}  // namespace sparsify::engine
