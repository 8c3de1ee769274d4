/*
 * Convolutions on oneDNN (Debian: libdnnl2, the library PyTorch's CPU convs run on), for the wasm backend.
 *
 * Why: im2col + sgemm (cpu-kernels.c) moves every input pixel fh*fw times through memory and runs the
 * filter gradient as one long skinny GEMM; oneDNN's direct/brgemm convs read NHWC in place with AVX-512
 * and use several cores inside one call (its OpenMP threads). Measured on ResNet-10 w32 (see the README).
 *
 * Built only where the headers are (libdnnl-dev; native/build.mjs defines SELFTRAIN_WITH_DNNL); the
 * library itself is opened with dlopen at load, so the addon still loads, with the OpenBLAS kernels,
 * where libdnnl.so.2 is missing. Data stay NHWC (TF.js's layout); weights go through a reorder from TF's
 * HWIO to the blocked layout oneDNN picks. Primitives, their memory objects and reorders are cached per
 * shape and thread; the weight buffer and the scratchpad are per-thread buffers that only grow, so a
 * training loop allocates nothing after its first step.
 */
#include "dnnl-kernels.h"
#include "parallel.h"
#include <stddef.h>

#ifndef SELFTRAIN_WITH_DNNL

int dnnl_load(void) { return 0; }
const char *dnnl_unavailable(void) {
  return "built without oneDNN's headers (Debian: apt-get install libdnnl-dev, then npm run build)";
}
const char *dnnl_version_string(void) { return ""; }
int dnnl_conv(int which, const float *a, const float *b, float *out, const Geom *g, const float *bias, int relu) {
  (void)which; (void)a; (void)b; (void)out; (void)g; (void)bias; (void)relu;
  return -1;
}
const char *dnnl_last_error(void) { return dnnl_unavailable(); }
const char *dnnl_last_impl(void) { return ""; }

#else

#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNNL_FNS(X)                                                                                            \
  X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_memory_desc_init_by_tag)                                  \
  X(dnnl_convolution_forward_desc_init) X(dnnl_convolution_backward_data_desc_init)                            \
  X(dnnl_convolution_backward_weights_desc_init) X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_query_md) \
  X(dnnl_primitive_desc_query) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_create) X(dnnl_primitive_destroy) \
  X(dnnl_primitive_execute) X(dnnl_memory_create) X(dnnl_memory_destroy) X(dnnl_memory_set_data_handle)       \
  X(dnnl_memory_desc_equal) X(dnnl_memory_desc_get_size) X(dnnl_reorder_primitive_desc_create)                 \
  X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_scratchpad_mode)       \
  X(dnnl_primitive_attr_set_post_ops) X(dnnl_post_ops_create) X(dnnl_post_ops_destroy)                          \
  X(dnnl_post_ops_append_eltwise) X(dnnl_stream_wait) X(dnnl_version)

#define DECLARE(f) static __typeof__(&f) p_##f;
DNNL_FNS(DECLARE)
#define D(f) p_##f

static int loaded; /* 1 once oneDNN is usable */
static char why[160] = "not loaded";
static char version[32] = "";
static dnnl_engine_t engine;

static __thread dnnl_stream_t stream;
static __thread char error[160];
static __thread const char *last_impl = "";

/* Once per process, whichever thread (the main one or a gradient replica's worker) loads the addon first. */
static void load_once(void) {
  loaded = 0;
  parallel_load(); /* libgomp first, with its wait policy (parallel.c) */
  void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(why, sizeof why, "libdnnl.so.2 not found (Debian: apt-get install libdnnl2)");
    return;
  }
#define RESOLVE(f)                                                                   \
  p_##f = (__typeof__(&f))dlsym(h, #f);                                              \
  if (!p_##f) {                                                                      \
    snprintf(why, sizeof why, "libdnnl.so.2 has no %s (needs oneDNN 2.x)", #f);      \
    return;                                                                          \
  }
  DNNL_FNS(RESOLVE)
  if (D(dnnl_engine_create)(&engine, dnnl_cpu, 0) != dnnl_success) {
    snprintf(why, sizeof why, "oneDNN could not create a CPU engine");
    return;
  }
  const dnnl_version_t *v = D(dnnl_version)();
  snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
  loaded = 1;
  why[0] = 0;
}

