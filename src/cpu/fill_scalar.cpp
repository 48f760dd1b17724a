// rb's CPU kernels compiled for the scalar instruction set (flags in cmake/rb_torch.cmake).
#define RB_ISA scalar
#include "fill_kernels.hpp"
#include "sort_kernels.hpp"
