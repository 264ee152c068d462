/*
 * threads.c -- the thread pool declared in threads.h.
 *
 * State: one mutex `lock` guards the job description, the generation
 * counter and the count of workers still running the job; `wake` is
 * broadcast when a job is posted, `done` is signalled by the last worker to
 * finish.  A separate `busy` flag (taken with a try-lock) admits one caller
 * at a time; a caller that finds it taken runs its tasks inline.
 *
 * Workers spin for a short while (PYBP_SPIN_ROUNDS polls of the generation
 * counter) before sleeping on `wake`, so the back-to-back jobs of a training
 * step (one per layer and pass) do not pay a sleep/wake-up each, while an
 * idle pool costs no CPU; a spinning thread yields to the OS every
 * PYBP_SPIN_YIELD_EVERY polls (spin_round).
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif

#include <stdlib.h>
#include <string.h>

#include "threads.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: processor groups, condition variables */
#endif
#include <windows.h>
typedef CRITICAL_SECTION pool_mutex;
typedef CONDITION_VARIABLE pool_cond;
typedef HANDLE pool_thread;
#define mutex_init(m) InitializeCriticalSection(m)
#define mutex_lock(m) EnterCriticalSection(m)
#define mutex_unlock(m) LeaveCriticalSection(m)
#define cond_init(c) InitializeConditionVariable(c)
#define cond_wait(c, m) SleepConditionVariableCS((c), (m), INFINITE)
#define cond_broadcast(c) WakeAllConditionVariable(c)
#define cond_signal(c) WakeConditionVariable(c)
#define cpu_relax() YieldProcessor()
#define thread_yield() ((void)SwitchToThread())
#else
#include <pthread.h>
#include <unistd.h>
#include <sched.h> /* sched_yield; sched_getaffinity on Linux */
typedef pthread_mutex_t pool_mutex;
typedef pthread_cond_t pool_cond;
typedef pthread_t pool_thread;
#define mutex_init(m) pthread_mutex_init((m), NULL)
#define mutex_lock(m) pthread_mutex_lock(m)
#define mutex_unlock(m) pthread_mutex_unlock(m)
#define cond_init(c) pthread_cond_init((c), NULL)
#define cond_wait(c, m) pthread_cond_wait((c), (m))
#define cond_broadcast(c) pthread_cond_broadcast(c)
#define cond_signal(c) pthread_cond_signal(c)
#define thread_yield() ((void)sched_yield())
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __asm__ __volatile__("pause")
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif
#endif

/* Atomic loads and stores of a long, and an atomic fetch-and-add of an
 * int64_t (the task counter); the mutex orders everything else.  MSVC:
 * volatile accesses have acquire/release semantics with its default
 * /volatile:ms on x86-64 (and the Interlocked functions are full barriers). */
