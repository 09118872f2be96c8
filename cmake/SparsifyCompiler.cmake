# Compiler settings shared by every target: warnings, ccache, sanitizers, per-ISA flag sets.

find_program(SPARSIFY_CCACHE ccache)
if(SPARSIFY_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${SPARSIFY_CCACHE}")
  message(STATUS "sparsify: using ccache ${SPARSIFY_CCACHE}")
endif()

add_library(sparsify_warnings INTERFACE)
target_compile_options(sparsify_warnings INTERFACE -Wall -Wextra)

if(SPARSIFY_SANITIZE)
  message(STATUS "sparsify: AddressSanitizer + UndefinedBehaviorSanitizer build")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Flag sets for ISA-quarantined translation units (one TU per kernel family and ISA; see HOUSE_STYLE).
set(SPARSIFY_FLAGS_AVX2 -mavx2 -mfma -mf16c)
set(SPARSIFY_FLAGS_AVX512 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma)
set(SPARSIFY_FLAGS_AVX512VNNI ${SPARSIFY_FLAGS_AVX512} -mavx512vnni)

# sparsify_add_test(NAME SOURCES... LIBS ...): a Catch2 test executable registered with ctest.
function(sparsify_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Catch2::Catch2WithMain sparsify_warnings)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
