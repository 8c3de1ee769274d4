/*
 * selftrain's native CPU kernels: the GEMM-shaped training kernels (conv forward, both conv gradients,
 * batched matmul) on OpenBLAS, for the wasm backend in Node.
 *
 * Why: wasm in Node runs 128-bit SIMD on one thread; OpenBLAS's AVX2/AVX-512 sgemm is about 4x faster per
 * core on the shapes of the zoo's convs (measured 40-50 against 10-12 GMAC/s here). Tensors stay on the wasm
 * heap: the JS side passes Float32Array views of it and this code reads and writes them in place.
 *
 * OpenBLAS is opened with dlopen at load, so this file builds with only a C compiler and Node's headers;
 * without libopenblas.so.0 the addon loads and says so (`available` false) and the wasm kernels stay in use.
 * OpenBLAS runs one thread per call: training already runs one replica per core (worker threads), and
 * each calls in here concurrently (OpenBLAS's documented use from a multi-threaded program).
 *
 * Geometry (NHWC, dilation 1), an Int32Array of 13: b h w ci ho wo co fh fw sh sw top left.
 * im2col rows are output pixels n = (b, y, x); columns k = (i, j, c), so cols is [N, fh*fw*ci] and
 * conv = cols x W[K, co]. Work goes in chunks of output rows so the scratch buffer stays small.
 */
#include <node_api.h>
#include "batch-norm.h"
#include "relu-grad.h"
#include "eltwise.h"
#include "dnnl-kernels.h"
#include "parallel.h"
#include <dlfcn.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
static sgemm_fn sgemm;
static const char *blas_error = "not loaded";
static char core_name[64] = "unknown";

/* Per-thread scratch for im2col columns (each worker thread has its own). */
static __thread float *scratch;
static __thread size_t scratch_len;
static const size_t CHUNK_FLOATS = (size_t)2 << 20; /* 8 MiB of columns per GEMM */

static float *scratch_for(size_t n) {
  if (n > scratch_len) {
    free(scratch);
    scratch = (float *)malloc(n * sizeof(float));
    scratch_len = scratch ? n : 0;
  }
  return scratch;
}

static void im2col_rows(const float *x, float *cols, const Geom *g, long n0, long n1) {
  const long K = (long)g->fh * g->fw * g->ci;
  for (long n = n0; n < n1; n++) {
    const long bi = n / ((long)g->ho * g->wo), rem = n % ((long)g->ho * g->wo);
    const int y = (int)(rem / g->wo), xo = (int)(rem % g->wo);
    float *row = cols + (n - n0) * K;
    for (int i = 0; i < g->fh; i++) {
      const int yy = y * g->sh + i - g->top;
      for (int j = 0; j < g->fw; j++) {
        const int xx = xo * g->sw + j - g->left;
        float *dst = row + ((long)i * g->fw + j) * g->ci;
        const int inside = yy >= 0 && yy < g->h && xx >= 0 && xx < g->w;
        if (g->ci == 1) dst[0] = inside ? x[(bi * g->h + yy) * g->w + xx] : 0.f; /* the image layer */
        else if (!inside) memset(dst, 0, sizeof(float) * g->ci);
        else memcpy(dst, x + ((bi * g->h + yy) * g->w + xx) * g->ci, sizeof(float) * g->ci);
      }
    }
  }
}

static void col2im_add_rows(const float *cols, float *dx, const Geom *g, long n0, long n1) {
  const long K = (long)g->fh * g->fw * g->ci;
  for (long n = n0; n < n1; n++) {
    const long bi = n / ((long)g->ho * g->wo), rem = n % ((long)g->ho * g->wo);
    const int y = (int)(rem / g->wo), xo = (int)(rem % g->wo);
    const float *row = cols + (n - n0) * K;
    for (int i = 0; i < g->fh; i++) {
      const int yy = y * g->sh + i - g->top;
      if (yy < 0 || yy >= g->h) continue;
      for (int j = 0; j < g->fw; j++) {
        const int xx = xo * g->sw + j - g->left;
        if (xx < 0 || xx >= g->w) continue;
        const float *src = row + ((long)i * g->fw + j) * g->ci;
        float *dst = dx + ((bi * g->h + yy) * g->w + xx) * g->ci;
        for (int c = 0; c < g->ci; c++) dst[c] += src[c];
      }
    }
  }
}

