/*
 * threads.h -- pybp's thread pool: a parallel "for" over task indices, with
 * the calling thread taking part.  POSIX threads, or Win32 threads on
 * Windows; no OpenMP (docs/kernels.md says why).
 *
 * One pool per process (the tasks' work partition is the caller's; the pool
 * only hands tasks out).  A call that finds the pool busy (another thread of
 * the process is inside pybp_pool_run) runs all its tasks inline on its own
 * thread, so concurrent callers never oversubscribe the cores.  Workers are
 * started on first need, spin briefly after each job and then sleep on a
 * condition variable.  After fork() the child starts with an empty pool
 * (threads do not survive fork) and creates its own workers when needed.
 *
 * Every function here may be called from any thread, with or without the
 * GIL; none calls into Python.
 */
#ifndef PYBP_THREADS_H
#define PYBP_THREADS_H

#include <stdint.h>

/* The most threads the pool will use, whatever is asked for. */
#define PYBP_MAX_THREADS 256

/*
 * Work below this many floating-point operations per extra thread is not
 * worth waking a thread for (a wake-up and the join cost a few microseconds):
 * see pybp_pool_workers_for.
 */
#define PYBP_POOL_MIN_FLOPS_PER_WORKER 1.0e6

/* Task function: runs task `task` (0 <= task < n_tasks) as worker `worker`
 * (0 <= worker < the count pybp_pool_run returns; worker 0 is the caller). */
typedef void (*pybp_task_fn)(void *ctx, int64_t task, int worker);

/*
 * Runs fn(ctx, t, w) once for every t in [0, n_tasks), spread over at most
 * max_threads threads (the caller included; max_threads <= 0 means
 * pybp_get_num_threads()).  The tasks are claimed in increasing order, one
 * at a time, by whichever worker is free (the caller and up to W-1 helpers,
 * W the returned count), so a helper the OS is slow to schedule delays
 * nothing; which worker runs a task is therefore not fixed, and fn's
 * results must not depend on it (the fast kernels' do not: a task always
 * computes the same outputs in the same order).  Returns when every task
 * has finished.
 * Preconditions: fn is not NULL, n_tasks >= 0; fn does not call
 * pybp_pool_run itself (if it does, that inner call runs inline).
 * Returns W, 1 <= W <= min(max_threads, n_tasks) (1 when n_tasks <= 1):
 * workers that took part have indices below W.
 */
int pybp_pool_run(int64_t n_tasks, pybp_task_fn fn, void *ctx,
                  int max_threads);

/*
 * How many threads to use for `flops` floating-point operations when up to
 * n_threads are allowed (n_threads <= 0: pybp_get_num_threads()): at least
 * PYBP_POOL_MIN_FLOPS_PER_WORKER per extra thread, so small work runs on the
 * calling thread alone.  Returns a value in [1, n_threads].
 */
int pybp_pool_workers_for(double flops, int n_threads);

/*
 * The thread count used when a kernel is asked for 0 (= default) threads.
 * n <= 0 restores the default: the environment variable PYBP_NUM_THREADS if
 * it holds a positive integer, else the number of cores this process may run
 * on (its CPU affinity mask on Linux and Windows).  Values above
 * PYBP_MAX_THREADS are clipped.
 */
void pybp_set_num_threads(int n);
int pybp_get_num_threads(void);

/* The number of cores this process may run on (>= 1). */
int pybp_available_cores(void);

/*
 * Stops and joins the pool's workers (e.g. before unloading the library, or
 * for leak checkers).  Precondition: no pybp_pool_run is in progress.  The
 * pool restarts on the next call that needs threads.
 */
void pybp_pool_shutdown(void);

/*
 * A scratch buffer of at least `bytes` bytes owned by the calling thread,
 * kept between calls and freed when the thread exits: the fast kernel set's
 * layer products pack their operands into it, so that nothing is allocated
 * per product once a thread has seen its largest layer.  The block is
 * reused by the next call from the same thread (whose contents it
 * overwrites) and grows when asked for more (the old contents are lost).
 * Returns NULL if the allocation fails (the caller then falls back to a
 * method needing no scratch).  Pointers are 8-byte aligned.
 */
void *pybp_thread_scratch(size_t bytes);

/*
 * A second such buffer per thread, independent of the first: a threaded
 * product's private copy of a packed operand (fast_impl.h), taken by every
 * worker of the product, the caller included, while the caller's own
 * pybp_thread_scratch block holds the product's workspace.  Same contract.
 */
void *pybp_thread_pack_scratch(size_t bytes);

#endif /* PYBP_THREADS_H */
