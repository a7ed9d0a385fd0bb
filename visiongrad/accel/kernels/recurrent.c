/* The LSTM and GRU cells of one time step, each in one pass over the step's gates
 * (``accel/recurrent.py`` calls them once per step, between the step's matrix products;
 * ``ops/recurrent.py``'s NumPy cells are the reference):
 *
 *     lstm_cell_forward:  a = gates + hidden (x_t Wx + b and h_{t-1} Wh), in place
 *                         i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g),
 *                         c = f c_prev + i g,  tanh_c = tanh(c),  h = o tanh_c
 *     lstm_cell_backward: dh = dout + dh_next,  dc = dh o (1 - tanh_c^2) + dc_carry,
 *                         da_i = dc g i (1 - i),  da_f = dc c_prev f (1 - f),
 *                         da_o = dh tanh_c o (1 - o),  da_g = dc i (1 - g^2);
 *                         dc_carry <- dc f (what step t - 1 receives)
 *     gru_cell_forward:   gh = hidden + bh,  r = sigmoid(gx_r + gh_r),
 *                         z = sigmoid(gx_z + gh_z),  n = tanh(gx_n + r gh_n),
 *                         h = n + z (h_prev - n);  gates <- r, z, n and gh_n kept
 *     gru_cell_backward:  dh = dout + dh_carry + dh_product,
 *                         da_n = dh (1 - z) (1 - n^2),  da_z = dh (h_prev - n) z (1 - z),
 *                         da_r = da_n gh_n r (1 - r);  dgx = [da_r, da_z, da_n],
 *                         dgh = [da_r, da_z, da_n r];  dh_carry <- dh z
 *
 * Rows are N samples of H units; a gate block's H columns start at its offset in the row
 * (the LSTM's order is the caller's: i, f, o, g offsets given), dout's rows are
 * ``dout_stride`` floats apart (a time slice of the (N, T, H) upstream gradient), every
 * other array is contiguous.
 *
 * Why it exists: NumPy takes about twenty passes over the step's arrays per cell, each a
 * call of a few microseconds on arrays that stay in cache; here each value is read and
 * written once. tanh and sigmoid are ``vector_math.h``'s (within 2 units in the last
 * place of float32; sigmoid(a) = (1 + tanh(a / 2)) / 2, as in the reference). */

#include <stddef.h>

#include "conv_tiles.h"
#include "vector_math.h"

#define ROW static inline __attribute__((always_inline)) void

ROW lstm_forward_row(float *restrict ai, float *restrict af, float *restrict ao,
                     float *restrict ag, const float *restrict bi, const float *restrict bf,
                     const float *restrict bo, const float *restrict bg,
                     const float *restrict c_prev, float *restrict c, float *restrict tanh_c,
                     float *restrict h, ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        const float i = sigmoid_float(ai[j] + bi[j]), f = sigmoid_float(af[j] + bf[j]);
        const float o = sigmoid_float(ao[j] + bo[j]), g = tanh_float(ag[j] + bg[j]);
        ai[j] = i;
        af[j] = f;
        ao[j] = o;
        ag[j] = g;
        c[j] = f * c_prev[j] + i * g;
        tanh_c[j] = tanh_float(c[j]);
        h[j] = o * tanh_c[j];
    }
}

VECTOR_CLONES
void lstm_cell_forward(float *gates, const float *hidden, const float *c_prev, float *c,
                       float *tanh_c, float *h, ptrdiff_t N, ptrdiff_t H,
                       ptrdiff_t i_at, ptrdiff_t f_at, ptrdiff_t o_at, ptrdiff_t g_at)
{
    for (ptrdiff_t n = 0; n < N; n++) {
        float *a = gates + n * 4 * H;
        const float *b = hidden + n * 4 * H;
        lstm_forward_row(a + i_at, a + f_at, a + o_at, a + g_at, b + i_at, b + f_at, b + o_at,
                         b + g_at, c_prev + n * H, c + n * H, tanh_c + n * H, h + n * H, H);
    }
}

ROW lstm_backward_row(const float *restrict i_, const float *restrict f_,
                      const float *restrict o_, const float *restrict g_,
                      const float *restrict c_prev, const float *restrict tanh_c,
                      const float *restrict dout, const float *restrict dh_next,
                      float *restrict dc_carry, float *restrict di, float *restrict df,
                      float *restrict d_o, float *restrict dg, ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        const float i = i_[j], f = f_[j], o = o_[j], g = g_[j], t = tanh_c[j];
        const float dh = dout[j] + dh_next[j];
        const float dc = dh * o * (1.0f - t * t) + dc_carry[j];
        di[j] = dc * g * (i * (1.0f - i));
        df[j] = dc * c_prev[j] * (f * (1.0f - f));
        d_o[j] = dh * t * (o * (1.0f - o));
        dg[j] = dc * i * (1.0f - g * g);
        dc_carry[j] = dc * f;
    }
}

