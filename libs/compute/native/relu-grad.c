/*
 * ReLU's gradient as one pass. Why: TF.js writes it as mul(dy, cast(step(x))), two full passes on wasm
 * (Step, Multiply) per ReLU, and a ResNet has one after every batch norm. Same values as TF.js's: the
 * product with step(x), which is 1 for x > 0, 0 for x <= 0 and NaN for NaN, so 0 x inf stays NaN.
 */
#include "relu-grad.h"

void relu_grad(const float *dy, const float *x, long n, float *dx) {
  for (long i = 0; i < n; i++) {
    const float s = x[i] > 0.f ? 1.f : (x[i] != x[i] ? x[i] : 0.f);
    dx[i] = dy[i] * s;
  }
}
