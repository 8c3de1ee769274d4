/* Element-wise passes the ResNets run between convs (eltwise.c). */
#ifndef SELFTRAIN_ELTWISE_H
#define SELFTRAIN_ELTWISE_H
/* y = max(0, x) as TF.js's cpu backend computes it: NaN stays NaN, -0 becomes 0 */
void relu_forward(const float *x, long n, float *y);
/* out = a + b, all of one length */
void add_same(const float *a, const float *b, long n, float *out);
/* out = a op b over n floats; a (na) and b (nb) each n long or a single value */
enum { BINARY_ADD = 0, BINARY_SUB = 1, BINARY_MUL = 2 };
void binary_op(int op, const float *a, long na, const float *b, long nb, float *out, long n);
#endif
