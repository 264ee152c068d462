/*
 * test_threads.c -- the thread pool (csrc/threads.h): every task runs once
 * (with valid worker indices), thread counts, small work inline, concurrent
 * callers (each gets a correct result; a busy pool runs the second inline),
 * and fork safety (a child forked after the pool started runs threaded work).
 * Exit status 0 when everything passes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fast_kernels.h"
#include "threads.h"

static int failures = 0, checks = 0;
#define CHECK(cond, ...) do { ++checks; if (!(cond)) { ++failures; \
    printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

typedef struct count_ctx {
    int64_t n;
    volatile int *hits;
    volatile int worker_of[4096];
    volatile int max_worker;
} count_ctx;

static void count_task(void *vctx, int64_t t, int worker)
{
    count_ctx *c = (count_ctx *)vctx;
    volatile unsigned spin = 0;
    while (spin < 20000) ++spin; /* enough work that helpers get a share */
    __atomic_fetch_add(&c->hits[t], 1, __ATOMIC_RELAXED);
    c->worker_of[t] = worker;
}

static void test_partition(int n_tasks, int threads)
{
    count_ctx *c = calloc(1, sizeof *c);
    int i, used, ok = 1, ids_ok = 1;
    c->hits = calloc((size_t)n_tasks + 1, sizeof(int));
    used = pybp_pool_run(n_tasks, count_task, c, threads);
    for (i = 0; i < n_tasks; ++i) ok &= c->hits[i] == 1;
    for (i = 0; i < n_tasks; ++i)
        ids_ok &= c->worker_of[i] >= 0 && c->worker_of[i] < used;
    CHECK(ok, "%d tasks on %d threads: a task ran %s", n_tasks, threads, "not exactly once");
    CHECK(ids_ok, "%d tasks on %d threads: a worker index outside [0, %d)", n_tasks, threads, used);
    CHECK(used >= 1 && used <= (threads < n_tasks ? threads : (n_tasks > 0 ? n_tasks : 1)),
          "%d tasks on %d threads: %d workers", n_tasks, threads, used);
    CHECK(threads <= 1 || n_tasks <= 1 || used > 1,
          "%d tasks on %d threads: %d workers offered", n_tasks, threads, used);
    free((void *)c->hits);
    free(c);
}

/* A threaded forward product, checked against the one-thread result. */
static int forward_agrees(int threads)
{
    enum { N = 128, NI = 300, NO = 96 };
    /* per call: callers in several threads must not share buffers */
    float *X = malloc(sizeof(float) * N * NI), *W = malloc(sizeof(float) * NO * NI);
    float *Y1 = malloc(sizeof(float) * N * NO), *Yt = malloc(sizeof(float) * N * NO);
    int64_t i;
    int same;
    for (i = 0; i < N * NI; ++i) X[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (i = 0; i < NO * NI; ++i) W[i] = (float)((i * 104729 % 997) % 997) / 997.0f - 0.5f;
    pybp_fast_forward_f32(N, NI, NO, X, W, NULL, PYBP_FAST_ACT_TANH, Y1, NULL, NULL, 0, 1);
    pybp_fast_forward_f32(N, NI, NO, X, W, NULL, PYBP_FAST_ACT_TANH, Yt, NULL, NULL, 0, threads);
    same = memcmp(Y1, Yt, sizeof(float) * N * NO) == 0;
    free(X); free(W); free(Y1); free(Yt);
    return same;
}

static void *concurrent_caller(void *arg)
{
    int r, *ok = (int *)arg;
    *ok = 1;
    for (r = 0; r < 20; ++r) *ok &= forward_agrees(2);
    return NULL;
}

int main(void)
{
    int i, status;
    pid_t pid;
    pthread_t th[3];
    int ok[3];

    pybp_set_num_threads(3);
    CHECK(pybp_get_num_threads() == 3, "set_num_threads(3) -> %d", pybp_get_num_threads());
    pybp_set_num_threads(100000);
    CHECK(pybp_get_num_threads() == PYBP_MAX_THREADS, "clipped: %d", pybp_get_num_threads());
    pybp_set_num_threads(0);
    CHECK(pybp_get_num_threads() >= 1 && pybp_get_num_threads() <= PYBP_MAX_THREADS,
          "default %d", pybp_get_num_threads());
    printf("available cores %d, default threads %d\n", pybp_available_cores(), pybp_get_num_threads());

    CHECK(pybp_pool_workers_for(1e3, 4) == 1, "small work is inline");
    CHECK(pybp_pool_workers_for(1e9, 4) == 4, "large work uses all threads");
    CHECK(pybp_pool_workers_for(0, 4) == 1, "no work");
    CHECK(pybp_pool_run(0, count_task, NULL, 4) == 1, "zero tasks");

    for (i = 1; i <= 5; ++i) {
        test_partition(1, i);
        test_partition(7, i);
        test_partition(100, i);
        test_partition(4096, i);
    }
    for (i = 1; i <= 4; ++i) CHECK(forward_agrees(i), "forward, %d threads", i);

    /* concurrent callers: all get correct results, nothing deadlocks */
    for (i = 0; i < 3; ++i) pthread_create(&th[i], NULL, concurrent_caller, &ok[i]);
    for (i = 0; i < 3; ++i) {
        pthread_join(th[i], NULL);
        CHECK(ok[i], "concurrent caller %d", i);
    }

    /* fork after the pool has started: the child must run threaded work */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        count_ctx *c = calloc(1, sizeof *c);
        int used, all = 1;
        c->hits = calloc(64, sizeof(int));
        used = pybp_pool_run(64, count_task, c, 2);
        for (i = 0; i < 64; ++i) all &= c->hits[i] == 1;
        _exit(all && used == 2 && forward_agrees(2) ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0, "forked child");

    pybp_pool_shutdown();
    test_partition(100, 2); /* restarts after shutdown */
    pybp_pool_shutdown();
    printf("thread pool: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