#if defined(_MSC_VER) && !defined(__clang__)
static long load_acquire(volatile long *p) { return *p; }
static void store_release(volatile long *p, long v) { *p = v; }
static int64_t fetch_add(volatile int64_t *p, int64_t v)
{ return (int64_t)InterlockedExchangeAdd64((volatile LONG64 *)p, v); }
#else
static long load_acquire(volatile long *p)
{ return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_release(volatile long *p, long v)
{ __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static int64_t fetch_add(volatile int64_t *p, int64_t v)
{ return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
#endif

#define PYBP_SPIN_ROUNDS 4000

/* One round of a spin-wait: a pause, and every PYBP_SPIN_YIELD_EVERY rounds
 * a yield to the OS, so that a spinning thread that the scheduler has put
 * on the same core as the thread it waits for gives that core back instead
 * of halving its speed.  Seen in bench/run.py: right after JAX or PyTorch
 * ran in the process, a 784-net fit took 55-67 ms instead of 45 (as fast
 * again with the threads pinned to two cores); with a yield every 16
 * rounds, 42-46 ms, and no slower when alone (every 128: 44-49 ms). */
#define PYBP_SPIN_YIELD_EVERY 16
static void spin_round(int spin)
{
    if (spin % PYBP_SPIN_YIELD_EVERY == PYBP_SPIN_YIELD_EVERY - 1)
        thread_yield();
    else
        cpu_relax();
}

typedef struct pool_state {
    pool_mutex lock;
    pool_cond wake, done;
    int n_workers;                /* threads started, caller not counted */
    pool_thread thread[PYBP_MAX_THREADS];
    long start_gen[PYBP_MAX_THREADS + 1]; /* generation when w started */
    int stop;                     /* set by pybp_pool_shutdown            */
    /* the job, written under `lock` before `generation` is bumped */
    volatile long generation;
    pybp_task_fn fn;
    void *ctx;
    int64_t n_tasks;
    int job_workers;              /* caller included                      */
    volatile int64_t next_task;   /* the next task to claim               */
    int open;                     /* helpers may still join the job       */
    volatile long running;        /* helpers inside the job               */
    /* admission: 1 while a caller owns the pool */
    pool_mutex busy_lock;
    int busy;
} pool_state;

static pool_state pool;
static volatile long num_threads; /* 0: not yet decided */

/* ---- one-time set-up and fork handling --------------------------------- */

static void init_sync(void)
{
    mutex_init(&pool.lock);
    mutex_init(&pool.busy_lock);
    cond_init(&pool.wake);
    cond_init(&pool.done);
    pool.n_workers = 0;
    pool.stop = 0;
    pool.generation = 0;
    pool.running = 0;
    pool.open = 0;
    pool.busy = 0;
}

#ifdef _WIN32
static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
/* the two scratch slots: 0 pybp_thread_scratch, 1 pybp_thread_pack_scratch */
static DWORD scratch_key[2] = {FLS_OUT_OF_INDEXES, FLS_OUT_OF_INDEXES};
static void WINAPI scratch_free(PVOID p) { free(p); }
static BOOL CALLBACK init_once_cb(PINIT_ONCE o, PVOID p, PVOID *c)
{
    (void)o; (void)p; (void)c;
    init_sync();
    scratch_key[0] = FlsAlloc(scratch_free);
    scratch_key[1] = FlsAlloc(scratch_free);
    return TRUE;
}
static void ensure_init(void) { InitOnceExecuteOnce(&once, init_once_cb, NULL, NULL); }
#else
static pthread_once_t once = PTHREAD_ONCE_INIT;

/*
 * In a forked child only the forking thread exists: the workers are gone and
 * the locks may have been held by threads that no longer exist.  Start over
 * with fresh locks and no workers (the old thread handles are dropped).
 */
static void atfork_child(void) { init_sync(); }

/* the two scratch slots: 0 pybp_thread_scratch, 1 pybp_thread_pack_scratch */
static pthread_key_t scratch_key[2];
static int scratch_key_ok[2];

static void init_posix(void)
{
    init_sync();
    pthread_atfork(NULL, NULL, atfork_child);
    scratch_key_ok[0] = pthread_key_create(&scratch_key[0], free) == 0;
    scratch_key_ok[1] = pthread_key_create(&scratch_key[1], free) == 0;
}
static void ensure_init(void) { pthread_once(&once, init_posix); }
#endif

/* ---- thread counts ------------------------------------------------------ */

int pybp_available_cores(void)
{
    int n = 0;
#if defined(_WIN32)
    DWORD_PTR proc_mask, sys_mask;
    if (GetProcessAffinityMask(GetCurrentProcess(), &proc_mask, &sys_mask)) {
        while (proc_mask) { n += (int)(proc_mask & 1); proc_mask >>= 1; }
    }
    /* the mask covers one processor group; machines with more groups
     * report all active processors */
    if (GetActiveProcessorGroupCount() > 1)
        n = (int)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
#elif defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
#if !defined(_WIN32)
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)(c > PYBP_MAX_THREADS ? PYBP_MAX_THREADS : c) : 1;
    }
#endif
    if (n <= 0) n = 1;
    return n > PYBP_MAX_THREADS ? PYBP_MAX_THREADS : n;
}

static int default_threads(void)
{
    const char *env = getenv("PYBP_NUM_THREADS");
    if (env != NULL && env[0] != '\0') {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0)
            return v > PYBP_MAX_THREADS ? PYBP_MAX_THREADS : (int)v;
    }
    return pybp_available_cores();
}

void pybp_set_num_threads(int n)
{
    if (n <= 0) n = default_threads();
    if (n > PYBP_MAX_THREADS) n = PYBP_MAX_THREADS;
    store_release(&num_threads, n);
}

