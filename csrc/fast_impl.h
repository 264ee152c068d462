/*
 * fast_impl.h -- the body of the fast layer kernels (fast_kernels.h), for one
 * precision and one instruction-set variant.  fast_instantiate.h includes it
 * once per precision with:
 *   REAL        double or float
 *   SFX(name)   name suffixed _f64_ISA / _f32_ISA
 *   FAST_MR, FAST_NR   the micro-tile: FAST_MR rows by FAST_NR columns
 *   FAST_UKR    the micro-kernel, void (int64_t kc, const REAL *a,
 *               const REAL *b, REAL *tile): tile[r*FAST_NR + c] =
 *               sum_{p<kc} a[p*FAST_MR + r] * b[p*FAST_NR + c], p increasing
 *   FAST_UKR_DIRECT  the same with A in place, void (int64_t kc,
 *               const REAL *a, int64_t lda, const REAL *b, REAL *tile):
 *               a[r*lda + p] for a[p*FAST_MR + r]
 *   FAST_MADD(a, b, acc)  the micro-kernel's multiply-add, acc + a*b
 *               (fused, fma(), where the micro-kernel fuses)
 *   FAST_SIGMOID, FAST_TANH   the variant's array activations of that
 *               precision, void (const REAL *z, int64_t n, REAL *a)
 *   FAST_PACK_T (optional)    the variant's transposing copy for packing,
 *               void (REAL *dst, int width, const REAL *src, int64_t ts,
 *               int64_t kc, int64_t valid): fast_pack_avx2.h
 *
 * Every product is one C[M, N] = A[M, K] . B[K, N] computed the BLIS way:
 *  1. packing (parallel): A is copied into row panels of FAST_MR rows and B
 *     into column panels of FAST_NR columns, each panel contiguous in k and
 *     cut into k blocks of PYBP_FAST_KC; edges are padded with zeros, so the
 *     micro-kernel never reads outside the operands.  An A whose rows are
 *     contiguous in k (the forward's inputs, the delta's sensitivities) is
 *     not packed but read in place (FAST_UKR_DIRECT), but for a last panel
 *     of fewer than FAST_MR rows: packing it would be a transposing copy
 *     of the whole batch, per k block and, in shares, per share.  B (the weights in the
 *     forward and delta products) is packed once per call and shared by the
 *     whole batch and every thread.
 *  2. compute (parallel): the output is cut into blocks of whole micro-tiles,
 *     one task each.  A task runs, for each k block in increasing order,
 *     over its column panels and, inside, its row panels (the A block stays
 *     in L2, the B micro-panel in L1), calling the micro-kernel and then the
 *     fused epilogue on the tile.  Since each output's k blocks are summed
 *     in the same order whatever task computes it, the split (which depends
 *     on the thread count) never changes a bit of the result.
 * That is the plan for one thread (and the fallback).  A product worth
 * several threads runs as `shares` instead (fast_run_shares): each thread
 * packs and computes its own part of the output from panels no other
 * thread touches.
 */

#define FAST_OP_FORWARD 0
#define FAST_OP_DELTA 1
#define FAST_OP_GRADIENT 2

typedef struct SFX(fast_job) {
    int op;
    int64_t M, N, K;
    /* A(m, k) = A[m*a_rs + k*a_cs] (times cvec[k] when cvec is set) */
    const REAL *A, *cvec;
    int64_t a_rs, a_cs;
    /* B(k, n) = B[k*b_rs + n*b_cs] */
    const REAL *B;
    int64_t b_rs, b_cs;
    REAL *Ap, *Bp;                  /* packed panels, in the workspace      */
    int64_t mpanels, npanels, nchunks;
    int64_t chunk;                  /* the k block being packed / computed  */
    /* the output and its epilogue */
    REAL *C, *Z;                    /* row-major, leading dimension N       */
    const REAL *bias, *P;           /* forward bias; delta's activations    */
    int act;
    REAL scale;
    /* the bias gradient: gb[j] += scale * sum_k cvec[k] * D[k*N_out + j] */
    const REAL *D;
    REAL *gb;
    int64_t gb_blocks;
    /* compute tasks: row blocks x column blocks, in panels */
    int64_t col_blocks, rows_per_block, cols_per_block;
    /* shares (fast_run_shares): their count, whether they cut the rows
     * (else the columns), the bytes of one share's private panels, and
     * the shares a helper could not get those for (the caller redoes them) */
    int64_t shares;
    int split_rows;
    size_t share_bytes;
    unsigned char *undone;
} SFX(fast_job);

/* Whether row panel ip of A is read in place, not packed: a full panel of
 * an A whose rows are contiguous in k and unscaled. */
static int SFX(fast_a_in_place)(const SFX(fast_job) *J, int64_t ip)
{
    return J->a_cs == 1 && J->cvec == NULL && (ip + 1) * FAST_MR <= J->M;
}

#define FAST_GB_BLOCK 64

/* d[t] = s[t] (* c when scaled) for t < width, one panel row; called with
 * a constant width (FAST_NR or FAST_MR), so that the copy inlines. */
FAST_INLINE void SFX(fast_copy_row)(REAL *d, const REAL *s, int width, REAL c,
                                    int scaled)
{
    int t;
    if (scaled) for (t = 0; t < width; ++t) d[t] = s[t] * c;
    else memcpy(d, s, (size_t)width * sizeof(REAL));
}

/* dst[p*width + t] = src[p*ks + t*ts] (* cvec[p]) for t < valid, 0 beyond. */
static void SFX(fast_pack)(REAL *dst, int width, const REAL *src, int64_t ks,
                           int64_t ts, int64_t kc, int64_t valid,
                           const REAL *cvec)
{
    int64_t p, t;
    if (ts == 1) {
        /* whole panel rows: copies of constant length, which compilers
         * inline as a few vector moves (a memcpy call per row of 6 or 32
         * values cost 14 % of a 784-net fit) */
        if (valid == width && width == FAST_NR) {
            for (p = 0; p < kc; ++p)
                SFX(fast_copy_row)(dst + p * FAST_NR, src + p * ks, FAST_NR,
                                   cvec ? cvec[p] : (REAL)1, cvec != NULL);
            return;
        }
        if (valid == width && width == FAST_MR) {
            for (p = 0; p < kc; ++p)
                SFX(fast_copy_row)(dst + p * FAST_MR, src + p * ks, FAST_MR,
                                   cvec ? cvec[p] : (REAL)1, cvec != NULL);
            return;
        }
        for (p = 0; p < kc; ++p) {
            const REAL *s = src + p * ks;
            REAL *d = dst + p * width;
            if (cvec) {
                REAL cp = cvec[p];
                for (t = 0; t < valid; ++t) d[t] = s[t] * cp;
            } else {
                for (t = 0; t < valid; ++t) d[t] = s[t];
            }
            for (; t < width; ++t) d[t] = 0;
        }
    } else {
#ifdef FAST_PACK_T
        if (ks == 1 && cvec == NULL) { /* the variant's register transposes */
            FAST_PACK_T(dst, width, src, ts, kc, valid);
            return;
        }
#endif
        for (t = 0; t < valid; ++t) {
            const REAL *s = src + t * ts;
            if (cvec)
                for (p = 0; p < kc; ++p) dst[p * width + t] = s[p * ks] * cvec[p];
            else
                for (p = 0; p < kc; ++p) dst[p * width + t] = s[p * ks];
        }
        for (; t < width; ++t)
            for (p = 0; p < kc; ++p) dst[p * width + t] = 0;
    }
}

