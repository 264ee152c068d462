/* The kernels for any CPU of the platform: only the compiler's baseline
 * instruction set (SSE2 on x86-64, NEON on arm64). */
#define PYBP_ISA generic
#include "instantiate.h"
