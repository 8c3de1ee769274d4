/* Batch norm over the channels of NHWC data (rows = every pixel of every image), for batch-norm.c. */
#ifndef SELFTRAIN_BATCH_NORM_H
#define SELFTRAIN_BATCH_NORM_H
/* Training forward: mean, variance (biased, over rows) of x[rows, c], then y = (x - mean) rstd gamma + beta.
 * 0, or -1 when out of memory. */
int batch_norm_train(const float *x, const float *gamma, const float *beta, float eps, long rows, int c, float *y,
                     float *mean, float *variance);
/* Its gradient given the batch's mean and variance: dx, dgamma, dbeta. 0, or -1 when out of memory. */
int batch_norm_grad(const float *x, const float *dy, const float *gamma, const float *mean, const float *variance,
                    float eps, long rows, int c, float *dx, float *dgamma, float *dbeta);
/* Inference: y = (x - mean) rsqrt(variance + eps) scale + offset; scale/offset may be NULL (1 and 0).
 * 0, or -1 when out of memory. */
int batch_norm_infer(const float *x, const float *mean, const float *variance, const float *scale,
                     const float *offset, float eps, long rows, int c, float *y);
#endif