/* The first k and the length of k block `chunk`. */
static int64_t SFX(fast_kc)(const SFX(fast_job) *J, int64_t chunk, int64_t *pc)
{
    *pc = chunk * PYBP_FAST_KC;
    return J->K - *pc < PYBP_FAST_KC ? J->K - *pc : PYBP_FAST_KC;
}

/* Panel i of k block `chunk` into dst: row panel i of A (kc x FAST_MR)
 * when of_b is 0, column panel i of B (kc x FAST_NR) when 1. */
static void SFX(fast_pack_panel)(const SFX(fast_job) *J, int64_t chunk,
                                 int of_b, int64_t i, REAL *dst)
{
    const int width = of_b ? FAST_NR : FAST_MR;
    const int64_t extent = of_b ? J->N : J->M, t0 = i * width;
    const int64_t valid = extent - t0 < width ? extent - t0 : width;
    int64_t pc, kc = SFX(fast_kc)(J, chunk, &pc);
    if (of_b)
        SFX(fast_pack)(dst, FAST_NR, J->B + pc * J->b_rs + t0 * J->b_cs,
                       J->b_rs, J->b_cs, kc, valid, NULL);
    else if (!SFX(fast_a_in_place)(J, i))
        SFX(fast_pack)(dst, FAST_MR, J->A + t0 * J->a_rs + pc * J->a_cs,
                       J->a_cs, J->a_rs, kc, valid,
                       J->cvec ? J->cvec + pc : NULL);
}

/* The bias gradient of FAST_GB_BLOCK outputs (block blk) over k block
 * `chunk`, k in increasing order (in blocks like the weight gradient's, so
 * that a sum split into calls at block boundaries gives the same bits). */
static void SFX(fast_gb_block)(const SFX(fast_job) *J, int64_t chunk,
                               int64_t blk)
{
    int64_t j, k;
    int64_t j0 = blk * FAST_GB_BLOCK, n_out = J->M;
    int64_t j1 = j0 + FAST_GB_BLOCK < n_out ? j0 + FAST_GB_BLOCK : n_out;
    int64_t k0, k1 = SFX(fast_kc)(J, chunk, &k0);
    REAL s[FAST_GB_BLOCK];
    k1 += k0;
    for (j = j0; j < j1; ++j) s[j - j0] = 0;
    for (k = k0; k < k1; ++k) {
        const REAL *d = J->D + k * n_out;
        REAL ck = J->cvec ? J->cvec[k] : (REAL)1;
        for (j = j0; j < j1; ++j) s[j - j0] += ck * d[j];
    }
    for (j = j0; j < j1; ++j) J->gb[j] += J->scale * s[j - j0];
}

/* Packing phase of k block J->chunk: task t packs one A or B panel of it;
 * tasks beyond the panels add the bias gradient of one block of outputs
 * over this k block. */
static void SFX(fast_pack_task)(void *vctx, int64_t t, int worker)
{
    const SFX(fast_job) *J = (const SFX(fast_job) *)vctx;
    int64_t pc, kc = SFX(fast_kc)(J, J->chunk, &pc);
    (void)worker;
    if (t < J->mpanels)
        SFX(fast_pack_panel)(J, J->chunk, 0, t, J->Ap + t * kc * FAST_MR);
    else if (t < J->mpanels + J->npanels)
        SFX(fast_pack_panel)(J, J->chunk, 1, t - J->mpanels,
                             J->Bp + (t - J->mpanels) * kc * FAST_NR);
    else
        SFX(fast_gb_block)(J, J->chunk, t - J->mpanels - J->npanels);
}

/* a[i] = A(z[i]) for i < count (fast_kernels.h); every product's epilogue
 * and the per-sample step go through it, on a tile row or an output row, so
 * an output's bits do not depend on the path or the position that computed
 * it.  A row shorter than a vector takes the one-lane sigmoid and tanh
 * directly (the array loops' own tail: the same bits), so that they inline
 * where this does.  activate1 is one element's value (a sigmoid or tanh by
 * the one-lane function). */
FAST_INLINE REAL SFX(activate1)(int act, REAL z)
{
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return FAST_SIGMOID1(z);
    case PYBP_FAST_ACT_TANH: return FAST_TANH1(z);
    case PYBP_FAST_ACT_RELU: return z > 0 ? z : (REAL)0;
    case PYBP_FAST_ACT_LEAKY_RELU: /* z * 1 is z: a select, one multiply */
        return z * (z > 0 ? (REAL)1 : (REAL)PYBP_FAST_LEAKY_SLOPE);
    default: return z; /* identity; softmax is the caller's */
    }
}

FAST_INLINE void SFX(activate)(int act, const REAL *z, int64_t count,
                             REAL *a)
{
    int64_t i;
#define FAST_ACTIVATE_LOOP(ACT)                                               \
    for (i = 0; i < count; ++i) a[i] = SFX(activate1)(ACT, z[i])
    if (count <= 0) return;
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID:
        if (count >= FAST_ACT_LANES) FAST_SIGMOID(z, count, a);
        else FAST_ACTIVATE_LOOP(PYBP_FAST_ACT_SIGMOID);
        break;
    case PYBP_FAST_ACT_TANH:
        if (count >= FAST_ACT_LANES) FAST_TANH(z, count, a);
        else FAST_ACTIVATE_LOOP(PYBP_FAST_ACT_TANH);
        break;
    case PYBP_FAST_ACT_RELU: FAST_ACTIVATE_LOOP(PYBP_FAST_ACT_RELU); break;
    case PYBP_FAST_ACT_LEAKY_RELU:
        FAST_ACTIVATE_LOOP(PYBP_FAST_ACT_LEAKY_RELU);
        break;
    default: /* identity; softmax is the caller's */
        if (a != z) FAST_ACTIVATE_LOOP(PYBP_FAST_ACT_IDENTITY);
        break;
    }
