#include "runtime/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

/* Spin iterations before sleeping: long enough to bridge the short serial
 * steps between two parallel tasks of one forward pass, short enough not to
 * burn a shared core while the caller is idle. */
#define SPIN_ITERS 20000

/* state packs the task generation (high 32 bits), a closed flag and the
 * number of workers that joined the task. A worker joins only while the task
 * is open; the caller closes it once its own call of fn returns (tasks hand
 * out their work dynamically, so by then every item has been claimed) and
 * waits only for the workers that joined. A worker the OS has not scheduled
 * yet therefore never delays the caller, which matters on a loaded machine. */
#define CLOSED_BIT (1ull << 31)
#define JOINED_MASK (CLOSED_BIT - 1)

struct hr_threadpool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    _Atomic uint64_t state;
    atomic_int done; /* joined workers that finished the current task */
    atomic_bool stop;
    hr_task_fn fn;
    void *ctx;
};

typedef struct {
    hr_threadpool *pool;
    int ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint32_t gen_of(uint64_t s) { return (uint32_t)(s >> 32); }

static void *worker_main(void *arg_) {
    worker_arg *arg = arg_;
    hr_threadpool *p = arg->pool;
    int ith = arg->ith;
    free(arg);
    uint32_t seen = gen_of(atomic_load(&p->state));
    for (;;) {
        int spins = 0;
        while (gen_of(atomic_load_explicit(&p->state, memory_order_acquire)) == seen && !atomic_load(&p->stop) &&
               spins < SPIN_ITERS) {
            cpu_relax();
            spins++;
        }
        if (gen_of(atomic_load_explicit(&p->state, memory_order_acquire)) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (gen_of(atomic_load(&p->state)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv_work, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
        seen = gen_of(s);
        bool joined = false;
        while (gen_of(s) == seen && !(s & CLOSED_BIT)) {
            if (atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel, memory_order_acquire)) {
                joined = true;
                break;
            }
        }
        if (!joined) continue;
        p->fn(p->ctx, ith, p->n);
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

hearth_status hr_threadpool_new(int n_threads, hr_threadpool **out, hearth_error *err) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024) return hr_fail(err, HEARTH_ERR_INVALID, "thread count %d out of range [1, 1024]", n_threads);
    hr_threadpool *p = calloc(1, sizeof *p);
    if (!p) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for the thread pool");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->state, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, false);
    if (n_threads > 1) {
        p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
        if (!p->threads) {
            hr_threadpool_free(p);
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for the thread pool");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (a) *a = (worker_arg){p, i};
        int rc = a ? pthread_create(&p->threads[i - 1], NULL, worker_main, a) : -1;
        if (rc != 0) {
            free(a);
            p->n = i; /* only the workers started so far are joined */
            hr_threadpool_free(p);
            return hr_fail(err, HEARTH_ERR_NOMEM, "cannot start thread %d of %d", i, n_threads);
        }
    }
    *out = p;
    return HEARTH_OK;
}

void hr_threadpool_free(hr_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i - 1], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    free(p);
}

int hr_threadpool_n_threads(const hr_threadpool *p) { return p ? p->n : 1; }

void hr_threadpool_run(hr_threadpool *p, hr_task_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    uint32_t gen = gen_of(atomic_load(&p->state)) + 1;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->state, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    int joined = (int)(atomic_fetch_or_explicit(&p->state, CLOSED_BIT, memory_order_acq_rel) & JOINED_MASK);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) != joined && spins < SPIN_ITERS) {
        cpu_relax();
        spins++;
    }
    if (atomic_load_explicit(&p->done, memory_order_acquire) != joined) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->done) != joined) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

int hr_physical_cores(void) {
    /* Count distinct (physical id, core id) pairs; fall back to online CPUs. */
    FILE *f = fopen("/proc/cpuinfo", "r");
    int n = 0;
    if (f) {
        char line[256];
        int phys = 0, seen_cap = 0;
        long keys[1024];
        while (fgets(line, sizeof line, f)) {
            int v;
            if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
            else if (sscanf(line, "core id : %d", &v) == 1) {
                long key = (long)phys * 65536 + v;
                int dup = 0;
                for (int i = 0; i < seen_cap; i++) dup |= keys[i] == key;
                if (!dup && seen_cap < 1024) keys[seen_cap++] = key;
            }
        }
        fclose(f);
        n = seen_cap;
    }
    if (n < 1) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    return n;
}

typedef struct {
    hr_range_fn fn;
    void *ctx;
    int64_t n, grain;
    atomic_llong next;
} range_job;

static void range_task(void *ctx, int ith, int nth) {
    (void)nth;
    range_job *j = ctx;
    for (;;) {
        const int64_t i0 = atomic_fetch_add_explicit(&j->next, j->grain, memory_order_relaxed);
        if (i0 >= j->n) return;
        j->fn(j->ctx, i0, i0 + j->grain < j->n ? i0 + j->grain : j->n, ith);
    }
}

void hr_parallel_for(hr_threadpool *p, int64_t n, int64_t grain, hr_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (n <= grain || !p || p->n == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    range_job j = {.fn = fn, .ctx = ctx, .n = n, .grain = grain};
    atomic_init(&j.next, 0);
    hr_threadpool_run(p, range_task, &j);
}
