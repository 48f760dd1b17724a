// rb's CPU kernels compiled for the avx2 instruction set (flags in cmake/rb_torch.cmake).
#define RB_ISA avx2
#include "fill_kernels.hpp"
#include "sort_kernels.hpp"
