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

SIMD_CLONES static void relu_part(void *ctx, int part, int parts) {
  const Args *p = (const Args *)ctx;
  for (long i = start(p->n, part, parts), end = start(p->n, part + 1, parts); i < end; i++) {
    const float v = p->a[i];
    p->out[i] = v > 0.f ? v : (v != v ? v : 0.f);
  }
}

SIMD_CLONES static void add_part(void *ctx, int part, int parts) {
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

/* Sub and Multiply (and Add with a scalar): the optimizer's update (momentum: accum * m + g, value + c * accum
 * per variable) and the gradients' scalings are these, on one core in wasm. One loop per case so that
 * each vectorises; the same single float operation per element as wasm's, so the same values. */
typedef struct { const float *a, *b; float *out; long n; int op, a_one, b_one; } BinArgs;

#define BIN_LOOP(EXPR)                                                                           \
  for (long i = start(p->n, part, parts), end = start(p->n, part + 1, parts); i < end; i++) { \
    p->out[i] = (EXPR);                                                                      \
  }
#define BIN_CASES(OP)                                              \
  if (p->a_one) { const float x = p->a[0]; BIN_LOOP(x OP p->b[i]) } \
  else if (p->b_one) { const float y = p->b[0]; BIN_LOOP(p->a[i] OP y) } \
  else { BIN_LOOP(p->a[i] OP p->b[i]) }

SIMD_CLONES static void binary_part(void *ctx, int part, int parts) {
  const BinArgs *p = (const BinArgs *)ctx;
  if (p->op == BINARY_ADD) { BIN_CASES(+) }
  else if (p->op == BINARY_SUB) { BIN_CASES(-) }
  else { BIN_CASES(*) }
}

void binary_op(int op, const float *a, long na, const float *b, long nb, float *out, long n) {
  BinArgs p = {a, b, out, n, op, na == 1 && n != 1, nb == 1 && n != 1};
  parallel_run(parallel_parts(n), binary_part, &p);
}