VECTOR_CLONES
void lstm_cell_backward(const float *gates, const float *c_prev, const float *tanh_c,
                        const float *dout, ptrdiff_t dout_stride, const float *dh_next,
                        float *dc_carry, float *dgates, ptrdiff_t N, ptrdiff_t H,
                        ptrdiff_t i_at, ptrdiff_t f_at, ptrdiff_t o_at, ptrdiff_t g_at)
{
    for (ptrdiff_t n = 0; n < N; n++) {
        const float *a = gates + n * 4 * H;
        float *d = dgates + n * 4 * H;
        lstm_backward_row(a + i_at, a + f_at, a + o_at, a + g_at, c_prev + n * H,
                          tanh_c + n * H, dout + n * dout_stride, dh_next + n * H,
                          dc_carry + n * H, d + i_at, d + f_at, d + o_at, d + g_at, H);
    }
}

ROW gru_forward_row(float *restrict r_, float *restrict z_, float *restrict n_,
                    const float *restrict hr, const float *restrict hz,
                    const float *restrict hn, const float *restrict bhr,
                    const float *restrict bhz, const float *restrict bhn,
                    const float *restrict h_prev, float *restrict gh_n, float *restrict h,
                    ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        const float r = sigmoid_float(r_[j] + (hr[j] + bhr[j]));
        const float z = sigmoid_float(z_[j] + (hz[j] + bhz[j]));
        const float hidden_n = hn[j] + bhn[j];
        const float candidate = tanh_float(n_[j] + r * hidden_n);
        r_[j] = r;
        z_[j] = z;
        n_[j] = candidate;
        gh_n[j] = hidden_n;
        h[j] = candidate + z * (h_prev[j] - candidate);
    }
}

VECTOR_CLONES
void gru_cell_forward(float *gates, const float *hidden, const float *bh, const float *h_prev,
                      float *gh_n, float *h, ptrdiff_t N, ptrdiff_t H)
{
    for (ptrdiff_t n = 0; n < N; n++) {
        float *a = gates + n * 3 * H;
        const float *b = hidden + n * 3 * H;
        gru_forward_row(a, a + H, a + 2 * H, b, b + H, b + 2 * H, bh, bh + H, bh + 2 * H,
                        h_prev + n * H, gh_n + n * H, h + n * H, H);
    }
}

ROW gru_backward_row(const float *restrict r_, const float *restrict z_,
                     const float *restrict n_, const float *restrict gh_n,
                     const float *restrict h_prev, const float *restrict dout,
                     const float *restrict dh_product, float *restrict dh_carry,
                     float *restrict dx_r, float *restrict dx_z, float *restrict dx_n,
                     float *restrict dh_r, float *restrict dh_z, float *restrict dh_n,
                     ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        const float r = r_[j], z = z_[j], candidate = n_[j];
        const float dh = dout[j] + dh_carry[j] + dh_product[j];
        const float da_n = dh * (1.0f - z) * (1.0f - candidate * candidate);
        const float da_r = da_n * gh_n[j] * (r * (1.0f - r));
        const float da_z = dh * (h_prev[j] - candidate) * (z * (1.0f - z));
        dx_r[j] = dh_r[j] = da_r;
        dx_z[j] = dh_z[j] = da_z;
        dx_n[j] = da_n;
        dh_n[j] = da_n * r;
        dh_carry[j] = dh * z;
    }
}

VECTOR_CLONES
void gru_cell_backward(const float *gates, const float *gh_n, const float *h_prev,
                       const float *dout, ptrdiff_t dout_stride, const float *dh_product,
                       float *dh_carry, float *dgx, float *dgh, ptrdiff_t N, ptrdiff_t H)
{
    for (ptrdiff_t n = 0; n < N; n++) {
        const float *a = gates + n * 3 * H;
        float *dx = dgx + n * 3 * H, *dhid = dgh + n * 3 * H;
        gru_backward_row(a, a + H, a + 2 * H, gh_n + n * H, h_prev + n * H,
                         dout + n * dout_stride, dh_product + n * H, dh_carry + n * H,
                         dx, dx + H, dx + 2 * H, dhid, dhid + H, dhid + 2 * H, H);
    }
}