/* A 1x1, stride-1, unpadded conv reads x as its own column matrix. */
static int is_pointwise(const Geom *g) {
  return g->fh == 1 && g->fw == 1 && g->sh == 1 && g->sw == 1 && g->top == 0 && g->left == 0 &&
         g->ho == g->h && g->wo == g->w;
}

static long chunk_rows(long K) {
  long r = (long)(CHUNK_FLOATS / (size_t)K);
  return r < 1 ? 1 : r;
}

/* The fused conv's epilogue on rows [n0, n1): + bias (if any), then ReLU (if relu); inference's FusedConv2D. */
static void bias_act_rows(float *y, int co, long n0, long n1, const float *bias, int relu) {
  if (!bias && !relu) return;
  for (long n = n0; n < n1; n++) {
    float *row = y + n * co;
    if (bias) for (int c = 0; c < co; c++) row[c] += bias[c];
    if (relu) for (int c = 0; c < co; c++) row[c] = row[c] > 0.f ? row[c] : 0.f;
  }
}

/* y[N, co] = cols(x) x W[K, co], then the epilogue */
static int conv_forward(const float *x, const float *w, float *y, const Geom *g, const float *bias, int relu) {
  const long N = (long)g->b * g->ho * g->wo, K = (long)g->fh * g->fw * g->ci;
  if (is_pointwise(g)) {
    sgemm(RowMajor, NoTrans, NoTrans, (int)N, g->co, (int)K, 1.f, x, (int)K, w, g->co, 0.f, y, g->co);
    bias_act_rows(y, g->co, 0, N, bias, relu);
    return 0;
  }
  const long step = chunk_rows(K);
  float *cols = scratch_for((size_t)(step < N ? step : N) * K);
  if (!cols) return -1;
  for (long n0 = 0; n0 < N; n0 += step) {
    const long n1 = n0 + step < N ? n0 + step : N;
    im2col_rows(x, cols, g, n0, n1);
    sgemm(RowMajor, NoTrans, NoTrans, (int)(n1 - n0), g->co, (int)K, 1.f, cols, (int)K, w, g->co, 0.f,
          y + n0 * g->co, g->co);
    bias_act_rows(y, g->co, n0, n1, bias, relu);
  }
  return 0;
}

/* dW[K, co] = sum over rows of cols(x)^T x dy */
static int conv_backprop_filter(const float *x, const float *dy, float *dw, const Geom *g) {
  const long N = (long)g->b * g->ho * g->wo, K = (long)g->fh * g->fw * g->ci;
  if (is_pointwise(g)) {
    sgemm(RowMajor, Trans, NoTrans, (int)K, g->co, (int)N, 1.f, x, (int)K, dy, g->co, 0.f, dw, g->co);
    return 0;
  }
  const long step = chunk_rows(K);
  float *cols = scratch_for((size_t)(step < N ? step : N) * K);
  if (!cols) return -1;
  for (long n0 = 0; n0 < N; n0 += step) {
    const long n1 = n0 + step < N ? n0 + step : N;
    im2col_rows(x, cols, g, n0, n1);
    sgemm(RowMajor, Trans, NoTrans, (int)K, g->co, (int)(n1 - n0), 1.f, cols, (int)K, dy + n0 * g->co, g->co,
          n0 == 0 ? 0.f : 1.f, dw, g->co);
  }
  return 0;
}