#undef FAST_ACTIVATE_LOOP
}

void SFX(pybp_fast_activate)(int act, const REAL *z, int64_t count, REAL *a)
{
    SFX(activate)(act, z, count, a);
}

/* Row softmax (fast_kernels.h): z - max z for every row first, so that the
 * exp runs over the whole block in full vectors (a row of 10 would be one
 * vector and a scalar tail); its lanes and its one-lane tail give the same
 * bits, so a row's result does not depend on where the block cuts it. */
void SFX(pybp_fast_softmax)(const REAL *z, int64_t n, int64_t m, REAL *a)
{
    int64_t k, j;
    if (n <= 0 || m <= 0) return;
    for (k = 0; k < n; ++k) {
        const REAL *zk = z + k * m;
        REAL *ak = a + k * m;
        REAL zmax = zk[0];
        for (j = 1; j < m; ++j)
            if (zk[j] > zmax) zmax = zk[j];
        for (j = 0; j < m; ++j) ak[j] = zk[j] - zmax;
    }
    FAST_EXP_NONPOS(a, n * m, a);
    for (k = 0; k < n; ++k) {
        REAL *ak = a + k * m, sum = 0;
        for (j = 0; j < m; ++j) sum += ak[j];
        for (j = 0; j < m; ++j) ak[j] /= sum;
    }
}

/* y[i] = x[i] A'(p_i) from a[i] = A(p_i), i < count, as kernels_impl.h's
 * scale_by_derivative, with the choice of activation outside the loops (so
 * that they vectorise); x may equal y. */
static void SFX(fast_times_derivative)(int act, const REAL *a, const REAL *x,
                                       int64_t count, REAL *y)
{
    int64_t i;
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID:
        for (i = 0; i < count; ++i) y[i] = x[i] * (a[i] * ((REAL)1 - a[i]));
        break;
    case PYBP_FAST_ACT_TANH:
        for (i = 0; i < count; ++i) y[i] = x[i] * ((REAL)1 - a[i] * a[i]);
        break;
    /* the factor is chosen first and always multiplied in: written as
     * x * (a > 0 ? 1 : 0), GCC turns the multiply by 1 into a skipped
     * store, a branch per element that does not vectorise (9 % of a
     * 1024-wide relu delta product, on random signs) */
    case PYBP_FAST_ACT_RELU:
        for (i = 0; i < count; ++i) {
            const REAL m = a[i] > 0 ? (REAL)1 : (REAL)0;
            y[i] = x[i] * m;
        }
        break;
    case PYBP_FAST_ACT_LEAKY_RELU:
        for (i = 0; i < count; ++i) {
            const REAL m = a[i] > 0 ? (REAL)1 : (REAL)PYBP_FAST_LEAKY_SLOPE;
            y[i] = x[i] * m;
        }
        break;
    default:
        for (i = 0; i < count; ++i) y[i] = x[i] * (REAL)1;
        break;
    }
}

/* Adds one micro-tile (mr x nr valid of FAST_MR x FAST_NR) of k block
 * `chunk` into the output at (m0, n0), with the op's epilogue after the last
 * block.  The last block's sum is finished in the tile (t + y, + b: the
 * same additions in the same order as into y) and written to y once, by
 * the activation or the derivative's product: a pass that re-read a row
 * just stored narrower (memcpy's 16-byte moves) waited on the failed store
 * forwarding, a quarter of a 128-wide delta product. */
static void SFX(fast_epilogue)(const SFX(fast_job) *J, REAL *tile,
                               int64_t m0, int64_t n0, int64_t mr, int64_t nr,
                               int first, int last)
{
    int64_t r, c, N = J->N;
    for (r = 0; r < mr; ++r) {
        REAL *t = tile + r * FAST_NR;
        REAL *y = J->C + (m0 + r) * N + n0;
        if (J->op == FAST_OP_GRADIENT) {
            for (c = 0; c < nr; ++c) y[c] += J->scale * t[c];
            continue;
        }
        if (!last) { /* y = t, or y += t */
            if (first) for (c = 0; c < nr; ++c) y[c] = t[c];
            else for (c = 0; c < nr; ++c) y[c] += t[c];
            continue;
        }
        if (!first) for (c = 0; c < nr; ++c) t[c] = y[c] + t[c];
        if (J->op == FAST_OP_FORWARD) {
            /* z = the sum + b, then the activation (switch outside the
             * loops, vector code) */
            if (J->bias)
                for (c = 0; c < nr; ++c) t[c] += J->bias[n0 + c];
            if (J->Z) {
                REAL *z = J->Z + (m0 + r) * N + n0;
                for (c = 0; c < nr; ++c) z[c] = t[c];
            }
            SFX(pybp_fast_activate)(J->act, t, nr, y);
        } else if (J->P) { /* delta: times A' */
            SFX(fast_times_derivative)(J->act, J->P + (m0 + r) * N + n0, t,
                                       nr, y);
        } else {
            for (c = 0; c < nr; ++c) y[c] = t[c];
        }
    }
}

/* Asks for the output rows a tile will add to while the micro-kernel runs
 * (they are in L3 or memory: the output does not fit in L2). */
static void SFX(fast_prefetch_tile)(const REAL *c, int64_t ldc, int64_t mr)
{
#if defined(__GNUC__) || defined(__clang__)
    int64_t r;
    for (r = 0; r < mr; ++r) {
        __builtin_prefetch(c + r * ldc, 1, 3);
        __builtin_prefetch(c + r * ldc + FAST_NR - 1, 1, 3);
    }
#else
    (void)c; (void)ldc; (void)mr;
#endif
}

/* Micro-tiles of row panels [i0, i1) x column panels [j0, j1) of k block
 * `chunk`, from packed panels: row panel ip at Ablk + (ip - a0) * a_step,
 * column panel jp at Bblk + (jp - b0) * b_step.  Column panel by column panel (the B
 * micro-panel stays in L1), the row panels inside (the A block in L2). */