int dnnl_load(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, load_once);
  return loaded;
}

const char *dnnl_unavailable(void) { return why; }
const char *dnnl_version_string(void) { return version; }
const char *dnnl_last_error(void) { return error; }
const char *dnnl_last_impl(void) { return last_impl; }


/* A per-thread buffer that only grows (the weight reorder target, the scratchpad). */
typedef struct { void *p; size_t n; } Buffer;
static __thread Buffer weights_buf, scratch_buf;

static void *buffer(Buffer *b, size_t n) {
  if (n == 0) n = 64;
  if (n > b->n) {
    free(b->p);
    b->p = aligned_alloc(64, (n + 63) / 64 * 64);
    b->n = b->p ? n : 0;
  }
  return b->p;
}

/* One cached conv: its primitive, memory objects (handles set per call) and the weight reorder. */
enum { KEY_INTS = 17 }; /* which, the 13 of Geom, bias, relu, threads */
typedef struct Entry {
  int key[KEY_INTS];
  dnnl_primitive_t prim, reorder;
  dnnl_memory_t a, b, out, bias, scratch, user_w, inner_w;
  size_t scratch_size, w_size;
  char impl[48]; /* what oneDNN picked, e.g. brg:avx512_core */
  struct Entry *next;
} Entry;
static __thread Entry *cache;
static __thread int cached;
enum { MAX_CACHED = 256 }; /* distinct conv shapes per thread; a zoo model has at most a few dozen */

static void destroy(Entry *e) {
  if (e->prim) D(dnnl_primitive_destroy)(e->prim);
  if (e->reorder) D(dnnl_primitive_destroy)(e->reorder);
  dnnl_memory_t mems[] = {e->a, e->b, e->out, e->bias, e->scratch, e->user_w, e->inner_w};
  for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
    if (mems[i]) D(dnnl_memory_destroy)(mems[i]);
  free(e);
}

static int fail(const char *what, dnnl_status_t s) {
  snprintf(error, sizeof error, "oneDNN %s failed (status %d)", what, (int)s);
  return -1;
}

#define CHECK(call, what)                  \
  do {                                     \
    dnnl_status_t s_ = (call);             \
    if (s_ != dnnl_success) return fail(what, s_); \
  } while (0)

static int make_memory(dnnl_memory_t *m, const dnnl_memory_desc_t *md) {
  CHECK(D(dnnl_memory_create)(m, md, engine, DNNL_MEMORY_NONE), "memory_create");
  return 0;
}