/* dcols[N, K] = dy x W^T, scattered back onto dx (zeroed first) */
static int conv_backprop_input(const float *dy, const float *w, float *dx, const Geom *g) {
  const long N = (long)g->b * g->ho * g->wo, K = (long)g->fh * g->fw * g->ci;
  if (is_pointwise(g)) {
    sgemm(RowMajor, NoTrans, Trans, (int)N, (int)K, g->co, 1.f, dy, g->co, w, g->co, 0.f, dx, (int)K);
    return 0;
  }
  memset(dx, 0, sizeof(float) * (size_t)g->b * g->h * g->w * g->ci);
  const long step = chunk_rows(K);
  float *cols = scratch_for((size_t)(step < N ? step : N) * K);
  if (!cols) return -1;
  for (long n0 = 0; n0 < N; n0 += step) {
    const long n1 = n0 + step < N ? n0 + step : N;
    sgemm(RowMajor, NoTrans, Trans, (int)(n1 - n0), (int)K, g->co, 1.f, dy + n0 * g->co, g->co, w, g->co, 0.f,
          cols, (int)K);
    col2im_add_rows(cols, dx, g, n0, n1);
  }
  return 0;
}

/* ---- N-API glue ---- */

static int throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return -1;
}

static int get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  napi_typedarray_type t;
  void *d;
  if (napi_get_typedarray_info(env, v, &t, len, &d, NULL, NULL) != napi_ok || t != napi_float32_array)
    return throw_error(env, "expected a Float32Array");
  *data = (float *)d;
  return 0;
}

static int get_geom(napi_env env, napi_value v, Geom *g) {
  napi_typedarray_type t;
  size_t len;
  void *d;
  if (napi_get_typedarray_info(env, v, &t, &len, &d, NULL, NULL) != napi_ok || t != napi_int32_array || len != 13)
    return throw_error(env, "geometry must be an Int32Array of 13");
  memcpy(g, d, sizeof(Geom));
  if (g->b < 1 || g->h < 1 || g->w < 1 || g->ci < 1 || g->ho < 1 || g->wo < 1 || g->co < 1 || g->fh < 1 ||
      g->fw < 1 || g->sh < 1 || g->sw < 1 || g->top < 0 || g->left < 0)
    return throw_error(env, "geometry out of range");
  return 0;
}

static int need(napi_env env, size_t have, size_t want, const char *what) {
  if (have < want) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s holds %zu floats, needs %zu", what, have, want);
    return throw_error(env, msg);
  }
  return 0;
}

typedef int (*conv_fn)(const float *, const float *, float *, const Geom *);

/* which: 0 forward (x, W -> y), 1 filter gradient (x, dy -> dW), 2 input gradient (dy, W -> dx).
 * The forward call takes two optional arguments: a bias (Float32Array of co, or null) and relu (boolean).
 * dnnl: on oneDNN (dnnl-kernels.c) rather than im2col + OpenBLAS. */
static napi_value conv_call(napi_env env, napi_callback_info info, int which, bool dnnl) {
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc < 4 || (which != 0 && argc != 4)) { throw_error(env, "expected (a, b, out, geometry)"); return NULL; }
  if (dnnl ? !dnnl_load() : !sgemm) { throw_error(env, dnnl ? dnnl_unavailable() : blas_error); return NULL; }
  Geom g;
  float *p, *q, *out;
  size_t lp, lq, lo;
  if (get_geom(env, a[3], &g) || get_f32(env, a[0], &p, &lp) || get_f32(env, a[1], &q, &lq) ||
      get_f32(env, a[2], &out, &lo))
    return NULL;
  const size_t xs = (size_t)g.b * g.h * g.w * g.ci, ys = (size_t)g.b * g.ho * g.wo * g.co,
               ws = (size_t)g.fh * g.fw * g.ci * g.co;
  static const conv_fn grads[3] = {NULL, conv_backprop_filter, conv_backprop_input};
  const size_t want[3][3] = {{xs, ws, ys}, {xs, ys, ws}, {ys, ws, xs}};
  if (need(env, lp, want[which][0], "first input") || need(env, lq, want[which][1], "second input") ||
      need(env, lo, want[which][2], "output"))
    return NULL;
  float *bias = NULL;
  bool relu = false;
  if (argc >= 5) {
    napi_valuetype t;
    napi_typeof(env, a[4], &t);
    size_t lb;
    if (t != napi_null && t != napi_undefined && (get_f32(env, a[4], &bias, &lb) || need(env, lb, (size_t)g.co, "bias")))
      return NULL;
  }
  if (argc >= 6) napi_get_value_bool(env, a[5], &relu);
  if (dnnl) {
    if (dnnl_conv(which, p, q, out, &g, bias, relu) != 0) throw_error(env, dnnl_last_error());
    return NULL;
  }
  const int rc = which == 0 ? conv_forward(p, q, out, &g, bias, relu) : grads[which](p, q, out, &g);
  if (rc != 0) throw_error(env, "out of memory for im2col scratch");
  return NULL;
}