static void SFX(fast_compute_block)(const SFX(fast_job) *J, int64_t chunk,
                                    const REAL *Ablk, int64_t a0,
                                    int64_t a_step, const REAL *Bblk,
                                    int64_t b0, int64_t b_step, int64_t i0, int64_t i1, int64_t j0,
                                    int64_t j1)
{
    int64_t pc, kc = SFX(fast_kc)(J, chunk, &pc), ip, jp;
    int first = chunk == 0, last = chunk == J->nchunks - 1;
    REAL tile[FAST_MR * FAST_NR];
    for (jp = j0; jp < j1; ++jp) {
        int64_t n0 = jp * FAST_NR;
        int64_t nr = J->N - n0 < FAST_NR ? J->N - n0 : FAST_NR;
        for (ip = i0; ip < i1; ++ip) {
            int64_t m0 = ip * FAST_MR;
            int64_t mr = J->M - m0 < FAST_MR ? J->M - m0 : FAST_MR;
            if (!first || J->op == FAST_OP_GRADIENT)
                SFX(fast_prefetch_tile)(J->C + m0 * J->N + n0, J->N, mr);
            if (SFX(fast_a_in_place)(J, ip))
                FAST_UKR_DIRECT(kc, J->A + m0 * J->a_rs + pc, J->a_rs,
                                Bblk + (jp - b0) * b_step, tile);
            else
                FAST_UKR(kc, Ablk + (ip - a0) * a_step,
                         Bblk + (jp - b0) * b_step, tile);
            SFX(fast_epilogue)(J, tile, m0, n0, mr, nr, first, last);
        }
    }
}

/* Compute phase of k block J->chunk: task t is one block of row panels x
 * column panels. */
static void SFX(fast_compute_task)(void *vctx, int64_t t, int worker)
{
    const SFX(fast_job) *J = (const SFX(fast_job) *)vctx;
    int64_t ib = t / J->col_blocks, jb = t % J->col_blocks;
    int64_t i0 = ib * J->rows_per_block, j0 = jb * J->cols_per_block;
    int64_t i1 = i0 + J->rows_per_block, j1 = j0 + J->cols_per_block;
    int64_t pc, kc = SFX(fast_kc)(J, J->chunk, &pc);
    (void)worker;
    if (i1 > J->mpanels) i1 = J->mpanels;
    if (j1 > J->npanels) j1 = J->npanels;
    SFX(fast_compute_block)(J, J->chunk, J->Ap, 0, kc * FAST_MR, J->Bp, 0,
                            kc * FAST_NR, i0, i1, j0, j1);
}

/* Rows of the A block kept in L2 by one compute task (a multiple of
 * FAST_MR): about 192 KiB of packed A per k block.  FAST_MC_KB and
 * FAST_NC_COLS may be set at compile time for tuning experiments; the
 * results' bits do not depend on them. */
#ifndef FAST_MC_KB
#define FAST_MC_KB 192
#endif
#define FAST_MC_ROWS ((int64_t)(FAST_MC_KB * 1024 / (PYBP_FAST_KC * sizeof(REAL))))
/* Columns of one compute task at most (the B block, in L2/L3). */
#ifndef FAST_NC_COLS
#define FAST_NC_COLS ((int64_t)1024)
#endif

/*
 * Products worth several threads run as `shares`: share s owns a contiguous
 * range of whole row panels (or of column panels) of the output and does
 * everything for it, alone, k block after k block: it packs its own slice
 * of that operand and a copy of the whole other operand into the private
 * scratch of the thread running it (pybp_thread_pack_scratch), adds its
 * outputs' bias gradient blocks, and computes its tiles.  No thread reads
 * what another packed, so no packed panel moves between cores' caches
 * (with shared panels, that traffic cost as much as the second core gave
 * on the 784-128 layers), and the product is one job for the pool instead
 * of two per k block.  The price is the other operand packed once per
 * share, so the cut goes across the longer output side: rows when there
 * are more rows than columns (B is copied), else columns (A is copied).
 * Every output is still the same micro-kernel calls over the same k blocks
 * in the same order, so the bits are those of one thread.
 */
static void SFX(fast_share)(const SFX(fast_job) *J, int64_t s, REAL *priv)
{
    const int64_t panels = J->split_rows ? J->mpanels : J->npanels;
    const int64_t p0 = s * panels / J->shares;
    const int64_t p1 = (s + 1) * panels / J->shares;
    const int64_t kc_max = J->K < PYBP_FAST_KC ? J->K : PYBP_FAST_KC;
    int64_t mc_panels = FAST_MC_ROWS / FAST_MR, chunk, r, blk, i0;
    if (mc_panels < 1) mc_panels = 1;
    for (chunk = 0; chunk < J->nchunks; ++chunk) {
        int64_t pc, kc = SFX(fast_kc)(J, chunk, &pc);
        for (blk = s; blk < J->gb_blocks; blk += J->shares)
            SFX(fast_gb_block)(J, chunk, blk);
        if (J->split_rows) {
            /* own A rows first, then all of B, kc x FAST_NR per panel */
            REAL *Bp = priv + (p1 - p0) * kc_max * FAST_MR;
            for (r = p0; r < p1; ++r)
                SFX(fast_pack_panel)(J, chunk, 0, r, priv + (r - p0) * kc * FAST_MR);
            for (r = 0; r < J->npanels; ++r)
                SFX(fast_pack_panel)(J, chunk, 1, r, Bp + r * kc * FAST_NR);
            for (i0 = p0; i0 < p1; i0 += mc_panels)
                SFX(fast_compute_block)(J, chunk, priv, p0, kc * FAST_MR, Bp,
                                        0, kc * FAST_NR, i0,
                                        i0 + mc_panels < p1 ? i0 + mc_panels : p1,
                                        0, J->npanels);
        } else {
            /* all of A first, then own B columns */
            REAL *Bp = priv + J->mpanels * kc_max * FAST_MR;
            for (r = 0; r < J->mpanels; ++r)
                SFX(fast_pack_panel)(J, chunk, 0, r, priv + r * kc * FAST_MR);
            for (r = p0; r < p1; ++r)
                SFX(fast_pack_panel)(J, chunk, 1, r, Bp + (r - p0) * kc * FAST_NR);
            for (i0 = 0; i0 < J->mpanels; i0 += mc_panels)
                SFX(fast_compute_block)(J, chunk, priv, 0, kc * FAST_MR, Bp,
                                        p0, kc * FAST_NR, i0,
                                        i0 + mc_panels < J->mpanels ? i0 + mc_panels
                                                                     : J->mpanels,
                                        p0, p1);
        }
    }
}

