/* The native kernels' thread count (one setting per calling thread) and a parallel loop on OpenMP's team. */
#ifndef SELFTRAIN_PARALLEL_H
#define SELFTRAIN_PARALLEL_H

/* Threads for native calls from this thread (1 until set; each thread has its own). Also OpenMP's
 * setting for this thread, which oneDNN reads when it makes and runs a primitive. */
/* Opens libgomp once (before oneDNN: it sets OpenMP's wait policy); 1 where it loaded. */
int parallel_load(void);
void parallel_set_threads(int n);
int parallel_threads(void);
/* Sets OpenMP's count for this thread to parallel_threads() again (anything else may have changed it). */
void parallel_apply(void);
/* Runs body(ctx, part, parts) for part = 0 .. parts-1, spread over this thread's team; parts is
 * parallel_parts(work) so that results depend on the setting only, never on which thread ran a part. */
int parallel_parts(long work);
void parallel_run(int parts, void (*body)(void *ctx, int part, int parts), void *ctx);

/* On the memory-bound passes' loops (batch norm, ReLU, Add, ...): one copy of the function per vector
 * width, picked when the addon loads, since the addon is built once for any x86-64 (an image runs on
 * whatever CPU its node has) and plain -O3 vectorises for SSE2 only. AVX2, not AVX-512: on ResNet-10 w32's
 * step (batch 128, 1 thread) the AVX-512 copy made the batch norm gradient slower (21.6-23.4 ms a step
 * against 15.8-16.7 for AVX2 and 18.4-20.3 for SSE2). The build turns off FMA contraction, so every copy
 * does the same float operations and gives the same values. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SIMD_CLONES
#endif
#endif