static napi_value conv2d(napi_env env, napi_callback_info info) { return conv_call(env, info, 0, false); }
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) { return conv_call(env, info, 1, false); }
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) { return conv_call(env, info, 2, false); }
static napi_value dnnl_conv2d(napi_env env, napi_callback_info info) { return conv_call(env, info, 0, true); }
static napi_value dnnl_conv2d_backprop_filter(napi_env env, napi_callback_info info) { return conv_call(env, info, 1, true); }
static napi_value dnnl_conv2d_backprop_input(napi_env env, napi_callback_info info) { return conv_call(env, info, 2, true); }

/* setThreads(n): threads per native call from this thread: oneDNN's OpenMP team and the batch norm and ReLU
 * gradient passes (parallel.h). OpenBLAS stays on one thread: with oneDNN it only runs the small dense
 * matmuls, and its idle workers spin (measured: 110-250 ms of a core per ResNet-10 step at 2 threads). */
static napi_value set_threads_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  int32_t n = 1;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 1 || napi_get_value_int32(env, a[0], &n) != napi_ok || n < 1) {
    throw_error(env, "expected a thread count >= 1");
    return NULL;
  }
  parallel_set_threads(n);
  return NULL;
}

/* getThreads(): this thread's setting (1 until setThreads). */
static napi_value get_threads_call(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, parallel_threads(), &v);
  return v;
}

/* dnnlLastImpl(): the implementation oneDNN picked for this thread's last oneDNN conv (tests, bench). */
static napi_value dnnl_impl(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, dnnl_last_impl(), NAPI_AUTO_LENGTH, &v);
  return v;
}

/* gemm(a, b, out, Int32Array [batch, m, n, k, transA, transB, strideA, strideB]): out[i] = op(a[i]) op(b[i]),
 * row-major; a stride of 0 broadcasts that operand over the batch. */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 4) { throw_error(env, "expected (a, b, out, dims)"); return NULL; }
  if (!sgemm) { throw_error(env, blas_error); return NULL; }
  napi_typedarray_type t;
  size_t len;
  void *d;
  if (napi_get_typedarray_info(env, a[3], &t, &len, &d, NULL, NULL) != napi_ok || t != napi_int32_array || len != 8) {
    throw_error(env, "dims must be an Int32Array of 8");
    return NULL;
  }
  const int32_t *v = (const int32_t *)d;
  const int batch = v[0], m = v[1], n = v[2], k = v[3], ta = v[4], tb = v[5], sa = v[6], sb = v[7];
  float *A, *B, *C;
  size_t la, lb, lc;
  if (get_f32(env, a[0], &A, &la) || get_f32(env, a[1], &B, &lb) || get_f32(env, a[2], &C, &lc)) return NULL;
  if (batch < 1 || m < 1 || n < 1 || k < 1 || sa < 0 || sb < 0) { throw_error(env, "dims out of range"); return NULL; }
  if (need(env, la, (size_t)sa * (batch - 1) + (size_t)m * k, "a") ||
      need(env, lb, (size_t)sb * (batch - 1) + (size_t)k * n, "b") || need(env, lc, (size_t)batch * m * n, "out"))
    return NULL;
  for (int i = 0; i < batch; i++) {
    sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1.f, A + (size_t)sa * i, ta ? m : k,
          B + (size_t)sb * i, tb ? k : n, 0.f, C + (size_t)m * n * i, n);
  }
  return NULL;
}