/* A 64-byte-aligned private block for one share, or NULL. */
static REAL *SFX(fast_share_scratch)(const SFX(fast_job) *J)
{
    void *p = pybp_thread_pack_scratch(J->share_bytes + 64);
    return p ? (REAL *)(((uintptr_t)p + 63) & ~(uintptr_t)63) : NULL;
}

static void SFX(fast_share_task)(void *vctx, int64_t s, int worker)
{
    const SFX(fast_job) *J = (const SFX(fast_job) *)vctx;
    REAL *priv = SFX(fast_share_scratch)(J);
    (void)worker;
    if (priv == NULL) { J->undone[s] = 1; return; } /* the caller does it */
    SFX(fast_share)(J, s, priv);
}

/* Runs the product as shares on `workers` threads; 0 (nothing done) when
 * it cannot: too few panels to cut, or no private block for the caller. */
static int SFX(fast_run_shares)(SFX(fast_job) *J, int workers)
{
    unsigned char undone[PYBP_MAX_THREADS];
    const int64_t kc_max = J->K < PYBP_FAST_KC ? J->K : PYBP_FAST_KC;
    int64_t panels, s;
    REAL *priv;
    J->split_rows = J->M > J->N;
    panels = J->split_rows ? J->mpanels : J->npanels;
    if (panels < workers) {
        J->split_rows = !J->split_rows;
        panels = J->split_rows ? J->mpanels : J->npanels;
        if (panels < workers) return 0;
    }
    J->shares = workers;
    J->share_bytes =
        (size_t)((J->split_rows
                      ? ((panels + workers - 1) / workers) * FAST_MR + J->npanels * FAST_NR
                      : J->mpanels * FAST_MR + ((panels + workers - 1) / workers) * FAST_NR) *
                 kc_max) * sizeof(REAL);
    priv = SFX(fast_share_scratch)(J);
    if (priv == NULL) return 0;
    memset(undone, 0, (size_t)workers);
    J->undone = undone;
    pybp_pool_run(J->shares, SFX(fast_share_task), J, workers);
    for (s = 0; s < J->shares; ++s)
        if (undone[s]) SFX(fast_share)(J, s, priv);
    return 1;
}

/* For each k block in turn: packs it, then computes with it (so the packed
 * block is still in cache when the micro-kernels read it).  The workspace
 * and the task grid are decided here.  Preconditions: M, N, K > 0, ws has
 * room for the product's workspace size (fast_dispatch.c). */
static void SFX(fast_run)(SFX(fast_job) *J, void *ws, int n_threads)
{
    int workers;
    int64_t row_blocks, col_blocks, rpb, cpb, kc_max;
    uintptr_t base = ((uintptr_t)ws + 63) & ~(uintptr_t)63;
    J->mpanels = (J->M + FAST_MR - 1) / FAST_MR;
    J->npanels = (J->N + FAST_NR - 1) / FAST_NR;
    J->nchunks = (J->K + PYBP_FAST_KC - 1) / PYBP_FAST_KC;
    kc_max = J->K < PYBP_FAST_KC ? J->K : PYBP_FAST_KC;
    J->Ap = (REAL *)base;
    base += (uintptr_t)(J->mpanels * FAST_MR * kc_max) * sizeof(REAL);
    base = (base + 63) & ~(uintptr_t)63;
    J->Bp = (REAL *)base;
    J->gb_blocks = J->gb ? (J->M + FAST_GB_BLOCK - 1) / FAST_GB_BLOCK : 0;

    workers = pybp_pool_workers_for(2.0 * (double)J->M * (double)J->N *
                                    (double)J->K, n_threads);
    if (workers > 1 && SFX(fast_run_shares)(J, workers)) return;

    /* Task grid: row blocks of at most FAST_MC_ROWS rows and column blocks
     * of at most FAST_NC_COLS, then, with several workers, narrower column
     * (then shorter row) blocks until there are three tasks per worker, so
     * that the dynamic hand-out of the pool balances the load even when a
     * worker joins late.  The count is of the blocks the panels per block
     * give (8 panels in blocks of 2 are 4 tasks, not the 6 asked for). */
    {
        int64_t mc_panels = FAST_MC_ROWS / FAST_MR, nc_panels = FAST_NC_COLS / FAST_NR;
        const int64_t want = workers > 1 ? 3 * (int64_t)workers : 1;
        int64_t c, r;
        if (mc_panels < 1) mc_panels = 1;
        rpb = J->mpanels < mc_panels ? J->mpanels : mc_panels;
        cpb = J->npanels < nc_panels ? J->npanels : nc_panels;
        row_blocks = (J->mpanels + rpb - 1) / rpb;
        col_blocks = (J->npanels + cpb - 1) / cpb;
        /* c, r: the blocks asked for; even blocks of whole panels */
        for (c = col_blocks; row_blocks * col_blocks < want && c < J->npanels;) {
            ++c;
            cpb = (J->npanels + c - 1) / c;
            col_blocks = (J->npanels + cpb - 1) / cpb;
        }
        for (r = row_blocks; row_blocks * col_blocks < want && r < J->mpanels;) {
            ++r;
            rpb = (J->mpanels + r - 1) / r;
            row_blocks = (J->mpanels + rpb - 1) / rpb;
        }
    }
    J->rows_per_block = rpb;
    J->cols_per_block = cpb;
    J->col_blocks = col_blocks;
    for (J->chunk = 0; J->chunk < J->nchunks; ++J->chunk) {
        pybp_pool_run(J->mpanels + J->npanels + J->gb_blocks,
                      SFX(fast_pack_task), J, workers);
        pybp_pool_run(row_blocks * col_blocks, SFX(fast_compute_task), J, workers);
    }
}

/*
 * Products of fewer than FAST_SMALL_ROWS rows (a sample or two: per-sample
 * training, one prediction) skip the packing, which for them would cost as
 * much as the product (every weight copied, the tile padded to FAST_MR
 * rows).  They compute each output exactly as the blocked path does -- one
 * chain of FAST_MADD (the micro-kernel's multiply-add: fused where the
 * variant's micro-kernel fuses) per k block of PYBP_FAST_KC, starting from
 * zero, blocks added in increasing order, then the same epilogue -- so a
 * row's result has the same bits whichever path computes it, and does not
 * depend on the number of rows.  One thread; no workspace.
 */
