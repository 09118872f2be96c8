// Invariant checks: a broken invariant is a bug, so it aborts with file:line (never for bad input).
#pragma once

#include <cstdio>
#include <cstdlib>

#define SPARSIFY_CHECK(cond)                                                              \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: sparsify check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#ifdef NDEBUG
#define SPARSIFY_DCHECK(cond) \
  do {                        \
  } while (0)
#else
#define SPARSIFY_DCHECK(cond) SPARSIFY_CHECK(cond)
#endif
