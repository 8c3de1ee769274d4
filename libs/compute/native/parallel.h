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
#endif