/* ----- the LSTM's whole time loop, each step's product h_{t-1} Wh fused with its cell ----
 *
 * Rows of the batch are independent through time (row n of h_t needs row n of h_{t-1}
 * only), so each call runs every step for rows [row_begin, row_end) and the caller gives
 * each core its own rows. Each step's products come from a small matrix product on
 * weights packed once per pass (``accel/recurrent.py``): TILE_ROWS rows times 64 columns
 * held in registers, the cell's arithmetic applied to them before they are stored. A tile
 * of rows runs through every panel in turn, so that its rows of the gates and states are
 * read and written in memory order (panel by panel for all rows, the rows' gate lines lay
 * a page apart and missed the caches; the packed weights, 1 MB at H 256, stay in L2).
 *
 *     forward  (lstm_forward_rows):  packed (H / 16, H, 64): panel p holds, for each k, the
 *              16 columns of units 16p..16p+15 of gates i, f, o, g, in that order
 *     backward (lstm_backward_rows): packed (H / 64, 4H, 64): panel p holds Wh^T's columns
 *              64p..64p+63 (dh's units), its 4H rows in the gates' own order
 *
 * The GRU's (gru_forward_rows, gru_backward_rows) likewise, with 3 gates r, z, n: forward
 * panels (H / 16, H, 48) of units 16p..16p+15 of r, z, n, backward (H / 64, 3H, 64).
 */

#define TILE_ROWS 6
#define TILE_COLS 64

/* acc[r][j] = sum_k a[r * lda + k] panel[k * cols + j] for r < rows <= TILE_ROWS and
 * j < cols <= TILE_COLS (cols a constant where it is called): the portable loop */