/*
 * OpenBLAS 0.3.21 (Debian 12) does not know recent Xeons and falls back to its Prescott (SSE3) kernels,
 * 4x slower than the AVX-512 ones on the same machine (measured: 11 against 45 GMAC/s). Unless the user
 * set OPENBLAS_CORETYPE, name the kernel family from the CPU's features before OpenBLAS reads it at load.
 */
static void choose_blas_core(void) {
  if (getenv("OPENBLAS_CORETYPE") != NULL) return;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    setenv("OPENBLAS_CORETYPE", "Haswell", 0);
}

/* sumLeading(x, out, Int32Array [outer, inner, mean]): out[c] = sum (or mean) over r of x[r, c], in double
 * (like the cpu backend): every bias gradient is such a sum over batch and pixels. */
static napi_value sum_leading(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 3) { throw_error(env, "expected (x, out, dims)"); return NULL; }
  napi_typedarray_type t;
  size_t len;
  void *d;
  if (napi_get_typedarray_info(env, a[2], &t, &len, &d, NULL, NULL) != napi_ok || t != napi_int32_array || len != 3) {
    throw_error(env, "dims must be an Int32Array of 3");
    return NULL;
  }
  const int32_t *v = (const int32_t *)d;
  const long outer = v[0], inner = v[1];
  float *x, *out;
  size_t lx, lo;
  if (get_f32(env, a[0], &x, &lx) || get_f32(env, a[1], &out, &lo)) return NULL;
  if (outer < 0 || inner < 1) { throw_error(env, "dims out of range"); return NULL; }
  if (need(env, lx, (size_t)outer * inner, "x") || need(env, lo, (size_t)inner, "out")) return NULL;
  double *acc = (double *)calloc((size_t)inner, sizeof(double));
  if (!acc) { throw_error(env, "out of memory"); return NULL; }
  for (long r = 0; r < outer; r++) {
    const float *row = x + r * inner;
    for (long c = 0; c < inner; c++) acc[c] += row[c];
  }
  const double scale = v[2] && outer > 0 ? 1.0 / (double)outer : 1.0;
  for (long c = 0; c < inner; c++) out[c] = (float)(acc[c] * scale);
  free(acc);
  return NULL;
}

/* ---- batch norm (batch-norm.c): every call takes dims Int32Array [rows, channels] and epsilon ---- */

/* A Float32Array of at least `want` floats, or null/undefined where `optional` (then *data = NULL). */
static int get_f32_len(napi_env env, napi_value v, float **data, size_t want, const char *what, bool optional) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (optional && (t == napi_null || t == napi_undefined)) { *data = NULL; return 0; }
  size_t len;
  return get_f32(env, v, data, &len) || need(env, len, want, what);
}

static int get_bn_dims(napi_env env, napi_value dims, napi_value eps, long *rows, int *c, float *epsilon) {
  napi_typedarray_type t;
  size_t len;
  void *d;
  double e;
  if (napi_get_typedarray_info(env, dims, &t, &len, &d, NULL, NULL) != napi_ok || t != napi_int32_array || len != 2)
    return throw_error(env, "dims must be an Int32Array [rows, channels]");
  *rows = ((const int32_t *)d)[0];
  *c = ((const int32_t *)d)[1];
  if (*rows < 1 || *c < 1) return throw_error(env, "dims out of range");
  if (napi_get_value_double(env, eps, &e) != napi_ok || !(e >= 0)) return throw_error(env, "epsilon must be a number >= 0");
  *epsilon = (float)e;
  return 0;
}

/* batchNormTrain(x, gamma?, beta?, y, mean, variance, dims, epsilon) */
static napi_value bn_train(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 8) { throw_error(env, "expected (x, gamma, beta, y, mean, variance, dims, epsilon)"); return NULL; }
  long rows;
  int c;
  float eps, *x, *gamma, *beta, *y, *mean, *var;
  if (get_bn_dims(env, a[6], a[7], &rows, &c, &eps)) return NULL;
  const size_t n = (size_t)rows * c;
  if (get_f32_len(env, a[0], &x, n, "x", false) || get_f32_len(env, a[1], &gamma, c, "gamma", true) ||
      get_f32_len(env, a[2], &beta, c, "beta", true) || get_f32_len(env, a[3], &y, n, "y", false) ||
      get_f32_len(env, a[4], &mean, c, "mean", false) || get_f32_len(env, a[5], &var, c, "variance", false))
    return NULL;
  if (batch_norm_train(x, gamma, beta, eps, rows, c, y, mean, var)) throw_error(env, "out of memory");
  return NULL;
}