#define FAST_SMALL_ROWS PYBP_FAST_SMALL_ROWS
#define FAST_SMALL_TILE 64

/* One k block of a row product, kc terms: a FAST_MADD chain from zero per
 * row of W, for four rows (t[0..3]) or one (the return value). */
FAST_INLINE void SFX(row_chains4)(const REAL *x, const REAL *w0, int64_t ldw,
                             int64_t kc, REAL *t)
{
    const REAL *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    REAL t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    int64_t p;
    for (p = 0; p < kc; ++p) {
        t0 = FAST_MADD(x[p], w0[p], t0);
        t1 = FAST_MADD(x[p], w1[p], t1);
        t2 = FAST_MADD(x[p], w2[p], t2);
        t3 = FAST_MADD(x[p], w3[p], t3);
    }
    t[0] = t0; t[1] = t1; t[2] = t2; t[3] = t3;
}

FAST_INLINE REAL SFX(row_chain1)(const REAL *x, const REAL *w, int64_t kc)
{
    REAL t0 = 0;
    int64_t p;
    for (p = 0; p < kc; ++p) t0 = FAST_MADD(x[p], w[p], t0);
    return t0;
}

/* y = x . W^T + b (unactivated) for one row, and z = y when z != NULL:
 * four outputs at a time for four independent chains, then one at a time
 * (a layer of two outputs costs two chains, not a padded four).  The first
 * k block starts the sums, later ones (n_in > PYBP_FAST_KC) add theirs. */
FAST_INLINE void SFX(fast_forward_row)(int64_t n_in, int64_t n_out, const REAL *x,
                                  const REAL *W, const REAL *b, REAL *y,
                                  REAL *z)
{
    const int64_t kc0 = n_in < PYBP_FAST_KC ? n_in : PYBP_FAST_KC;
    int64_t j = 0, pc, q;
    for (; j + 4 <= n_out; j += 4) {
        const REAL *w0 = W + j * n_in;
        REAL s[4], t[4];
        SFX(row_chains4)(x, w0, n_in, kc0, s);
        for (pc = PYBP_FAST_KC; pc < n_in; pc += PYBP_FAST_KC) {
            SFX(row_chains4)(x + pc, w0 + pc, n_in,
                             n_in - pc < PYBP_FAST_KC ? n_in - pc
                                                      : PYBP_FAST_KC, t);
            for (q = 0; q < 4; ++q) s[q] += t[q];
        }
        for (q = 0; q < 4; ++q) {
            const REAL v = b ? s[q] + b[j + q] : s[q];
            y[j + q] = v;
            if (z) z[j + q] = v;
        }
    }
    for (; j < n_out; ++j) {
        const REAL *w0 = W + j * n_in;
        REAL v = SFX(row_chain1)(x, w0, kc0);
        for (pc = PYBP_FAST_KC; pc < n_in; pc += PYBP_FAST_KC)
            v += SFX(row_chain1)(x + pc, w0 + pc,
                                 n_in - pc < PYBP_FAST_KC ? n_in - pc
                                                          : PYBP_FAST_KC);
        if (b) v += b[j];
        y[j] = v;
        if (z) z[j] = v;
    }
}

/* The activated row (fast_kernels.h: forward_row). */
void SFX(pybp_fast_forward_row)(int64_t n_in, int64_t n_out, const REAL *x,
                                const REAL *W, const REAL *b, int act,
                                REAL *y, REAL *z)
{
    SFX(fast_forward_row)(n_in, n_out, x, W, b, y, z);
    SFX(pybp_fast_activate)(act, y, n_out, y);
}

/* Y[r, :] = A(x_r . W^T + b) for r < n (n small), row by row. */
static void SFX(fast_forward_small)(int64_t n, int64_t n_in, int64_t n_out,
                                    const REAL *X, const REAL *W,
                                    const REAL *b, int act, REAL *Y, REAL *Z)
{
    int64_t r;
    for (r = 0; r < n; ++r)
        SFX(pybp_fast_forward_row)(n_in, n_out, X + r * n_in, W, b, act,
                                   Y + r * n_out, Z ? Z + r * n_out : NULL);
}

/*
 * Narrow layers (few outputs, or few weights: the credit net's, FANN's
 * benchmark nets', a softmax output of 10) over many rows skip the packing
 * too: there, padding an output tile to FAST_NR columns and copying every
 * row of X would cost more than the product.  The rows go FAST_LANES at a
 * time, one sample per vector lane: the block of X is transposed into
 * `xt`, and each output z[r, j] is the same chain as the other paths --
 * FAST_MADD from zero in increasing k (n_in <= PYBP_FAST_KC: one k block),
 * then the bias -- computed for FAST_LANES samples at once (the compiler vectorises the lane loops).  So a row's
 * bits are still the same on every path and in every batch.  The
 * activation then runs once over the block's rows (it is elementwise, with
 * the same bits wherever an element sits).  Threads take blocks of
 * FAST_NARROW_TASK_ROWS rows.
 */
#define FAST_LANES ((int)(64 / sizeof(REAL)))
#define FAST_NARROW_TASK_ROWS 256

/* Whether a forward product of this shape takes the narrow path. */
static int SFX(fast_narrow)(int64_t n_in, int64_t n_out)
{
    return n_in <= PYBP_FAST_KC && (n_out * 2 <= FAST_NR || n_in * n_out < 512);
}

typedef struct SFX(fast_narrow_job) {
    int64_t n, n_in, n_out;
    const REAL *X, *W, *b;
    int act;
    REAL *Y, *Z;
} SFX(fast_narrow_job);

/* Rows [r0, r0 + count) of the narrow forward product, count <= FAST_LANES,
 * unactivated, into Y (and Z).  Four outputs at a time (the last group
 * repeats the last output), for 4 x FAST_LANES independent chains. */