/* Builds the primitive for `which` on g; weights (user side) are HWIO, data NHWC. */
static int build(Entry *e, int which, const Geom *g, int has_bias, int relu) {
  const dnnl_dims_t src_dims = {g->b, g->ci, g->h, g->w}, dst_dims = {g->b, g->co, g->ho, g->wo},
                    w_dims = {g->co, g->ci, g->fh, g->fw}, b_dims = {g->co};
  /* TF's padding: top/left given; bottom/right what makes the output size. oneDNN computes the output
   * size with floor, so a "valid" conv whose last window does not fit has a right padding of 0. */
  int bottom = (g->ho - 1) * g->sh + g->fh - g->h - g->top, right = (g->wo - 1) * g->sw + g->fw - g->w - g->left;
  if (bottom < 0) bottom = 0;
  if (right < 0) right = 0;
  const dnnl_dims_t strides = {g->sh, g->sw}, pad_l = {g->top, g->left}, pad_r = {bottom, right};
  dnnl_memory_desc_t src, dst, w_any, w_user, bias_md;
  CHECK(D(dnnl_memory_desc_init_by_tag)(&src, 4, src_dims, dnnl_f32, dnnl_nhwc), "memory_desc");
  CHECK(D(dnnl_memory_desc_init_by_tag)(&dst, 4, dst_dims, dnnl_f32, dnnl_nhwc), "memory_desc");
  CHECK(D(dnnl_memory_desc_init_by_tag)(&w_any, 4, w_dims, dnnl_f32, dnnl_format_tag_any), "memory_desc");
  CHECK(D(dnnl_memory_desc_init_by_tag)(&w_user, 4, w_dims, dnnl_f32, dnnl_hwio), "memory_desc");
  CHECK(D(dnnl_memory_desc_init_by_tag)(&bias_md, 1, b_dims, dnnl_f32, dnnl_x), "memory_desc");

  dnnl_primitive_attr_t attr;
  CHECK(D(dnnl_primitive_attr_create)(&attr), "attr_create");
  D(dnnl_primitive_attr_set_scratchpad_mode)(attr, dnnl_scratchpad_mode_user);
  dnnl_post_ops_t ops = NULL;
  if (which == 0 && relu) {
    D(dnnl_post_ops_create)(&ops);
    D(dnnl_post_ops_append_eltwise)(ops, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
    D(dnnl_primitive_attr_set_post_ops)(attr, ops);
  }
  dnnl_convolution_desc_t fwd, cd;
  dnnl_primitive_desc_t pd = NULL, hint = NULL;
  dnnl_status_t s = D(dnnl_convolution_forward_desc_init)(&fwd, which == 0 ? dnnl_forward_inference : dnnl_forward_training,
                                                           dnnl_convolution_direct, &src, &w_any,
                                                           which == 0 && has_bias ? &bias_md : NULL, &dst, strides, pad_l, pad_r);
  if (s == dnnl_success && which == 0) s = D(dnnl_primitive_desc_create)(&pd, &fwd, attr, engine, NULL);
  if (s == dnnl_success && which != 0) s = D(dnnl_primitive_desc_create)(&hint, &fwd, NULL, engine, NULL);
  if (s == dnnl_success && which == 1)
    s = D(dnnl_convolution_backward_weights_desc_init)(&cd, dnnl_convolution_direct, &src, &w_any, NULL, &dst, strides, pad_l, pad_r);
  if (s == dnnl_success && which == 2)
    s = D(dnnl_convolution_backward_data_desc_init)(&cd, dnnl_convolution_direct, &src, &w_any, &dst, strides, pad_l, pad_r);
  if (s == dnnl_success && which != 0) s = D(dnnl_primitive_desc_create)(&pd, &cd, attr, engine, hint);
  if (hint) D(dnnl_primitive_desc_destroy)(hint);
  if (ops) D(dnnl_post_ops_destroy)(ops);
  D(dnnl_primitive_attr_destroy)(attr);
  if (s != dnnl_success) return fail("convolution primitive_desc_create", s);

  const dnnl_memory_desc_t *inner_w = D(dnnl_primitive_desc_query_md)(pd, which == 1 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *scratch = D(dnnl_primitive_desc_query_md)(pd, dnnl_query_scratchpad_md, 0);
  const char *impl = "";
  D(dnnl_primitive_desc_query)(pd, dnnl_query_impl_info_str, 0, &impl);
  snprintf(e->impl, sizeof e->impl, "%s", impl); /* the string belongs to pd */
  s = D(dnnl_primitive_create)(&e->prim, pd);
  int rc = s == dnnl_success ? 0 : fail("convolution primitive_create", s);
  if (rc == 0) {
    e->scratch_size = D(dnnl_memory_desc_get_size)(scratch);
    e->w_size = D(dnnl_memory_desc_get_size)(inner_w);
    const dnnl_memory_desc_t *a_md = which == 2 ? &dst : &src, *b_md = which == 1 ? &dst : inner_w,
                             *out_md = which == 0 ? &dst : which == 1 ? inner_w : &src;
    rc = make_memory(&e->a, a_md) || make_memory(&e->b, b_md) || make_memory(&e->out, out_md) ||
         make_memory(&e->scratch, scratch) || (which == 0 && has_bias && make_memory(&e->bias, &bias_md));
  }
  if (rc == 0 && !D(dnnl_memory_desc_equal)(inner_w, &w_user)) {
    /* forward and input gradient: HWIO -> oneDNN's layout before the call; filter gradient: after it */
    dnnl_primitive_desc_t rpd;
    s = which == 1 ? D(dnnl_reorder_primitive_desc_create)(&rpd, inner_w, engine, &w_user, engine, NULL)
                   : D(dnnl_reorder_primitive_desc_create)(&rpd, &w_user, engine, inner_w, engine, NULL);
    if (s == dnnl_success) {
      s = D(dnnl_primitive_create)(&e->reorder, rpd);
      D(dnnl_primitive_desc_destroy)(rpd);
    }
    rc = s == dnnl_success ? (make_memory(&e->user_w, &w_user) || make_memory(&e->inner_w, inner_w)) : fail("weights reorder", s);
  }
  D(dnnl_primitive_desc_destroy)(pd);
  return rc;
}

static Entry *lookup(int which, const Geom *g, int has_bias, int relu) {
  int key[KEY_INTS] = {0};
  key[0] = which;
  memcpy(key + 1, g, sizeof(Geom));
  key[14] = has_bias;
  key[15] = relu;
  /* oneDNN's convs fix their thread split when the primitive is made: one made for 2 threads would keep
   * both cores busy after the setting dropped to 1 (the old bench's "1 thread" row) */
  key[16] = parallel_threads();
  for (Entry *e = cache; e; e = e->next)
    if (memcmp(e->key, key, sizeof key) == 0) return e;
  if (cached >= MAX_CACHED) { /* a process that sees ever new shapes: start over rather than grow */
    while (cache) {
      Entry *next = cache->next;
      destroy(cache);
      cache = next;
    }
    cached = 0;
  }
  Entry *e = (Entry *)calloc(1, sizeof(Entry));
  if (!e) { snprintf(error, sizeof error, "out of memory"); return NULL; }
  memcpy(e->key, key, sizeof key);
  if (build(e, which, g, has_bias, relu) != 0) {
    destroy(e);
    return NULL;
  }
  e->next = cache;
  cache = e;
  cached++;
  return e;
}

static int run(dnnl_primitive_t p, int n, dnnl_exec_arg_t *args) {
  CHECK(D(dnnl_primitive_execute)(p, stream, n, args), "execute");
  return 0;
}

int dnnl_conv(int which, const float *a, const float *b, float *out, const Geom *g, const float *bias, int relu) {
  if (dnnl_load() != 1) {
    snprintf(error, sizeof error, "%s", why);
    return -1;
  }
  if (!stream && D(dnnl_stream_create)(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
    return fail("stream_create", dnnl_runtime_error);
  /* Debian's oneDNN runs on OpenMP, whose count is per calling thread; anything else in the process may
   * have changed it since: set it on every call, before a primitive is made or run (cheap). */
  parallel_apply();
  Entry *e = lookup(which, g, bias != NULL, relu);
  if (!e) return -1;
  last_impl = e->impl;
  void *scratch = buffer(&scratch_buf, e->scratch_size);
  void *w_inner = e->reorder ? buffer(&weights_buf, e->w_size) : NULL;
  if (!scratch || (e->reorder && !w_inner)) { snprintf(error, sizeof error, "out of memory"); return -1; }
  D(dnnl_memory_set_data_handle)(e->scratch, scratch);
  /* the weights as the primitive sees them: the caller's HWIO, or the reorder buffer */
  const float *w_user = which == 1 ? out : b;
  void *w = e->reorder ? w_inner : (void *)w_user;
  if (e->reorder) {
    D(dnnl_memory_set_data_handle)(e->user_w, (void *)w_user);
    D(dnnl_memory_set_data_handle)(e->inner_w, w_inner);
  }
  if (which != 1 && e->reorder) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->user_w}, {DNNL_ARG_TO, e->inner_w}};
    if (run(e->reorder, 2, r)) return -1;
  }
  D(dnnl_memory_set_data_handle)(e->a, (void *)a);
  D(dnnl_memory_set_data_handle)(e->b, which == 1 ? (void *)b : w);
  D(dnnl_memory_set_data_handle)(e->out, which == 1 ? w : (void *)out);
  dnnl_exec_arg_t args[5];
  int n = 0;
  if (which == 0) {
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, e->a};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, e->b};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, e->out};
    if (e->bias) {
      D(dnnl_memory_set_data_handle)(e->bias, (void *)bias);
      args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
    }
  } else if (which == 1) {
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, e->a};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, e->b};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, e->out};
  } else {
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, e->a};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, e->b};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, e->out};
  }
  args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, e->scratch};
  if (run(e->prim, n, args)) return -1;
  if (which == 1 && e->reorder) {
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->inner_w}, {DNNL_ARG_TO, e->user_w}};
    if (run(e->reorder, 2, r)) return -1;
  }
  CHECK(D(dnnl_stream_wait)(stream), "stream_wait");
  return 0;
}

#endif