/* batchNormGrad(x, dy, gamma?, mean, variance, dx, dgamma, dbeta, dims, epsilon) */
static napi_value bn_grad(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 10) { throw_error(env, "expected (x, dy, gamma, mean, variance, dx, dgamma, dbeta, dims, epsilon)"); return NULL; }
  long rows;
  int c;
  float eps, *x, *dy, *gamma, *mean, *var, *dx, *dgamma, *dbeta;
  if (get_bn_dims(env, a[8], a[9], &rows, &c, &eps)) return NULL;
  const size_t n = (size_t)rows * c;
  if (get_f32_len(env, a[0], &x, n, "x", false) || get_f32_len(env, a[1], &dy, n, "dy", false) ||
      get_f32_len(env, a[2], &gamma, c, "gamma", true) || get_f32_len(env, a[3], &mean, c, "mean", false) ||
      get_f32_len(env, a[4], &var, c, "variance", false) || get_f32_len(env, a[5], &dx, n, "dx", false) ||
      get_f32_len(env, a[6], &dgamma, c, "dgamma", false) || get_f32_len(env, a[7], &dbeta, c, "dbeta", false))
    return NULL;
  if (batch_norm_grad(x, dy, gamma, mean, var, eps, rows, c, dx, dgamma, dbeta)) throw_error(env, "out of memory");
  return NULL;
}

/* batchNormInfer(x, mean, variance, scale?, offset?, y, dims, epsilon) */
static napi_value bn_infer(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 8) { throw_error(env, "expected (x, mean, variance, scale, offset, y, dims, epsilon)"); return NULL; }
  long rows;
  int c;
  float eps, *x, *mean, *var, *scale, *offset, *y;
  if (get_bn_dims(env, a[6], a[7], &rows, &c, &eps)) return NULL;
  const size_t n = (size_t)rows * c;
  if (get_f32_len(env, a[0], &x, n, "x", false) || get_f32_len(env, a[1], &mean, c, "mean", false) ||
      get_f32_len(env, a[2], &var, c, "variance", false) || get_f32_len(env, a[3], &scale, c, "scale", true) ||
      get_f32_len(env, a[4], &offset, c, "offset", true) || get_f32_len(env, a[5], &y, n, "y", false))
    return NULL;
  if (batch_norm_infer(x, mean, var, scale, offset, eps, rows, c, y)) throw_error(env, "out of memory");
  return NULL;
}

/* reluGrad(dy, x, dx): dx = dy step(x), all of one length */
static napi_value relu_grad_call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 3) { throw_error(env, "expected (dy, x, dx)"); return NULL; }
  float *dy, *x, *dx;
  size_t n, lx, ldx;
  if (get_f32(env, a[0], &dy, &n) || get_f32(env, a[1], &x, &lx) || get_f32(env, a[2], &dx, &ldx) ||
      need(env, lx, n, "x") || need(env, ldx, n, "dx"))
    return NULL;
  relu_grad(dy, x, (long)n, dx);
  return NULL;
}