static void SFX(fast_forward_lanes)(const SFX(fast_narrow_job) *J,
                                    int64_t r0, int64_t count, REAL *xt)
{
    const int64_t n_in = J->n_in, n_out = J->n_out;
    int64_t s, i, j, q;
    REAL y[4][FAST_LANES];
    for (s = 0; s < FAST_LANES; ++s) {
        const REAL *x = J->X + (r0 + (s < count ? s : 0)) * n_in;
        for (i = 0; i < n_in; ++i) xt[i * FAST_LANES + s] = x[i];
    }
    for (j = 0; j < n_out; j += 4) {
        const REAL *w[4];
        for (q = 0; q < 4; ++q)
            w[q] = J->W + (j + q < n_out ? j + q : n_out - 1) * n_in;
        for (q = 0; q < 4; ++q)
            for (s = 0; s < FAST_LANES; ++s) y[q][s] = 0;
        for (i = 0; i < n_in; ++i) {
            const REAL *xi = xt + i * FAST_LANES;
            const REAL w0 = w[0][i], w1 = w[1][i], w2 = w[2][i], w3 = w[3][i];
            for (s = 0; s < FAST_LANES; ++s) {
                y[0][s] = FAST_MADD(xi[s], w0, y[0][s]);
                y[1][s] = FAST_MADD(xi[s], w1, y[1][s]);
                y[2][s] = FAST_MADD(xi[s], w2, y[2][s]);
                y[3][s] = FAST_MADD(xi[s], w3, y[3][s]);
            }
        }
        for (s = 0; s < count; ++s) {
            REAL *yr = J->Y + (r0 + s) * n_out, *zr = J->Z ? J->Z + (r0 + s) * n_out : NULL;
            for (q = 0; q < 4 && j + q < n_out; ++q) {
                REAL v = y[q][s];
                if (J->b) v += J->b[j + q];
                if (zr) zr[j + q] = v;
                yr[j + q] = v;
            }
        }
    }
}

/* Task t: rows [t * FAST_NARROW_TASK_ROWS, ...), then their activation. */
static void SFX(fast_narrow_task)(void *vctx, int64_t t, int worker)
{
    const SFX(fast_narrow_job) *J = (const SFX(fast_narrow_job) *)vctx;
    int64_t r0 = t * FAST_NARROW_TASK_ROWS, r1 = r0 + FAST_NARROW_TASK_ROWS;
    int64_t r;
    REAL xt[PYBP_FAST_KC * FAST_LANES];
    (void)worker;
    if (r1 > J->n) r1 = J->n;
    for (r = r0; r < r1; r += FAST_LANES)
        SFX(fast_forward_lanes)(J, r, r1 - r < FAST_LANES ? r1 - r : FAST_LANES,
                                xt);
    SFX(pybp_fast_activate)(J->act, J->Y + r0 * J->n_out,
                            (r1 - r0) * J->n_out, J->Y + r0 * J->n_out);
}

static void SFX(fast_forward_narrow)(int64_t n, int64_t n_in, int64_t n_out,
                                     const REAL *X, const REAL *W,
                                     const REAL *b, int act, REAL *Y, REAL *Z,
                                     int n_threads)
{
    SFX(fast_narrow_job) J;
    int64_t tasks = (n + FAST_NARROW_TASK_ROWS - 1) / FAST_NARROW_TASK_ROWS;
    J.n = n; J.n_in = n_in; J.n_out = n_out;
    J.X = X; J.W = W; J.b = b; J.act = act; J.Y = Y; J.Z = Z;
    pybp_pool_run(tasks, SFX(fast_narrow_task), &J,
                  pybp_pool_workers_for(2.0 * (double)n * (double)n_in *
                                        (double)n_out, n_threads));
}


/* y[i] = sum_j d[j] W[j, i] for i < ni (ni <= FAST_SMALL_TILE), j < kc (one
 * k block): one FAST_MADD chain from zero per output; inlined with ni =
 * FAST_SMALL_TILE, a constant, the sums stay in vector registers. */
FAST_INLINE void SFX(delta_tile)(int64_t ni, const REAL *d, int64_t kc,
                                 const REAL *W, int64_t n_in, REAL *y)
{
    REAL t[FAST_SMALL_TILE];
    int64_t i, j;
    for (i = 0; i < ni; ++i) t[i] = 0;
    for (j = 0; j < kc; ++j) {
        const REAL dj = d[j], *w = W + j * n_in;
        for (i = 0; i < ni; ++i) t[i] = FAST_MADD(dj, w[i], t[i]);
    }
    for (i = 0; i < ni; ++i) y[i] = t[i];
}

/* Dp[r, i] = A'(P[r, i]) sum_j D[r, j] W[j, i] for r < n, in tiles of
 * FAST_SMALL_TILE outputs: per k block of PYBP_FAST_KC terms a chain from
 * zero (delta_tile), blocks added in order, then the derivative. */
static void SFX(fast_delta_small)(int64_t n, int64_t n_in, int64_t n_out,
                                  const REAL *D, const REAL *W, const REAL *P,
                                  int act, REAL *Dp)
{
    int64_t r, i0, i, jc;
    for (r = 0; r < n; ++r) {
        const REAL *d = D + r * n_out;
        REAL *y = Dp + r * n_in;
        for (i0 = 0; i0 < n_in; i0 += FAST_SMALL_TILE) {
            const int64_t ni = n_in - i0 < FAST_SMALL_TILE ? n_in - i0
                                                          : FAST_SMALL_TILE;
            REAL t[FAST_SMALL_TILE];
            for (jc = 0; jc < n_out; jc += PYBP_FAST_KC) {
                const int64_t kc = n_out - jc < PYBP_FAST_KC ? n_out - jc
                                                             : PYBP_FAST_KC;
                REAL *dst = jc == 0 ? y + i0 : t;
                if (ni == FAST_SMALL_TILE)
                    SFX(delta_tile)(FAST_SMALL_TILE, d + jc, kc,
                                    W + jc * n_in + i0, n_in, dst);
                else
                    SFX(delta_tile)(ni, d + jc, kc, W + jc * n_in + i0, n_in,
                                    dst);
                if (jc > 0)
                    for (i = 0; i < ni; ++i) y[i0 + i] = y[i0 + i] + t[i];
            }
        }
        if (P) SFX(fast_times_derivative)(act, P + r * n_in, y, n_in, y);
    }
}

/* Checks the workspace, allocating it when ws is NULL; runs; frees. */
static int SFX(fast_call)(SFX(fast_job) *J, void *ws, size_t ws_bytes,
                          size_t need, int n_threads)
{
    void *own = NULL;
    if (ws == NULL) {
        own = malloc(need);
        if (own == NULL) return PYBP_FAST_ENOMEM;
        ws = own;
    } else if (ws_bytes < need) {
        return PYBP_FAST_ESPACE;
    }
    SFX(fast_run)(J, ws, n_threads);
    free(own);
    return PYBP_FAST_OK;
}