static inline __attribute__((always_inline)) void tile_product(
    const float *restrict a, ptrdiff_t lda, const float *restrict panel, ptrdiff_t K,
    int rows, int cols, float acc[TILE_ROWS][TILE_COLS])
{
    for (int r = 0; r < TILE_ROWS; r++)
        for (int j = 0; j < cols; j++)
            acc[r][j] = 0.0f;
    for (ptrdiff_t k = 0; k < K; k++) {
        const float *restrict b = panel + k * cols;
        for (int r = 0; r < rows; r++) {
            const float x = a[r * lda + k];
            for (int j = 0; j < cols; j++)
                acc[r][j] += x * b[j];
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

/* The same sums on AVX-512: the tile's R x B sums of 16 held in registers through the
 * whole k loop (the portable loop leaves them in memory and loads and stores each per
 * term), the same FMA per term in the same order of k, so the same bits. */
#define TILE512(R, B)                                                                      \
    do {                                                                                   \
        __m512 sum[R][B];                                                                  \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                \
            _Pragma("GCC unroll 4") for (int q = 0; q < B; q++)                            \
                sum[r][q] = _mm512_setzero_ps();                                           \
        for (ptrdiff_t k = 0; k < K; k++) {                                               \
            __m512 w[B];                                                                   \
            _Pragma("GCC unroll 4") for (int q = 0; q < B; q++)                            \
                w[q] = _mm512_loadu_ps(panel + k * 16 * B + 16 * q);                       \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                          \
                const __m512 x = _mm512_set1_ps(a[r * lda + k]);                           \
                _Pragma("GCC unroll 4") for (int q = 0; q < B; q++)                        \
                    sum[r][q] = _mm512_fmadd_ps(x, w[q], sum[r][q]);                       \
            }                                                                              \
        }                                                                                  \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                \
            _Pragma("GCC unroll 4") for (int q = 0; q < B; q++)                            \
                _mm512_storeu_ps(acc[r] + 16 * q, sum[r][q]);                              \
    } while (0)

#define TILE512_ROWS(B)                                                                    \
    switch (rows) {                                                                        \
    case 6: TILE512(6, B); break;                                                          \
    case 5: TILE512(5, B); break;                                                          \
    case 4: TILE512(4, B); break;                                                          \
    case 3: TILE512(3, B); break;                                                          \
    case 2: TILE512(2, B); break;                                                          \
    default: TILE512(1, B); break;                                                         \
    }

static __attribute__((target("avx512f"), noinline)) void tile_product_avx512(
    const float *restrict a, ptrdiff_t lda, const float *restrict panel, ptrdiff_t K,
    int rows, int cols, float acc[TILE_ROWS][TILE_COLS])
{
    if (cols == 64)
        TILE512_ROWS(4)
    else
        TILE512_ROWS(3)
}

/* The AVX-512 tiles run where the CPU has AVX-512F and they are wanted (the switch the
 * convolutions share, ``conv_avx512``), for tiles of 48 or 64 columns. */
static int use_avx512_tile(int cols)
{
    return (cols == 64 || cols == 48) && conv_uses_avx512();
}
#else
#define tile_product_avx512 tile_product
static int use_avx512_tile(int cols)
{
    (void)cols;
    return 0;
}
#endif

/* The product of a tile: the AVX-512 tiles where they run; else full tiles with the row
 * count known to the compiler (unrolled), the last partial tile without. */
static inline __attribute__((always_inline)) void any_tile_product(
    const float *a, ptrdiff_t lda, const float *panel, ptrdiff_t K, int rows, int cols,
    float acc[TILE_ROWS][TILE_COLS])
{
    if (use_avx512_tile(cols))
        tile_product_avx512(a, lda, panel, K, rows, cols, acc);
    else if (rows == TILE_ROWS)
        tile_product(a, lda, panel, K, TILE_ROWS, cols, acc);
    else
        tile_product(a, lda, panel, K, rows, cols, acc);
}

/* The backward loops' product for a tile: the gradient that step t sends back to step
 * t - 1 through Wh (dgates_t Wh^T), zeros at t = T (the last step receives none). */
static inline __attribute__((always_inline)) void product_sent_back(
    ptrdiff_t t, ptrdiff_t T, const float *d_rows, ptrdiff_t K, const float *panel, int rows,
    float acc[TILE_ROWS][TILE_COLS])
{
    if (t < T)
        any_tile_product(d_rows, K, panel, K, rows, TILE_COLS, acc);
    else
        for (int r = 0; r < TILE_ROWS; r++)
            for (int j = 0; j < TILE_COLS; j++)
                acc[r][j] = 0.0f;
}

VECTOR_CLONES
void lstm_forward_rows(float *gates, const float *h0, const float *c0, const float *packed,
                       float *c, float *tanh_c, float *h, ptrdiff_t T, ptrdiff_t N,
                       ptrdiff_t H, ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t i_at,
                       ptrdiff_t f_at, ptrdiff_t o_at, ptrdiff_t g_at)
{
    const ptrdiff_t at[4] = {i_at, f_at, o_at, g_at};
    float acc[TILE_ROWS][TILE_COLS];
    for (ptrdiff_t t = 0; t < T; t++) {
        const float *h_prev = t ? h + (t - 1) * N * H : h0;
        const float *c_prev = t ? c + (t - 1) * N * H : c0;
        for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
            const int rows = row_end - r0 < TILE_ROWS ? (int)(row_end - r0) : TILE_ROWS;
            for (ptrdiff_t p = 0; p < H / 16; p++) {
                const float *panel = packed + p * H * TILE_COLS;
                any_tile_product(h_prev + r0 * H, H, panel, H, rows, TILE_COLS, acc);
                for (int r = 0; r < rows; r++) {
                    const ptrdiff_t n = r0 + r, unit = n * H + p * 16;
                    float *a = gates + (t * N + n) * 4 * H + p * 16;
                    float *ai = a + at[0], *af = a + at[1], *ao = a + at[2], *ag = a + at[3];
                    lstm_forward_row(ai, af, ao, ag, acc[r], acc[r] + 16, acc[r] + 32,
                                     acc[r] + 48, c_prev + unit, c + t * N * H + unit,
                                     tanh_c + t * N * H + unit, h + t * N * H + unit, 16);
                }
            }
        }
    }
}

VECTOR_CLONES
void lstm_backward_rows(const float *gates, const float *c0, const float *c,
                        const float *tanh_c, const float *dout, ptrdiff_t dout_step,
                        ptrdiff_t dout_row, const float *packed, float *dc, float *dh0,
                        float *dgates, ptrdiff_t T, ptrdiff_t N, ptrdiff_t H,
                        ptrdiff_t row_begin, ptrdiff_t row_end, ptrdiff_t i_at,
                        ptrdiff_t f_at, ptrdiff_t o_at, ptrdiff_t g_at)
{
    float acc[TILE_ROWS][TILE_COLS];
    for (ptrdiff_t t = T; t >= 0; t--) { /* t = 0 after the loop's steps: dh0 alone */
        for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
            const int rows = row_end - r0 < TILE_ROWS ? (int)(row_end - r0) : TILE_ROWS;
            for (ptrdiff_t p = 0; p < H / TILE_COLS; p++) {
                const float *panel = packed + p * 4 * H * TILE_COLS;
                product_sent_back(t, T, dgates + (t * N + r0) * 4 * H, 4 * H, panel, rows, acc);
                for (int r = 0; r < rows; r++) {
                    const ptrdiff_t n = r0 + r, unit = n * H + p * TILE_COLS;
                    if (t == 0) {
                        for (int j = 0; j < TILE_COLS; j++)
                            dh0[unit + j] = acc[r][j];
                        continue;
                    }
                    const ptrdiff_t s = t - 1; /* the step whose cell runs now */
                    const float *a = gates + (s * N + n) * 4 * H + p * TILE_COLS;
                    float *d = dgates + (s * N + n) * 4 * H + p * TILE_COLS;
                    lstm_backward_row(a + i_at, a + f_at, a + o_at, a + g_at,
                                      (s ? c + (s - 1) * N * H : c0) + unit,
                                      tanh_c + s * N * H + unit,
                                      dout + s * dout_step + n * dout_row + p * TILE_COLS,
                                      acc[r], dc + unit, d + i_at, d + f_at, d + o_at,
                                      d + g_at, TILE_COLS);
                }
            }
        }
    }
}

