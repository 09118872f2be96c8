# Third-party packages, all from Debian 12. The engine and zoo client use none of the Torch ones.

find_package(yaml-cpp 0.7 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 2 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(Threads REQUIRED)
if(SPARSIFY_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()

if(SPARSIFY_WITH_TORCH)
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    message(WARNING "sparsify: LibTorch not found; training and export are not built")
    set(SPARSIFY_WITH_TORCH OFF)
  endif()
endif()
