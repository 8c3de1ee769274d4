/*
 * The native kernels' threads. oneDNN (Debian's build) runs on OpenMP (libgomp); the batch norm and ReLU
 * gradient passes use the same team, so a step on 2 threads has its memory-bound passes on both cores too
 * and no second pool competes with oneDNN's. libgomp is opened with dlopen (it comes with libdnnl2, and
 * with any GCC), so the addon still loads, on one thread, where it is missing.
 *
 * The loop is GOMP_parallel, the entry point GCC compiles `#pragma omp parallel` to, called directly: the
 * addon is built without -fopenmp so that it needs no libgomp to load.
 */
#include "parallel.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

static void (*omp_set_threads)(int);
static int (*omp_thread_num)(void);
static int (*omp_num_threads)(void);
static void (*gomp_parallel)(void (*)(void *), void *, unsigned, unsigned);
static __thread int threads = 1;

static void load_once(void) {
  /* OpenMP's idle threads spin by default; between native calls the wasm kernels run on one core, and a
   * spinning team would take the other. Passive: they sleep (the caller can still set OMP_WAIT_POLICY).
   * Read once, when libgomp loads: this runs before oneDNN (which links it) is opened. */
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void *h = dlopen("libgomp.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  omp_set_threads = (void (*)(int))dlsym(h, "omp_set_num_threads");
  omp_thread_num = (int (*)(void))dlsym(h, "omp_get_thread_num");
  omp_num_threads = (int (*)(void))dlsym(h, "omp_get_num_threads");
  gomp_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(h, "GOMP_parallel");
  if (!omp_set_threads || !omp_thread_num || !omp_num_threads || !gomp_parallel) gomp_parallel = NULL;
}

int parallel_load(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, load_once);
  return gomp_parallel != NULL;
}

void parallel_set_threads(int n) {
  if (n < 1) return;
  threads = n;
  parallel_apply();
}

int parallel_threads(void) { return threads; }

void parallel_apply(void) {
  if (parallel_load()) omp_set_threads(threads);
}

/* Below this many floats a pass is shorter than waking the team (~10 us). */
static const long MIN_WORK = 1L << 15;

int parallel_parts(long work) {
  if (threads <= 1 || work < MIN_WORK || !parallel_load()) return 1;
  return threads;
}

typedef struct {
  void (*body)(void *, int, int);
  void *ctx;
  int parts;
} Job;

static void team_member(void *data) {
  const Job *j = (const Job *)data;
  const int n = omp_num_threads();
  for (int part = omp_thread_num(); part < j->parts; part += n) j->body(j->ctx, part, j->parts);
}

void parallel_run(int parts, void (*body)(void *ctx, int part, int parts), void *ctx) {
  if (parts <= 1 || !parallel_load()) {
    for (int part = 0; part < parts; part++) body(ctx, part, parts);
    return;
  }
  Job j = {body, ctx, parts};
  gomp_parallel(team_member, &j, (unsigned)parts, 0);
}
