/*
 * Batch norm on NHWC float32, forward (training and inference) and backward, as single fused passes.
 *
 * Why: TF.js builds a training batch norm from moments + FusedBatchNorm, and its gradient from about a
 * dozen element-wise kernels (Sub, Square, Multiply, RealDiv, Tile, Sum), each a full pass over the
 * activation on wasm's one 128-bit lane; on ResNet-10 w32 those were ~40 % of a training step. Here the
 * forward reads x twice (statistics, then y) and the backward reads x and dy twice, writing dx once.
 * Per-channel sums accumulate in double (like the cpu backend's reductions); the inner loops run over
 * channels, so the compiler vectorises them without reassociating any sum.
 * On more than one native thread (parallel.h) each pass splits its rows into one part per thread; the
 * sums add the parts' partial sums in part order, so a result depends on the thread setting only (and on
 * one thread is the plain serial sum).
 */
#include "batch-norm.h"
#include "parallel.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static long part_start(long rows, int part, int parts) { return (long)((double)rows * part / parts); }

/* One pass's arguments, shared by its parts. */
typedef struct {
  const float *x, *dy, *a, *b, *q, *s, *mean;
  float *y;
  double *acc; /* parts x stride partial sums (2c each) */
  size_t stride;
  long rows;
  int c;
} Pass;

/* y = x a + b per channel over the part's rows: the one pass both forwards end with */
SIMD_CLONES static void affine_part(void *ctx, int part, int parts) {
  const Pass *p = (const Pass *)ctx;
  const int c = p->c;
  for (long r = part_start(p->rows, part, parts), end = part_start(p->rows, part + 1, parts); r < end; r++) {
    const float *xr = p->x + r * c;
    float *yr = p->y + r * c;
    for (int k = 0; k < c; k++) yr[k] = xr[k] * p->a[k] + p->b[k];
  }
}

static void affine(const float *x, const float *a, const float *b, long rows, int c, float *y) {
  Pass p = {.x = x, .a = a, .b = b, .y = y, .rows = rows, .c = c};
  parallel_run(parallel_parts(rows * c), affine_part, &p);
}

/* sum x and sum x^2 per channel over the part's rows */
SIMD_CLONES static void moments_part(void *ctx, int part, int parts) {
  const Pass *p = (const Pass *)ctx;
  const int c = p->c;
  double *sum = p->acc + (size_t)part * p->stride, *sq = sum + c;
  for (long r = part_start(p->rows, part, parts), end = part_start(p->rows, part + 1, parts); r < end; r++) {
    const float *xr = p->x + r * c;
    for (int k = 0; k < c; k++) { sum[k] += xr[k]; sq[k] += (double)xr[k] * xr[k]; }
  }
}

/* sum dy and sum dy (x - mean) per channel over the part's rows */
SIMD_CLONES static void grad_sums_part(void *ctx, int part, int parts) {
  const Pass *p = (const Pass *)ctx;
  const int c = p->c;
  double *sdy = p->acc + (size_t)part * p->stride, *sdyx = sdy + c;
  for (long r = part_start(p->rows, part, parts), end = part_start(p->rows, part + 1, parts); r < end; r++) {
    const float *xr = p->x + r * c, *dr = p->dy + r * c;
    for (int k = 0; k < c; k++) { sdy[k] += dr[k]; sdyx[k] += (double)dr[k] * (xr[k] - p->mean[k]); }
  }
}

/* dx = dy p + x q + s per channel over the part's rows */
SIMD_CLONES static void grad_out_part(void *ctx, int part, int parts) {
  const Pass *p = (const Pass *)ctx;
  const int c = p->c;
  for (long r = part_start(p->rows, part, parts), end = part_start(p->rows, part + 1, parts); r < end; r++) {
    const float *xr = p->x + r * c, *dr = p->dy + r * c;
    float *o = p->y + r * c;
    for (int k = 0; k < c; k++) o[k] = dr[k] * p->a[k] + xr[k] * p->q[k] + p->s[k];
  }
}

/* Doubles per cache line. Each part's partial sums start on a line of their own: where two parts' sums
 * shared one (calloc aligns to 16 bytes, so that depended on the address), every row's update of it went
 * back and forth between the cores, and the pass ran slower on 2 threads than on 1 (batch 128 x 32 x 32
 * x 32, forward: 3.4-3.8 ms on 2 threads against 1.9-2.4 on 1; with the padding 1.1-1.4 ms). */
