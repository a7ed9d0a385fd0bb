/* parallel_rows: a kernel's rows cut into parts, run by helper threads that live in C.
 *
 * Python's threads hand a part over through locks and the GIL: about 110 us per call on
 * the 2-core VM these kernels are tuned on (``ThreadPoolExecutor``; 40 us for a bare lock
 * round trip), as long as a batch-norm pass over a 14x14x32 batch takes, which ran slower
 * on two cores than on one. Here the helpers never touch Python: after a part they spin
 * on the job counter for ``SPIN_NS`` (a kernel's next pass, a few tens of microseconds of
 * Python later, finds them awake), then sleep on a condition variable.
 *
 * One call runs at a time; a call that finds the helpers busy (another thread's kernel)
 * runs its parts one after the other on its own thread: the same parts, so the same
 * results, as the parallel run. A forked child starts with no helpers and makes its own.
 *
 * Memory order: the caller writes the job, then publishes a new ``ticket`` (release); a
 * helper that sees it (acquire) and has a part in it reads the job; each helper's writes
 * are published by its decrement of ``pending`` (release), which the caller waits on
 * (acquire) before the next job can be written. A helper without a part in a job reads
 * only the ticket. */

#include "parallel.h"

#if defined(_WIN32)

void parallel_rows(rows_work work, void *context, ptrdiff_t rows, int parts)
{
    for (int part = 0; part < parts; part++)
        work(context, rows * part / parts, rows * (part + 1) / parts, part);
}

#else

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define SPIN_NS 100000L /* a helper's wait for the next job before it sleeps */

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static struct {
    pthread_mutex_t call;  /* held by the one call running */
    pthread_mutex_t lock;  /* guards sleeping helpers' wake-up */
    pthread_cond_t wake;
    int helpers;           /* helper threads started; helper i runs part i */
    atomic_ulong ticket;   /* job number << 8 | helped: how many helpers take a part */
    atomic_int pending;    /* helpers' parts of the current job not yet done */
    rows_work work;
    void *context;
    ptrdiff_t rows;
    int parts;
    int fork_handler;
    unsigned long first_ticket[MAX_PARTS]; /* the ticket before a helper's first job */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

static unsigned long next_ticket(unsigned long seen)
{
    unsigned long now;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned spins = 1;; spins++) {
        now = atomic_load_explicit(&pool.ticket, memory_order_acquire);
        if (now != seen)
            return now;
        CPU_RELAX();
        if (spins % 64 == 0 && elapsed_ns(&start) > SPIN_NS)
            break;
    }
    pthread_mutex_lock(&pool.lock);
    while ((now = atomic_load_explicit(&pool.ticket, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool.wake, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    return now;
}

static void *helper_main(void *argument)
{
    const int part = (int)(intptr_t)argument;
    /* not the ticket now: the caller that made this thread may have published its job */
    unsigned long seen = pool.first_ticket[part];
    for (;;) {
        seen = next_ticket(seen);
        /* a helper without a part reads nothing else: the next job may be being written */
        if (part <= (int)(seen & 0xff)) {
            pool.work(pool.context, pool.rows * part / pool.parts,
                      pool.rows * (part + 1) / pool.parts, part);
            atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
        }
    }
    return NULL;
}

static void forget_helpers_in_child(void)
{
    pthread_mutex_init(&pool.call, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.helpers = 0;
    atomic_store(&pool.pending, 0);
}

/* Helpers for parts 1 .. parts - 1 (fewer where a thread cannot be made). Called with
 * ``pool.call`` held. */
static void start_helpers(int parts)
{
    if (!pool.fork_handler) {
        pthread_atfork(NULL, NULL, forget_helpers_in_child);
        pool.fork_handler = 1;
    }
    while (pool.helpers < parts - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pool.first_ticket[pool.helpers + 1] = atomic_load(&pool.ticket);
        const int failed = pthread_create(&thread, &attributes, helper_main,
                                          (void *)(intptr_t)(pool.helpers + 1));
        pthread_attr_destroy(&attributes);
        if (failed)
            return;
        pool.helpers++;
    }
}

void parallel_rows(rows_work work, void *context, ptrdiff_t rows, int parts)
{
    if (parts > MAX_PARTS)
        parts = MAX_PARTS;
    if (parts > rows)
        parts = rows > 1 ? (int)rows : 1;
    if (parts < 2 || pthread_mutex_trylock(&pool.call) != 0) {
        for (int part = 0; part < parts; part++)
            work(context, rows * part / parts, rows * (part + 1) / parts, part);
        return;
    }
    start_helpers(parts);
    const int helped = pool.helpers < parts - 1 ? pool.helpers : parts - 1;
    pool.work = work;
    pool.context = context;
    pool.rows = rows;
    pool.parts = parts;
    atomic_store_explicit(&pool.pending, helped, memory_order_relaxed);
    const unsigned long job = (atomic_load_explicit(&pool.ticket, memory_order_relaxed) >> 8) + 1;
    pthread_mutex_lock(&pool.lock);
    atomic_store_explicit(&pool.ticket, job << 8 | (unsigned long)helped, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    /* part 0 here, and any part no helper could be made for */
    work(context, 0, rows / parts, 0);
    for (int part = helped + 1; part < parts; part++)
        work(context, rows * part / parts, rows * (part + 1) / parts, part);
    for (unsigned spins = 1; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0;
         spins++) {
        CPU_RELAX();
        if (spins % 1024 == 0)
            sched_yield();
    }
    pthread_mutex_unlock(&pool.call);
}

#endif
