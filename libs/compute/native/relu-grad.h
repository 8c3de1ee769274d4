/* ReLU's gradient in one pass (relu-grad.c). */
#ifndef SELFTRAIN_RELU_GRAD_H
#define SELFTRAIN_RELU_GRAD_H
/* dx[i] = dy[i] * step(x[i]): dy where x > 0, 0 x dy where x <= 0, NaN where x is NaN (as TF.js). */
void relu_grad(const float *dy, const float *x, long n, float *dx);
#endif
