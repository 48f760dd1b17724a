# rb::torch: the compiled LibTorch glue. A SHARED library: operator registrations in a static
# archive are dropped by the linker, and a dispatch-key fallback may be registered only once per
# process, so every user of rb in a process must share one copy.
file(GLOB rb_torch_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/ops/*.cpp)
if(RB_CUDA)
  file(GLOB rb_torch_cuda_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cuda/*.cu)
  list(APPEND rb_torch_sources ${rb_torch_cuda_sources})
else()
  list(APPEND rb_torch_sources ${PROJECT_SOURCE_DIR}/cuda/fill_stub.cpp)
endif()

# The CPU kernels, once per instruction set. See Note [CPU instruction sets] in src/cpu/dispatch.cpp.
set(rb_cpu_dir ${PROJECT_SOURCE_DIR}/src/cpu)
list(APPEND rb_torch_sources ${rb_cpu_dir}/dispatch.cpp ${rb_cpu_dir}/fill_scalar.cpp
            ${rb_cpu_dir}/fill_avx2.cpp ${rb_cpu_dir}/fill_avx512.cpp)
set(rb_kernel_flags -O3 -fno-math-errno)  # errno-free sqrt vectorizes; results are unchanged
set_source_files_properties(${rb_cpu_dir}/fill_scalar.cpp PROPERTIES COMPILE_OPTIONS "${rb_kernel_flags}")
set_source_files_properties(${rb_cpu_dir}/fill_avx2.cpp PROPERTIES COMPILE_OPTIONS "${rb_kernel_flags};-mavx2")
set_source_files_properties(${rb_cpu_dir}/fill_avx512.cpp PROPERTIES COMPILE_OPTIONS
  "${rb_kernel_flags};-mavx512f;-mavx512dq;-mavx512bw;-mavx512vl;-mprefer-vector-width=512")

# rb's version, for the first line of a trace (src/trace_environment.cpp).
set_property(SOURCE ${PROJECT_SOURCE_DIR}/src/trace_environment.cpp APPEND PROPERTY
             COMPILE_DEFINITIONS "RB_VERSION=\"${PROJECT_VERSION}\"")

add_library(rb_torch SHARED ${rb_torch_sources})
add_library(rb::torch ALIAS rb_torch)
# The op kernels (src/ops/) all include ATen's operator headers, whose parsing is most of their
# compile time: they share one precompiled header of them. The other sources include little of
# torch (and the CPU kernels are compiled with other instruction sets), so they skip it.
target_precompile_headers(rb_torch PRIVATE <ATen/ATen.h> <ATen/Operators.h> <torch/library.h>)
set(rb_torch_without_pch ${rb_torch_sources})
list(FILTER rb_torch_without_pch EXCLUDE REGEX "/src/ops/")
set_source_files_properties(${rb_torch_without_pch} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
set_target_properties(rb_torch PROPERTIES
  EXPORT_NAME torch
  OUTPUT_NAME rb_torch
  CXX_VISIBILITY_PRESET default
  # The installed library finds torch's libraries where they are (INSTALL_RPATH_USE_LINK_PATH skips
  # link directories inside the source tree, such as CI's second torch in build-venv-torch/).
  INSTALL_RPATH "${TORCH_INSTALL_PREFIX}/lib"
  INSTALL_RPATH_USE_LINK_PATH ON
  POSITION_INDEPENDENT_CODE ON)
target_link_libraries(rb_torch PUBLIC rb_core ${TORCH_LIBRARIES})
# at::parallel_for is inline: with torch's OpenMP backend it only runs in parallel in code
# compiled with -fopenmp. The runtime must be torch's own: pip's torch ships its libgomp.so.1.
find_library(RB_TORCH_GOMP NAMES libgomp.so.1 PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH
             DOC "torch's OpenMP runtime")
if(RB_TORCH_GOMP)
  target_compile_options(rb_torch PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fopenmp>)
  target_link_libraries(rb_torch PRIVATE ${RB_TORCH_GOMP})
else()  # a torch that uses the system's runtime
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  target_link_libraries(rb_torch PRIVATE OpenMP::OpenMP_CXX)
endif()
target_compile_options(rb_torch PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)

# torch's CUDA half (c10_cuda) is used to ask whether a CUDA graph is being captured.
set(rb_torch_cuda 0)
if(TARGET torch_cuda)
  set(rb_torch_cuda 1)
endif()
target_compile_definitions(rb_torch PRIVATE RB_TORCH_CUDA=${rb_torch_cuda}
  PUBLIC RB_WITH_CUDA_KERNELS=$<BOOL:${RB_CUDA}>)

if(RB_CUDA)
  rb_cuda_target(rb_torch)
  target_link_libraries(rb_torch PRIVATE CUDA::cudart)
endif()

# pip's torch finds its CUDA libraries (NCCL, cuDNN, ...) in site-packages/nvidia/*/lib through an
# $ORIGIN RPATH; the linker resolving libtorch_cuda's own dependencies for an executable may
# instead meet the CUDA toolkit's older copies (an NCCL without the symbols torch needs). Point it
# at torch's.
file(GLOB rb_torch_nvidia_lib_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
if(rb_torch_nvidia_lib_dirs)
  list(JOIN rb_torch_nvidia_lib_dirs ":" rb_torch_nvidia_lib_path)
  target_link_options(rb_torch INTERFACE "LINKER:-rpath-link,${rb_torch_nvidia_lib_path}")
endif()
