/* The linear layer's forward product for a few rows of input (``accel/linear.py`` calls
 * it; ``ops/linear.py``'s ``x @ weight.T + bias`` is the reference):
 *
 *     out[m, n] = bias[n] + sum_k x[m, k] weight[n, k]      x (M, K), weight (N, K)
 *
 * Why it exists: with few rows (a classifier's batch of 32 on VGG's 25088 x 4096 weight)
 * the product is a stream over the weight, each weight read from memory used M times.
 * OpenBLAS first copies the weight, transposed, into its packed panels (a read and a write
 * of every weight per call) and then runs kernels sized for many rows. Here the weight is
 * read in place: both operands run along k in memory, so each output is a dot product of
 * two rows, summed in 16 lanes of an AVX-512 register and the lanes added at the end.
 *
 * Blocking: k in blocks of K_BLOCK (the block of all M rows of x, 32 x 4 KB, stays in L2);
 * within a block, a tile of TILE_W rows of the weight (24 KB, in L1 after its first use)
 * meets every tile of TILE_X rows of x in turn: TILE_X x TILE_W sums in registers, each
 * step of 16 k loading TILE_X + TILE_W vectors for TILE_X * TILE_W FMAs. A block's sums
 * are added to the output (the bias first, then block by block): the sum over k is the
 * same as the reference's up to float32 rounding, not in the same order.
 *
 * Columns [n_begin, n_end) only: the caller gives each core its own columns. The tiles need
 * AVX-512F; ``linear_few_rows`` returns -1 and does nothing where the CPU lacks it or the
 * AVX-512 tiles were turned off (``conv_avx512``), 0 when done. */

#include <stddef.h>

#include "conv_tiles.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define K_BLOCK 1024
#define TILE_X 4
#define TILE_W 6

#define DOT_TILE(R, S)                                                                     \
    do {                                                                                   \
        __m512 sum[R][S];                                                                  \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                \
            _Pragma("GCC unroll 6") for (int s = 0; s < S; s++)                            \
                sum[r][s] = _mm512_setzero_ps();                                           \
        for (ptrdiff_t k = k0; k < k1; k += 16) {                                         \
            const __mmask16 lanes =                                                        \
                k1 - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k1 - k)) - 1);      \
            __m512 xv[R];                                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                            \
                xv[r] = _mm512_maskz_loadu_ps(lanes, x + (m0 + r) * K + k);                \
            _Pragma("GCC unroll 6") for (int s = 0; s < S; s++) {                          \
                const __m512 wv = _mm512_maskz_loadu_ps(lanes, weight + (n0 + s) * K + k); \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                        \
                    sum[r][s] = _mm512_fmadd_ps(xv[r], wv, sum[r][s]);                     \
            }                                                                              \
        }                                                                                  \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                \
            _Pragma("GCC unroll 6") for (int s = 0; s < S; s++) {                          \
                float *o = out + (m0 + r) * N + n0 + s;                                    \
                const float before = k0 ? *o : bias ? bias[n0 + s] : 0.0f;                 \
                *o = before + _mm512_reduce_add_ps(sum[r][s]);                             \
            }                                                                              \
    } while (0)

#define BY_WEIGHT_ROWS(R)                                                                  \
    switch (w_rows) {                                                                      \
    case 6: DOT_TILE(R, 6); break;                                                         \
    case 5: DOT_TILE(R, 5); break;                                                         \
    case 4: DOT_TILE(R, 4); break;                                                         \
    case 3: DOT_TILE(R, 3); break;                                                         \
    case 2: DOT_TILE(R, 2); break;                                                         \
    default: DOT_TILE(R, 1); break;                                                        \
    }

static __attribute__((target("avx512f"))) void few_rows_tiles(
    const float *x, const float *weight, const float *bias, float *out, ptrdiff_t M,
    ptrdiff_t K, ptrdiff_t N, ptrdiff_t n_begin, ptrdiff_t n_end)
{
    for (ptrdiff_t k0 = 0; k0 < K; k0 += K_BLOCK) {
        const ptrdiff_t k1 = K - k0 < K_BLOCK ? K : k0 + K_BLOCK;
        for (ptrdiff_t n0 = n_begin; n0 < n_end; n0 += TILE_W) {
            const int w_rows = n_end - n0 < TILE_W ? (int)(n_end - n0) : TILE_W;
            for (ptrdiff_t m0 = 0; m0 < M; m0 += TILE_X) {
                switch (M - m0 < TILE_X ? (int)(M - m0) : TILE_X) {
                case 4: BY_WEIGHT_ROWS(4) break;
                case 3: BY_WEIGHT_ROWS(3) break;
                case 2: BY_WEIGHT_ROWS(2) break;
                default: BY_WEIGHT_ROWS(1) break;
                }
            }
        }
    }
}

int linear_few_rows(const float *x, const float *weight, const float *bias, float *out,
                    ptrdiff_t M, ptrdiff_t K, ptrdiff_t N, ptrdiff_t n_begin, ptrdiff_t n_end)
{
    if (!conv_uses_avx512())
        return -1;
    few_rows_tiles(x, weight, bias, out, M, K, N, n_begin, n_end);
    return 0;
}
#else
int linear_few_rows(const float *x, const float *weight, const float *bias, float *out,
                    ptrdiff_t M, ptrdiff_t K, ptrdiff_t N, ptrdiff_t n_begin, ptrdiff_t n_end)
{
    (void)x, (void)weight, (void)bias, (void)out, (void)M, (void)K, (void)N;
    (void)n_begin, (void)n_end;
    return -1;
}
#endif