static const size_t LINE = 64 / sizeof(double);

/* Runs a sums pass; afterwards acc[0 .. 2c) holds the totals, added in part order. */
static int sums(Pass *p, void (*body)(void *, int, int)) {
  const int parts = parallel_parts(p->rows * p->c);
  p->stride = ((size_t)2 * p->c + LINE - 1) / LINE * LINE;
  const size_t bytes = (size_t)parts * p->stride * sizeof(double);
  p->acc = (double *)aligned_alloc(64, bytes);
  if (!p->acc) return -1;
  memset(p->acc, 0, bytes);
  parallel_run(parts, body, p);
  for (int part = 1; part < parts; part++)
    for (int k = 0; k < 2 * p->c; k++) p->acc[k] += p->acc[(size_t)part * p->stride + k];
  return 0;
}

int batch_norm_train(const float *x, const float *gamma, const float *beta, float eps, long rows, int c, float *y,
                     float *mean, float *variance) {
  Pass pass = {.x = x, .rows = rows, .c = c};
  float *ab = (float *)malloc(sizeof(float) * (size_t)c * 2);
  if (!ab || sums(&pass, moments_part)) { free(pass.acc); free(ab); return -1; }
  double *acc = pass.acc, *sum = acc, *sq = acc + c;
  for (int k = 0; k < c; k++) {
    const double m = sum[k] / (double)rows, v = sq[k] / (double)rows - m * m;
    mean[k] = (float)m;
    variance[k] = (float)(v > 0 ? v : 0);
    const double a = (gamma ? gamma[k] : 1.0) / sqrt((double)variance[k] + eps);
    ab[k] = (float)a;
    ab[c + k] = (float)((beta ? beta[k] : 0.0) - m * a);
  }
  affine(x, ab, ab + c, rows, c, y);
  free(acc);
  free(ab);
  return 0;
}

int batch_norm_grad(const float *x, const float *dy, const float *gamma, const float *mean, const float *variance,
                    float eps, long rows, int c, float *dx, float *dgamma, float *dbeta) {
  Pass pass = {.x = x, .dy = dy, .mean = mean, .rows = rows, .c = c};
  float *coef = (float *)malloc(sizeof(float) * (size_t)c * 4);
  if (!coef || sums(&pass, grad_sums_part)) { free(pass.acc); free(coef); return -1; }
  double *acc = pass.acc, *sdy = acc, *sdyx = acc + c; /* sum dy, sum dy (x - mean) */
  /* dx = gamma rstd (dy - mean(dy) - (x - mean) rstd^2 mean(dy (x - mean))) = dy p + x q + s */
  float *p = coef, *q = coef + c, *s = coef + 2 * c;
  for (int k = 0; k < c; k++) {
    const double rstd = 1.0 / sqrt((double)variance[k] + eps), g = gamma ? gamma[k] : 1.0;
    dbeta[k] = (float)sdy[k];
    dgamma[k] = (float)(sdyx[k] * rstd);
    const double mdy = sdy[k] / (double)rows, mdyx = sdyx[k] / (double)rows;
    p[k] = (float)(g * rstd);
    q[k] = (float)(-g * rstd * rstd * rstd * mdyx);
    s[k] = (float)(-g * rstd * mdy + g * rstd * rstd * rstd * mdyx * mean[k]);
  }
  pass.a = p;
  pass.q = q;
  pass.s = s;
  pass.y = dx;
  parallel_run(parallel_parts(rows * c), grad_out_part, &pass);
  free(acc);
  free(coef);
  return 0;
}

int batch_norm_infer(const float *x, const float *mean, const float *variance, const float *scale,
                     const float *offset, float eps, long rows, int c, float *y) {
  float *ab = (float *)malloc(sizeof(float) * (size_t)c * 2);
  if (!ab) return -1;
  for (int k = 0; k < c; k++) {
    const double a = (scale ? scale[k] : 1.0) / sqrt((double)variance[k] + eps);
    ab[k] = (float)a;
    ab[c + k] = (float)((offset ? offset[k] : 0.0) - mean[k] * a);
  }
  affine(x, ab, ab + c, rows, c, y);
  free(ab);
  return 0;
}