int pybp_get_num_threads(void)
{
    long n = load_acquire(&num_threads);
    if (n <= 0) {
        n = default_threads();
        store_release(&num_threads, n);
    }
    return (int)n;
}

int pybp_pool_workers_for(double flops, int n_threads)
{
    double w;
    if (n_threads <= 0) n_threads = pybp_get_num_threads();
    if (n_threads > PYBP_MAX_THREADS) n_threads = PYBP_MAX_THREADS;
    if (!(flops > 0)) return 1;
    w = 1.0 + flops / PYBP_POOL_MIN_FLOPS_PER_WORKER;
    return w >= (double)n_threads ? n_threads : (int)w;
}

/* ---- the workers -------------------------------------------------------- */

/* Claims and runs tasks of the current job as worker w until none is left. */
static void run_claimed(pybp_task_fn fn, void *ctx, int64_t n_tasks, int w)
{
    int64_t t;
    while ((t = fetch_add(&pool.next_task, 1)) < n_tasks) fn(ctx, t, w);
}

static void run_inline(pybp_task_fn fn, void *ctx, int64_t n_tasks)
{
    int64_t t;
    for (t = 0; t < n_tasks; ++t) fn(ctx, t, 0);
}

static void worker_loop(int w)
{
    /* the generation before the job this worker was started for */
    long seen;
    mutex_lock(&pool.lock);
    seen = pool.start_gen[w];
    mutex_unlock(&pool.lock);
    for (;;) {
        pybp_task_fn fn;
        void *ctx;
        int64_t n_tasks;
        int spin;
        for (spin = 0; spin < PYBP_SPIN_ROUNDS; ++spin) {
            if (load_acquire(&pool.generation) != seen) break;
            spin_round(spin);
        }
        mutex_lock(&pool.lock);
        while (pool.generation == seen && !pool.stop)
            cond_wait(&pool.wake, &pool.lock);
        if (pool.stop) {
            mutex_unlock(&pool.lock);
            return;
        }
        seen = pool.generation;
        /* join only a job still open (its caller has not yet started
         * waiting for the end) that wants this many workers */
        if (!pool.open || w >= pool.job_workers) {
            mutex_unlock(&pool.lock);
            continue;
        }
        store_release(&pool.running, pool.running + 1);
        fn = pool.fn;
        ctx = pool.ctx;
        n_tasks = pool.n_tasks;
        mutex_unlock(&pool.lock);
        run_claimed(fn, ctx, n_tasks, w);
        mutex_lock(&pool.lock);
        store_release(&pool.running, pool.running - 1);
        if (pool.running == 0) cond_signal(&pool.done);
        mutex_unlock(&pool.lock);
    }
}

/* Worker indices start at 1 (the caller is worker 0); passed by value in
 * the pointer argument. */
