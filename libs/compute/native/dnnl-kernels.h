/* The oneDNN kernels (dnnl-kernels.c): convs on Intel's oneDNN, opened at run time like OpenBLAS. */
#ifndef SELFTRAIN_DNNL_KERNELS_H
#define SELFTRAIN_DNNL_KERNELS_H
#include "geometry.h"

/* Opens libdnnl.so.2 once; 1 when usable, else 0 and dnnl_unavailable() says why. */
int dnnl_load(void);
const char *dnnl_unavailable(void);
/* oneDNN's version, e.g. "2.6.3" */
const char *dnnl_version_string(void);
/* which: 0 forward (x, W -> y, + bias, ReLU), 1 filter gradient (x, dy -> dW), 2 input gradient (dy, W -> dx).
 * 0 on success; else -1 and dnnl_last_error() says what failed. */
int dnnl_conv(int which, const float *a, const float *b, float *out, const Geom *g, const float *bias, int relu);
const char *dnnl_last_error(void);
/* The implementation oneDNN picked for the last dnnl_conv call on this thread (e.g. brgconv:avx512_core). */
const char *dnnl_last_impl(void);
/* Its threads per call: parallel_set_threads (parallel.h). */
#endif