int SFX(pybp_fast_forward)(int64_t n, int64_t n_in, int64_t n_out,
                           const REAL *X, const REAL *W, const REAL *b,
                           int act, REAL *Y, REAL *Z, void *ws,
                           size_t ws_bytes, int n_threads)
{
    SFX(fast_job) J;
    int64_t i, j;
    if (n < 0 || n_in < 0 || n_out < 0) return PYBP_FAST_EARG;
    if (n == 0 || n_out == 0) return PYBP_FAST_OK;
    if (Y == NULL || (n_in > 0 && (X == NULL || W == NULL)))
        return PYBP_FAST_EARG;
    if (n_in == 0) { /* z = b: no product */
        for (i = 0; i < n; ++i) {
            for (j = 0; j < n_out; ++j) {
                REAL v = b ? b[j] : (REAL)0;
                if (Z) Z[i * n_out + j] = v;
                Y[i * n_out + j] = v;
            }
            SFX(pybp_fast_activate)(act, Y + i * n_out, n_out, Y + i * n_out);
        }
        return PYBP_FAST_OK;
    }
    if (n < FAST_SMALL_ROWS) {
        /* no workspace used; a short one is still refused, as documented */
        if (ws != NULL &&
            ws_bytes < pybp_fast_forward_workspace(n, n_in, n_out, sizeof(REAL)))
            return PYBP_FAST_ESPACE;
        SFX(fast_forward_small)(n, n_in, n_out, X, W, b, act, Y, Z);
        return PYBP_FAST_OK;
    }
    if (SFX(fast_narrow)(n_in, n_out)) {
        if (ws != NULL &&
            ws_bytes < pybp_fast_forward_workspace(n, n_in, n_out, sizeof(REAL)))
            return PYBP_FAST_ESPACE;
        SFX(fast_forward_narrow)(n, n_in, n_out, X, W, b, act, Y, Z,
                                 n_threads);
        return PYBP_FAST_OK;
    }
    memset(&J, 0, sizeof J);
    J.op = FAST_OP_FORWARD;
    J.M = n; J.N = n_out; J.K = n_in;
    J.A = X; J.a_rs = n_in; J.a_cs = 1;      /* A(k_sample, i) = X[k, i] */
    J.B = W; J.b_rs = 1; J.b_cs = n_in;      /* B(i, j) = W[j, i]        */
    J.C = Y; J.Z = Z; J.bias = b; J.act = act;
    return SFX(fast_call)(&J, ws, ws_bytes,
                          pybp_fast_forward_workspace(n, n_in, n_out, sizeof(REAL)),
                          n_threads);
}

int SFX(pybp_fast_delta)(int64_t n, int64_t n_in, int64_t n_out,
                         const REAL *D, const REAL *W, const REAL *P, int act,
                         REAL *Dp, void *ws, size_t ws_bytes, int n_threads)
{
    SFX(fast_job) J;
    if (n < 0 || n_in < 0 || n_out < 0) return PYBP_FAST_EARG;
    if (n == 0 || n_in == 0) return PYBP_FAST_OK;
    if (Dp == NULL || (n_out > 0 && (D == NULL || W == NULL)))
        return PYBP_FAST_EARG;
    if (n_out == 0) {
        memset(Dp, 0, (size_t)(n * n_in) * sizeof(REAL));
        return PYBP_FAST_OK;
    }
    if (n < FAST_SMALL_ROWS) {
        if (ws != NULL &&
            ws_bytes < pybp_fast_delta_workspace(n, n_in, n_out, sizeof(REAL)))
            return PYBP_FAST_ESPACE;
        SFX(fast_delta_small)(n, n_in, n_out, D, W, P,
                              P ? act : PYBP_FAST_ACT_IDENTITY, Dp);
        return PYBP_FAST_OK;
    }
    memset(&J, 0, sizeof J);
    J.op = FAST_OP_DELTA;
    J.M = n; J.N = n_in; J.K = n_out;
    J.A = D; J.a_rs = n_out; J.a_cs = 1;     /* A(k, j) = D[k, j]        */
    J.B = W; J.b_rs = n_in; J.b_cs = 1;      /* B(j, i) = W[j, i]        */
    J.C = Dp; J.P = P; J.act = P ? act : PYBP_FAST_ACT_IDENTITY;
    return SFX(fast_call)(&J, ws, ws_bytes,
                          pybp_fast_delta_workspace(n, n_in, n_out, sizeof(REAL)),
                          n_threads);
}

int SFX(pybp_fast_gradient)(int64_t n, int64_t n_in, int64_t n_out,
                            const REAL *D, const REAL *X, const REAL *c,
                            double scale, REAL *G, REAL *gb, void *ws,
                            size_t ws_bytes, int n_threads)
{
    SFX(fast_job) J;
    if (n < 0 || n_in < 0 || n_out < 0) return PYBP_FAST_EARG;
    if (n == 0 || n_out == 0) return PYBP_FAST_OK;
    if (D == NULL || (n_in > 0 && (X == NULL || G == NULL)))
        return PYBP_FAST_EARG;
    memset(&J, 0, sizeof J);
    J.op = FAST_OP_GRADIENT;
    J.M = n_out; J.N = n_in; J.K = n;
    J.A = D; J.a_rs = 1; J.a_cs = n_out;     /* A(j, k) = D[k, j]        */
    J.cvec = c;                              /* ... times c[k]           */
    J.B = X; J.b_rs = n_in; J.b_cs = 1;      /* B(k, i) = X[k, i]        */
    J.C = G; J.scale = (REAL)scale;
    J.D = D; J.gb = gb;
    if (n_in == 0) { /* only the bias gradient */
        int64_t blk;
        if (gb == NULL) return PYBP_FAST_OK;
        J.mpanels = 0; J.npanels = 0;
        J.nchunks = (n + PYBP_FAST_KC - 1) / PYBP_FAST_KC;
        for (J.chunk = 0; J.chunk < J.nchunks; ++J.chunk)
            for (blk = 0; blk < (n_out + FAST_GB_BLOCK - 1) / FAST_GB_BLOCK; ++blk)
                SFX(fast_gb_block)(&J, J.chunk, blk);
        return PYBP_FAST_OK;
    }
    return SFX(fast_call)(&J, ws, ws_bytes,
                          pybp_fast_gradient_workspace(n, n_in, n_out, sizeof(REAL)),
                          n_threads);
}

/* the per-sample step (fast_kernels.h: sgd_sample) */
#include "fast_sample.h"

/* the tiny nets' step (fast_kernels.h: tiny_*), in the AVX variants */
#if FAST_TINY
#include "fast_tiny_avx.h"
#endif