VECTOR_CLONES
void gru_forward_rows(float *gates, const float *h0, const float *bh, const float *packed,
                      float *gh_n, float *h, ptrdiff_t T, ptrdiff_t N, ptrdiff_t H,
                      ptrdiff_t row_begin, ptrdiff_t row_end)
{
    float acc[TILE_ROWS][TILE_COLS];
    for (ptrdiff_t t = 0; t < T; t++) {
        const float *h_prev = t ? h + (t - 1) * N * H : h0;
        for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
            const int rows = row_end - r0 < TILE_ROWS ? (int)(row_end - r0) : TILE_ROWS;
            for (ptrdiff_t p = 0; p < H / 16; p++) {
                const float *panel = packed + p * H * 48;
                const float *b = bh + p * 16;
                any_tile_product(h_prev + r0 * H, H, panel, H, rows, 48, acc);
                for (int r = 0; r < rows; r++) {
                    const ptrdiff_t n = r0 + r, unit = n * H + p * 16;
                    float *a = gates + (t * N + n) * 3 * H + p * 16;
                    gru_forward_row(a, a + H, a + 2 * H, acc[r], acc[r] + 16, acc[r] + 32, b,
                                    b + H, b + 2 * H, h_prev + unit, gh_n + t * N * H + unit,
                                    h + t * N * H + unit, 16);
                }
            }
        }
    }
}

VECTOR_CLONES
void gru_backward_rows(const float *gates, const float *gh_n, const float *h0, const float *h,
                       const float *dout, ptrdiff_t dout_step, ptrdiff_t dout_row,
                       const float *packed, float *carry, float *dh0, float *dgx, float *dgh,
                       ptrdiff_t T, ptrdiff_t N, ptrdiff_t H, ptrdiff_t row_begin,
                       ptrdiff_t row_end)
{
    float acc[TILE_ROWS][TILE_COLS];
    for (ptrdiff_t t = T; t >= 0; t--) { /* t = 0 after the loop's steps: dh0 alone */
        for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += TILE_ROWS) {
            const int rows = row_end - r0 < TILE_ROWS ? (int)(row_end - r0) : TILE_ROWS;
            for (ptrdiff_t p = 0; p < H / TILE_COLS; p++) {
                const float *panel = packed + p * 3 * H * TILE_COLS;
                /* dgh_t Wh^T: what step t - 1 receives besides dh_t z_t */
                product_sent_back(t, T, dgh + (t * N + r0) * 3 * H, 3 * H, panel, rows, acc);
                for (int r = 0; r < rows; r++) {
                    const ptrdiff_t n = r0 + r, unit = n * H + p * TILE_COLS;
                    if (t == 0) {
                        for (int j = 0; j < TILE_COLS; j++)
                            dh0[unit + j] = carry[unit + j] + acc[r][j];
                        continue;
                    }
                    const ptrdiff_t s = t - 1; /* the step whose cell runs now */
                    const ptrdiff_t at = (s * N + n) * 3 * H + p * TILE_COLS;
                    const float *a = gates + at;
                    gru_backward_row(a, a + H, a + 2 * H, gh_n + s * N * H + unit,
                                     (s ? h + (s - 1) * N * H : h0) + unit,
                                     dout + s * dout_step + n * dout_row + p * TILE_COLS,
                                     acc[r], carry + unit, dgx + at, dgx + at + H,
                                     dgx + at + 2 * H, dgh + at, dgh + at + H, dgh + at + 2 * H,
                                     TILE_COLS);
                }
            }
        }
    }
}