/* relu(x, y): y = TF.js's relu(x); add(a, b, out): out = a + b; all of one length */
static napi_value eltwise_call(napi_env env, napi_callback_info info, bool add) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != (add ? 3u : 2u)) { throw_error(env, add ? "expected (a, b, out)" : "expected (x, y)"); return NULL; }
  float *p, *q, *out;
  size_t n, lq, lo;
  if (add) {
    if (get_f32(env, a[0], &p, &n) || get_f32(env, a[1], &q, &lq) || get_f32(env, a[2], &out, &lo) ||
        need(env, lq, n, "b") || need(env, lo, n, "out"))
      return NULL;
    add_same(p, q, (long)n, out);
  } else {
    if (get_f32(env, a[0], &p, &n) || get_f32(env, a[1], &out, &lo) || need(env, lo, n, "y")) return NULL;
    relu_forward(p, (long)n, out);
  }
  return NULL;
}
/* binary(op, a, b, out): out = a op b (op: 0 add, 1 sub, 2 mul); a and b each as long as out or one value */
static napi_value binary_call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 4) { throw_error(env, "expected (op, a, b, out)"); return NULL; }
  int32_t op;
  float *p, *q, *out;
  size_t n, la, lb;
  if (napi_get_value_int32(env, a[0], &op) != napi_ok || op < BINARY_ADD || op > BINARY_MUL) { throw_error(env, "op: 0, 1 or 2"); return NULL; }
  if (get_f32(env, a[1], &p, &la) || get_f32(env, a[2], &q, &lb) || get_f32(env, a[3], &out, &n)) return NULL;
  if ((la != n && la != 1) || (lb != n && lb != 1)) { throw_error(env, "a and b: as long as out, or one value"); return NULL; }
  binary_op(op, p, (long)la, q, (long)lb, out, (long)n);
  return NULL;
}
static napi_value relu_call(napi_env env, napi_callback_info info) { return eltwise_call(env, info, false); }
static napi_value add_call(napi_env env, napi_callback_info info) { return eltwise_call(env, info, true); }

static void load_blas(void) {
  if (sgemm) return;
  choose_blas_core();
  const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
  for (int i = 0; i < 2 && !sgemm; i++) {
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) { blas_error = "libopenblas.so.0 not found (Debian: apt-get install libopenblas0)"; continue; }
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    char *(*corename)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!f) { blas_error = "libopenblas has no cblas_sgemm"; continue; }
    if (set_threads) set_threads(1);
    if (corename) {
      strncpy(core_name, corename(), sizeof core_name - 1);
    }
    sgemm = f;
  }
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

NAPI_MODULE_INIT() {
  load_blas();
  export_fn(env, exports, "conv2d", conv2d);
  export_fn(env, exports, "conv2dBackpropFilter", conv2d_backprop_filter);
  export_fn(env, exports, "conv2dBackpropInput", conv2d_backprop_input);
  export_fn(env, exports, "gemm", gemm);
  export_fn(env, exports, "sumLeading", sum_leading);
  export_fn(env, exports, "dnnlConv2d", dnnl_conv2d);
  export_fn(env, exports, "dnnlConv2dBackpropFilter", dnnl_conv2d_backprop_filter);
  export_fn(env, exports, "dnnlConv2dBackpropInput", dnnl_conv2d_backprop_input);
  export_fn(env, exports, "dnnlLastImpl", dnnl_impl);
  export_fn(env, exports, "setThreads", set_threads_call);
  export_fn(env, exports, "getThreads", get_threads_call);
  export_fn(env, exports, "batchNormTrain", bn_train);
  export_fn(env, exports, "batchNormGrad", bn_grad);
  export_fn(env, exports, "batchNormInfer", bn_infer);
  export_fn(env, exports, "reluGrad", relu_grad_call);
  export_fn(env, exports, "relu", relu_call);
  export_fn(env, exports, "add", add_call);
  export_fn(env, exports, "binary", binary_call);
  napi_value v;
  /* oneDNN: one OpenMP thread per calling thread unless raised (training runs a replica per core) */
  const bool dnnl = dnnl_load();
  parallel_set_threads(1);
  napi_get_boolean(env, dnnl, &v);
  napi_set_named_property(env, exports, "dnnlAvailable", v);
  napi_create_string_utf8(env, dnnl ? dnnl_version_string() : dnnl_unavailable(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, dnnl ? "dnnlVersion" : "dnnlUnavailableReason", v);
  napi_get_boolean(env, sgemm != NULL, &v);
  napi_set_named_property(env, exports, "available", v);
  napi_create_string_utf8(env, sgemm ? "" : blas_error, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "unavailableReason", v);
  napi_create_string_utf8(env, core_name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "blasCore", v);
  return exports;
}
