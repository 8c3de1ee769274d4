/*
 * ReLU and the residual Add as native passes. Why: once the convs and batch norm run on the native
 * threads, these wasm kernels are what a step on 2 threads still runs on one core (each a full pass over
 * an activation; a ResNet has a ReLU after every batch norm and an Add per block). Split over the native
 * threads like batch norm (parallel.h); on one thread they are the same loop as wasm's, with the same values.
 */
#include "eltwise.h"
#include "parallel.h"
#include <stddef.h>

typedef struct { const float *a, *b; float *out; long n; } Args;

static long start(long n, int part, int parts) { return (long)((double)n * part / parts); }

static void relu_part(void *ctx, int part, int parts) {
  const Args *p = (const Args *)ctx;
  for (long i = start(p->n, part, parts), end = start(p->n, part + 1, parts); i < end; i++) {
    const float v = p->a[i];
    p->out[i] = v > 0.f ? v : (v != v ? v : 0.f);
  }
}

static void add_part(void *ctx, int part, int parts) {
  const Args *p = (const Args *)ctx;
  for (long i = start(p->n, part, parts), end = start(p->n, part + 1, parts); i < end; i++) p->out[i] = p->a[i] + p->b[i];
}

void relu_forward(const float *x, long n, float *y) {
  Args a = {x, NULL, y, n};
  parallel_run(parallel_parts(n), relu_part, &a);
}

void add_same(const float *a, const float *b, long n, float *out) {
  Args p = {a, b, out, n};
  parallel_run(parallel_parts(n), add_part, &p);
}
