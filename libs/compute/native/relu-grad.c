/*
 * ReLU's gradient as one pass. Why: TF.js writes it as mul(dy, cast(step(x))), two full passes on wasm
 * (Step, Multiply) per ReLU, and a ResNet has one after every batch norm. Same values as TF.js's: the
 * product with step(x), which is 1 for x > 0, 0 for x <= 0 and NaN for NaN, so 0 x inf stays NaN.
 */
#include "relu-grad.h"
#include "parallel.h"

typedef struct { const float *dy, *x; float *dx; long n; } Args;

SIMD_CLONES static void part_body(void *ctx, int part, int parts) {
  const Args *a = (const Args *)ctx;
  const long end = (long)((double)a->n * (part + 1) / parts);
  for (long i = (long)((double)a->n * part / parts); i < end; i++) {
    const float s = a->x[i] > 0.f ? 1.f : (a->x[i] != a->x[i] ? a->x[i] : 0.f);
    a->dx[i] = a->dy[i] * s;
  }
}

/* On more than one native thread, split into one part per thread (parallel.h). */
void relu_grad(const float *dy, const float *x, long n, float *dx) {
  Args a = {dy, x, dx, n};
  parallel_run(parallel_parts(n), part_body, &a);
}
