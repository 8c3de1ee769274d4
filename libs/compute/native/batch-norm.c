/*
 * Batch norm on NHWC float32, forward (training and inference) and backward, as single fused passes.
 *
 * Why: TF.js builds a training batch norm from moments + FusedBatchNorm, and its gradient from about a
 * dozen element-wise kernels (Sub, Square, Multiply, RealDiv, Tile, Sum), each a full pass over the
 * activation on wasm's one 128-bit lane; on ResNet-10 w32 those were ~40 % of a training step. Here the
 * forward reads x twice (statistics, then y) and the backward reads x and dy twice, writing dx once.
 * Per-channel sums accumulate in double (like the cpu backend's reductions); the inner loops run over
 * channels, so the compiler vectorises them without reassociating any sum.
 */
#include "batch-norm.h"
#include <math.h>
#include <stdlib.h>

/* Per-channel affine y = x a + b, the one pass both forwards end with. */
static void affine(const float *x, const float *a, const float *b, long rows, int c, float *y) {
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c;
    float *yr = y + r * c;
    for (int k = 0; k < c; k++) yr[k] = xr[k] * a[k] + b[k];
  }
}

int batch_norm_train(const float *x, const float *gamma, const float *beta, float eps, long rows, int c, float *y,
                     float *mean, float *variance) {
  double *acc = (double *)calloc((size_t)c * 2, sizeof(double));
  float *ab = (float *)malloc(sizeof(float) * (size_t)c * 2);
  if (!acc || !ab) { free(acc); free(ab); return -1; }
  double *sum = acc, *sq = acc + c;
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c;
    for (int k = 0; k < c; k++) { sum[k] += xr[k]; sq[k] += (double)xr[k] * xr[k]; }
  }
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
  double *acc = (double *)calloc((size_t)c * 2, sizeof(double));
  float *coef = (float *)malloc(sizeof(float) * (size_t)c * 4);
  if (!acc || !coef) { free(acc); free(coef); return -1; }
  double *sdy = acc, *sdyx = acc + c; /* sum dy, sum dy (x - mean) */
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c, *dr = dy + r * c;
    for (int k = 0; k < c; k++) { sdy[k] += dr[k]; sdyx[k] += (double)dr[k] * (xr[k] - mean[k]); }
  }
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
  for (long r = 0; r < rows; r++) {
    const float *xr = x + r * c, *dr = dy + r * c;
    float *o = dx + r * c;
    for (int k = 0; k < c; k++) o[k] = dr[k] * p[k] + xr[k] * q[k] + s[k];
  }
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
