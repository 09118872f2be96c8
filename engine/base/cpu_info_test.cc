// Tests for CPU feature detection, ISA parsing and the SPARSIFY_ISA / option ceilings.
#include "engine/base/cpu_info.h"

#include <stdlib.h>  // setenv, unsetenv (POSIX)

#include <catch2/catch.hpp>
#include <optional>
#include <string>

namespace sparsify::engine {
namespace {

constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni};

// Sets (or unsets) an environment variable for one scope and restores the previous state.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::string(old);
    if (value != nullptr) {
      ::setenv(name, value, /*overwrite=*/1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), /*overwrite=*/1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A CPU with every feature the kernels use and full OS support for ZMM state.
CpuInfo full_avx512vnni_cpu() {
  CpuInfo info;
  info.sse42 = info.avx = info.avx2 = info.fma = info.f16c = true;
  info.avx512f = info.avx512bw = info.avx512dq = info.avx512vl = info.avx512vnni = true;
  info.os_saves_ymm = info.os_saves_zmm = true;
  return info;
}

}  // namespace

TEST_CASE("isa_name and parse_isa round trip") {
  for (Isa isa : kAllIsas) {
    StatusOr<Isa> parsed = parse_isa(isa_name(isa));
    REQUIRE(parsed.ok());
    CHECK(*parsed == isa);
  }
  CHECK(std::string(isa_name(Isa::kScalar)) == "scalar");
  CHECK(std::string(isa_name(Isa::kAvx2)) == "avx2");
  CHECK(std::string(isa_name(Isa::kAvx512)) == "avx512");
  CHECK(std::string(isa_name(Isa::kAvx512Vnni)) == "avx512vnni");
}

TEST_CASE("parse_isa is case-insensitive") {
  CHECK(*parse_isa("AVX2") == Isa::kAvx2);
  CHECK(*parse_isa("Avx512") == Isa::kAvx512);
  CHECK(*parse_isa("AVX512VNNI") == Isa::kAvx512Vnni);
  CHECK(*parse_isa("Scalar") == Isa::kScalar);
}

TEST_CASE("parse_isa rejects unknown names and lists the valid ones") {
  for (const char* bad : {"bogus", "", "avx", "avx-512", " avx2", "avx2 ", "avx512_vnni"}) {
    INFO("input '" << bad << "'");
    StatusOr<Isa> parsed = parse_isa(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
    const std::string& message = parsed.status().message();
    CHECK(message.find(std::string("'") + bad + "'") != std::string::npos);
    CHECK(message.find("scalar, avx2, avx512, avx512vnni") != std::string::npos);
  }
}

TEST_CASE("cap_isa table") {
  struct Row {
    Isa detected;
    std::optional<Isa> env_ceiling;
    std::optional<Isa> ceiling;
    Isa expected;
  };
  const Row rows[] = {
      {Isa::kAvx512Vnni, std::nullopt, std::nullopt, Isa::kAvx512Vnni},
      {Isa::kAvx512Vnni, Isa::kAvx2, std::nullopt, Isa::kAvx2},
      {Isa::kAvx512Vnni, std::nullopt, Isa::kAvx512, Isa::kAvx512},
      {Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2, Isa::kAvx2},
      {Isa::kAvx512Vnni, Isa::kAvx2, Isa::kAvx512, Isa::kAvx2},
      {Isa::kAvx512Vnni, Isa::kScalar, Isa::kAvx512Vnni, Isa::kScalar},
      {Isa::kAvx2, Isa::kAvx512Vnni, std::nullopt, Isa::kAvx2},  // a ceiling never raises
      {Isa::kAvx2, std::nullopt, Isa::kAvx512, Isa::kAvx2},
      {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvx2},
      {Isa::kScalar, Isa::kAvx512Vnni, Isa::kAvx512Vnni, Isa::kScalar},
      {Isa::kAvx512, Isa::kAvx512, Isa::kAvx512, Isa::kAvx512},
  };
  for (const Row& row : rows) {
    INFO("detected " << isa_name(row.detected) << ", env "
                     << (row.env_ceiling ? isa_name(*row.env_ceiling) : "unset") << ", option "
                     << (row.ceiling ? isa_name(*row.ceiling) : "unset"));
    CHECK(cap_isa(row.detected, row.env_ceiling, row.ceiling) == row.expected);
  }
}

TEST_CASE("cap_isa over every combination is the minimum of what is given") {
  std::optional<Isa> ceilings[] = {std::nullopt, Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni};
  for (Isa detected : kAllIsas) {
    for (std::optional<Isa> env_ceiling : ceilings) {
      for (std::optional<Isa> ceiling : ceilings) {
        Isa expected = detected;
        if (env_ceiling && *env_ceiling < expected) expected = *env_ceiling;
        if (ceiling && *ceiling < expected) expected = *ceiling;
        const Isa got = cap_isa(detected, env_ceiling, ceiling);
        CHECK(got == expected);
        CHECK(got <= detected);
      }
    }
  }
}

TEST_CASE("best_isa on hand-made CpuInfo values") {
  SECTION("nothing gives scalar") { CHECK(CpuInfo().best_isa() == Isa::kScalar); }
  SECTION("everything gives avx512vnni") { CHECK(full_avx512vnni_cpu().best_isa() == Isa::kAvx512Vnni); }
  SECTION("avx512 without vnni gives avx512") {
    CpuInfo info = full_avx512vnni_cpu();
    info.avx512vnni = false;
    CHECK(info.best_isa() == Isa::kAvx512);
  }
  SECTION("VEX avx_vnni alone does not lift avx512 to avx512vnni") {
    CpuInfo info = full_avx512vnni_cpu();
    info.avx512vnni = false;
    info.avx_vnni = true;
    CHECK(info.best_isa() == Isa::kAvx512);
  }
  SECTION("avx512f without OS zmm support gives avx2") {
    CpuInfo info = full_avx512vnni_cpu();
    info.os_saves_zmm = false;
    CHECK(info.best_isa() == Isa::kAvx2);
  }
  SECTION("each missing avx512 subset gives avx2") {
    for (bool CpuInfo::*flag : {&CpuInfo::avx512f, &CpuInfo::avx512bw, &CpuInfo::avx512dq, &CpuInfo::avx512vl}) {
      CpuInfo info = full_avx512vnni_cpu();
      info.*flag = false;
      CHECK(info.best_isa() == Isa::kAvx2);
    }
  }
  SECTION("avx2 without OS ymm support gives scalar") {
    CpuInfo info = full_avx512vnni_cpu();
    info.os_saves_ymm = false;
    info.os_saves_zmm = false;
    CHECK(info.best_isa() == Isa::kScalar);
  }
  SECTION("each missing avx2-level feature gives scalar, even with avx512") {
    for (bool CpuInfo::*flag : {&CpuInfo::avx2, &CpuInfo::fma, &CpuInfo::f16c}) {
      CpuInfo info = full_avx512vnni_cpu();
      info.*flag = false;
      CHECK(info.best_isa() == Isa::kScalar);
    }
  }
}

TEST_CASE("describe marks features the OS does not enable") {
  CpuInfo info = full_avx512vnni_cpu();
  info.brand = "Test CPU";
  info.logical_cores = 1;
  CHECK(describe(info) ==
        "Test CPU | avx512vnni (sse4.2 avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl avx512vnni) | 1 core");
  info.os_saves_zmm = false;
  info.logical_cores = 8;
  CHECK(describe(info) ==
        "Test CPU | avx2 (sse4.2 avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl avx512vnni) (os: no zmm) | 8 cores");
  CHECK(describe(CpuInfo()) == "unknown CPU | scalar (no SIMD features) | 1 core");
}

TEST_CASE("this machine: detection") {
  const CpuInfo& info = cpu_info();
  WARN("cpu: " << describe(info));
  CHECK(&info == &cpu_info());  // detected once
  CHECK(info.logical_cores >= 1);
#if defined(__x86_64__) || defined(__i386__)
  // The build and CI machines have AVX-512 with VNNI; an older runner would fail here by design.
  CHECK(!info.vendor.empty());
  CHECK(info.avx2);
  CHECK(info.fma);
  CHECK(info.os_saves_ymm);
  CHECK(info.best_isa() >= Isa::kAvx2);
#endif
}

TEST_CASE("this machine: effective_isa and SPARSIFY_ISA") {
  const Isa best = cpu_info().best_isa();

  SECTION("unset: the detected level") {
    ScopedEnv env("SPARSIFY_ISA", nullptr);
    StatusOr<Isa> isa = effective_isa();
    REQUIRE(isa.ok());
    CHECK(*isa == best);
  }
  SECTION("empty counts as unset") {
    ScopedEnv env("SPARSIFY_ISA", "");
    StatusOr<Isa> isa = effective_isa();
    REQUIRE(isa.ok());
    CHECK(*isa == best);
  }
  SECTION("unset with an option ceiling") {
    ScopedEnv env("SPARSIFY_ISA", nullptr);
    StatusOr<Isa> isa = effective_isa(Isa::kScalar);
    REQUIRE(isa.ok());
    CHECK(*isa == Isa::kScalar);
  }
  SECTION("avx2 caps it") {
    ScopedEnv env("SPARSIFY_ISA", "avx2");
    StatusOr<Isa> isa = effective_isa();
    REQUIRE(isa.ok());
    CHECK(*isa == std::min(best, Isa::kAvx2));
#if defined(__x86_64__) || defined(__i386__)
    CHECK(*isa == Isa::kAvx2);
#endif
  }
  SECTION("AVX512 in capitals, lowered further by the option ceiling") {
    ScopedEnv env("SPARSIFY_ISA", "AVX512");
    StatusOr<Isa> isa = effective_isa(Isa::kAvx2);
    REQUIRE(isa.ok());
    CHECK(*isa == std::min(best, Isa::kAvx2));
  }
  SECTION("a higher env value never raises above the detected level") {
    ScopedEnv env("SPARSIFY_ISA", "avx512vnni");
    StatusOr<Isa> isa = effective_isa();
    REQUIRE(isa.ok());
    CHECK(*isa == best);
  }
  SECTION("bogus is an invalid_argument error naming the variable and the valid values") {
    ScopedEnv env("SPARSIFY_ISA", "bogus");
    StatusOr<Isa> isa = effective_isa();
    REQUIRE_FALSE(isa.ok());
    CHECK(isa.status().code() == StatusCode::kInvalidArgument);
    const std::string& message = isa.status().message();
    CHECK(message.find("SPARSIFY_ISA") != std::string::npos);
    CHECK(message.find("'bogus'") != std::string::npos);
    CHECK(message.find("scalar, avx2, avx512, avx512vnni") != std::string::npos);
    WARN("error text: " << isa.status().to_string());
  }
  SECTION("the guard restores a previous value") {
    ScopedEnv outer("SPARSIFY_ISA", "scalar");
    {
      ScopedEnv inner("SPARSIFY_ISA", "bogus");
    }
    const char* value = std::getenv("SPARSIFY_ISA");
    REQUIRE(value != nullptr);
    CHECK(std::string(value) == "scalar");
    CHECK(*effective_isa() == Isa::kScalar);
  }
}

}  // namespace sparsify::engine
