/*
 * A fixed pool of worker threads that run one parallel task at a time.
 * The calling thread takes part as thread 0, so a pool of n threads starts
 * n-1 workers. Workers spin briefly after a task (the next one usually comes
 * within microseconds during a forward pass), then sleep on a condition
 * variable so an idle pool costs no CPU.
 */
#ifndef HR_RUNTIME_THREADPOOL_H
#define HR_RUNTIME_THREADPOOL_H

#include "hearth.h"

typedef struct hr_threadpool hr_threadpool;

/* fn runs once on each of nth threads, ith = 0..nth-1. */
typedef void (*hr_task_fn)(void *ctx, int ith, int nth);

hearth_status hr_threadpool_new(int n_threads, hr_threadpool **out, hearth_error *err);
void hr_threadpool_free(hr_threadpool *p);
int hr_threadpool_n_threads(const hr_threadpool *p);
/* Runs fn on the calling thread (ith 0) and on every worker that picks the
 * task up before the caller's own call returns; returns when all of those
 * have finished. fn must hand out its work dynamically (an atomic counter),
 * so that the calling thread alone completes whatever no worker claimed.
 * ith is unique per running thread (< nth), for per-thread scratch. Not reentrant. */
void hr_threadpool_run(hr_threadpool *p, hr_task_fn fn, void *ctx);

/* fn(ctx, i0, i1, ith) over [0, n) in pieces of grain items, handed out
 * dynamically on the pool (the calling thread alone, as ith 0, when
 * n <= grain); ith as in hr_threadpool_run, for per-thread scratch. */
typedef void (*hr_range_fn)(void *ctx, int64_t i0, int64_t i1, int ith);
void hr_parallel_for(hr_threadpool *p, int64_t n, int64_t grain, hr_range_fn fn, void *ctx);

/* Number of physical cores (distinct core ids), at least 1. */
int hr_physical_cores(void);

#endif