#ifdef _WIN32
static DWORD WINAPI worker_main(LPVOID arg)
{
    worker_loop((int)(intptr_t)arg);
    return 0;
}
static int start_thread(pool_thread *t, int w)
{
    *t = CreateThread(NULL, 0, worker_main, (LPVOID)(intptr_t)w, 0, NULL);
    return *t != NULL ? 0 : -1;
}
static void join_thread(pool_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
static void *worker_main(void *arg)
{
    worker_loop((int)(intptr_t)arg);
    return NULL;
}
static int start_thread(pool_thread *t, int w)
{
    return pthread_create(t, NULL, worker_main, (void *)(intptr_t)w) == 0
               ? 0 : -1;
}
static void join_thread(pool_thread t) { pthread_join(t, NULL); }
#endif

/* Takes the pool for this caller; 0 if another caller has it. */
static int try_acquire(void)
{
    int got;
    mutex_lock(&pool.busy_lock);
    got = !pool.busy;
    if (got) pool.busy = 1;
    mutex_unlock(&pool.busy_lock);
    return got;
}

static void release(void)
{
    mutex_lock(&pool.busy_lock);
    pool.busy = 0;
    mutex_unlock(&pool.busy_lock);
}

int pybp_pool_run(int64_t n_tasks, pybp_task_fn fn, void *ctx,
                  int max_threads)
{
    int want, spin;
    if (n_tasks <= 0) return 1;
    if (max_threads <= 0) max_threads = pybp_get_num_threads();
    if (max_threads > PYBP_MAX_THREADS) max_threads = PYBP_MAX_THREADS;
    want = n_tasks < max_threads ? (int)n_tasks : max_threads;
    if (want > 1) {
        ensure_init();
        if (!try_acquire()) want = 1; /* another caller has the pool */
    }
    if (want <= 1) {
        run_inline(fn, ctx, n_tasks);
        return 1;
    }
    /* Start the helpers this job needs (helper w has index w, 1..want-1);
     * if the system refuses a thread, use the ones there are. */
    while (pool.n_workers < want - 1) {
        mutex_lock(&pool.lock);
        pool.start_gen[pool.n_workers + 1] = pool.generation;
        mutex_unlock(&pool.lock);
        if (start_thread(&pool.thread[pool.n_workers], pool.n_workers + 1))
            break;
        ++pool.n_workers;
    }
    if (want > pool.n_workers + 1) want = pool.n_workers + 1;
    if (want <= 1) {
        release();
        run_inline(fn, ctx, n_tasks);
        return 1;
    }
    mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = n_tasks;
    pool.job_workers = want;
    pool.next_task = 0;
    store_release(&pool.running, 0);
    pool.open = 1;
    store_release(&pool.generation, pool.generation + 1);
    cond_broadcast(&pool.wake);
    mutex_unlock(&pool.lock);

    run_claimed(fn, ctx, n_tasks, 0);

    /* Every task is claimed: close the job to late helpers, then wait for
     * the ones still running a task.  (A helper the OS has not scheduled
     * yet costs nothing: it will find the job closed.) */
    mutex_lock(&pool.lock);
    pool.open = 0;
    mutex_unlock(&pool.lock);
    for (spin = 0; spin < PYBP_SPIN_ROUNDS; ++spin) {
        if (load_acquire(&pool.running) == 0) break;
        spin_round(spin);
    }
    mutex_lock(&pool.lock);
    while (pool.running > 0) cond_wait(&pool.done, &pool.lock);
    mutex_unlock(&pool.lock);
    release();
    return want;
}

void pybp_pool_shutdown(void)
{
    int i, n;
    ensure_init();
    if (!try_acquire()) return; /* precondition broken: leave it running */
    mutex_lock(&pool.lock);
    pool.stop = 1;
    cond_broadcast(&pool.wake);
    n = pool.n_workers;
    mutex_unlock(&pool.lock);
    for (i = 0; i < n; ++i) join_thread(pool.thread[i]);
    mutex_lock(&pool.lock);
    pool.n_workers = 0;
    pool.stop = 0;
    mutex_unlock(&pool.lock);
    release();
}

/* ---- per-thread scratch ------------------------------------------------- */

/*
 * The block is a header (its capacity) followed by the scratch itself; the
 * thread-local slot holds the block, freed by the slot's destructor when
 * the thread exits.  A fork child keeps the forking thread's block.
 */
typedef struct scratch_block {
    size_t capacity;
    double align_; /* keeps the scratch after it 8-byte aligned */
} scratch_block;

static void *slot_scratch(int slot, size_t bytes)
{
    scratch_block *blk;
    ensure_init();
#ifdef _WIN32
    if (scratch_key[slot] == FLS_OUT_OF_INDEXES) return NULL;
    blk = (scratch_block *)FlsGetValue(scratch_key[slot]);
#else
    if (!scratch_key_ok[slot]) return NULL;
    blk = (scratch_block *)pthread_getspecific(scratch_key[slot]);
#endif
    if (blk != NULL && blk->capacity >= bytes) return blk + 1;
    if (bytes > (size_t)-1 - sizeof(scratch_block)) return NULL;
    /* grow by at least half, so a slowly growing demand reallocates rarely */
    if (blk != NULL && bytes < blk->capacity + blk->capacity / 2)
        bytes = blk->capacity + blk->capacity / 2;
    free(blk);
    blk = (scratch_block *)malloc(sizeof(scratch_block) + bytes);
    if (blk != NULL) blk->capacity = bytes;
#ifdef _WIN32
    FlsSetValue(scratch_key[slot], blk);
#else
    pthread_setspecific(scratch_key[slot], blk);
#endif
    return blk != NULL ? (void *)(blk + 1) : NULL;
}

void *pybp_thread_scratch(size_t bytes) { return slot_scratch(0, bytes); }

void *pybp_thread_pack_scratch(size_t bytes) { return slot_scratch(1, bytes); }
