// Compiler glue shared by host and device code: RB_HOST_DEVICE and rb's feature flags.
// Flags are tested with `#if RB_X`, never `#ifdef`, as Random123 does.
#pragma once

#if defined(__CUDACC__)
/// Marks a function callable from host and device code (`__host__ __device__` under nvcc).
#define RB_HOST_DEVICE __host__ __device__
#else
#define RB_HOST_DEVICE
#endif

#if defined(__CUDA_ARCH__)
/// 1 while compiling device code.
#define RB_DEVICE_CODE 1
#else
#define RB_DEVICE_CODE 0
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define RB_FORCE_INLINE __forceinline
#else
/// Inline even at -O0, so that the golden tests at every optimisation level run the same code.
#define RB_FORCE_INLINE inline __attribute__((always_inline))
#endif
