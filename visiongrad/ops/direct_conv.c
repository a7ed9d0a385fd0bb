/* Direct 2-D convolution on channels-last float32 images, the one compiled kernel of
 * visiongrad (see ``native.py``: it is optional, and ``conv.im2col`` plus a matrix product
 * is the reference it is tested against).
 *
 *     y[n, ho, wo, f] = sum_{i, j, c} x[n, ho * sh + i, wo * sw + j, c] * w[i, j, c, f]
 *
 * x is (N, H, W, C) with any padding already in it and y is (N, Ho, Wo, F); the weights
 * come in blocks of 16 output channels, w_blocks[f / 16, i, j, c, f % 16], so that the
 * weights one tile reads lie in one contiguous run (with w as (kh, kw, C, F), a run of 16
 * every F floats, the runs of a 64-256-filter layer fall into a few cache sets and evict
 * each other: a 256-channel layer ran at 0.45x the speed of im2col). All are contiguous. Why it exists: for the 16-64-channel layers of the
 * course's networks, im2col writes kh * kw copies of the input and the product that reads
 * them back has only F = 16-64 columns, so OpenBLAS spends most of its time packing. Here
 * each output tile of P neighbouring pixels x 16 channels lives in 2P AVX registers while
 * the kh * kw * C window values stream past once: per input channel, two loads of 8
 * weights and P broadcasts of one input value feed 2P fused multiply-adds.
 */

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define TILE_MAX 6      /* 2 * 6 accumulators + 2 weight vectors + 1 input of 16 registers */
#define F_BLOCK 16      /* output channels per tile: two 8-float vectors */

int direct_conv_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* One tile: the P outputs y[n, ho, wo + p, f0 : f0 + 16] for p < P. ``x`` points at the
 * window corner of the first output, ``w`` at the block w_blocks[f0 / 16] and ``y`` at
 * the first output, whose pixels lie ``filters`` floats apart. One row i of a window,
 * x[.., ho sh + i, wo sw : wo sw + kw, :], is kw * C consecutive floats (``row_values``),
 * and so is w_blocks[f0 / 16, i] for each filter: the sum runs over (j, c) as one index v,
 * which keeps the loop long for a layer of 1-3 input channels. */
static inline __attribute__((always_inline)) AVX2 void tile(
    const float *x, ptrdiff_t x_row, ptrdiff_t x_step, int kh, int row_values,
    const float *w, float *y, int filters, const int P)
{
    __m256 low[TILE_MAX], high[TILE_MAX];
    for (int p = 0; p < P; p++) {
        low[p] = _mm256_setzero_ps();
        high[p] = _mm256_setzero_ps();
    }
    for (int i = 0; i < kh; i++) {
        const float *x_i = x + i * x_row;
        const float *w_i = w + (ptrdiff_t)i * row_values * F_BLOCK;
        for (int v = 0; v < row_values; v++) {
            __m256 w_low = _mm256_loadu_ps(w_i + v * F_BLOCK);
            __m256 w_high = _mm256_loadu_ps(w_i + v * F_BLOCK + 8);
            for (int p = 0; p < P; p++) {
                __m256 value = _mm256_broadcast_ss(x_i + p * x_step + v);
                low[p] = _mm256_fmadd_ps(value, w_low, low[p]);
                high[p] = _mm256_fmadd_ps(value, w_high, high[p]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(y + (ptrdiff_t)p * filters, low[p]);
        _mm256_storeu_ps(y + (ptrdiff_t)p * filters + 8, high[p]);
    }
}

/* The width of the next tile when ``left`` outputs of a row remain: 6 while at least 10
 * remain, then the rest in two near-equal tiles (7 -> 4 + 3, 9 -> 5 + 4), so no tile is
 * narrower than it must be; a tile of 1-3 has too few independent sums to keep both FMA
 * units busy. */
static int tile_width(int left)
{
    if (left >= 10)
        return TILE_MAX;
    if (left > TILE_MAX)
        return (left + 1) / 2;
    return left;
}

AVX2 void direct_conv(const float *x, int n, int height, int width, int channels,
                      const float *w_blocks, int kh, int kw, int filters, int sh, int sw,
                      float *y, int out_height, int out_width)
{
    const ptrdiff_t x_row = (ptrdiff_t)width * channels, x_step = (ptrdiff_t)sw * channels;
    const ptrdiff_t block_size = (ptrdiff_t)kh * kw * channels * F_BLOCK;
    for (int image = 0; image < n; image++) {
        for (int ho = 0; ho < out_height; ho++) {
            const float *x_corner = x + ((ptrdiff_t)image * height + (ptrdiff_t)ho * sh) * x_row;
            float *y_row = y + ((ptrdiff_t)image * out_height + ho) * out_width * filters;
            for (int f0 = 0; f0 < filters; f0 += F_BLOCK) {
                for (int wo = 0; wo < out_width;) {
                    const float *x_tile = x_corner + wo * x_step;
                    float *y_tile = y_row + (ptrdiff_t)wo * filters + f0;
                    const int P = tile_width(out_width - wo);
#define TILE(width_) tile(x_tile, x_row, x_step, kh, kw * channels, \
                          w_blocks + f0 / F_BLOCK * block_size, y_tile, filters, width_)
                    switch (P) {
                    case 6: TILE(6); break;
                    case 5: TILE(5); break;
                    case 4: TILE(4); break;
                    case 3: TILE(3); break;
                    case 2: TILE(2); break;
                    default: TILE(1); break;
                    }
#undef TILE
                    wo += P;
                }
            }
        }
    }
}

/* The weight gradient of the same convolution, into w_blocks' layout:
 *
 *     dw_blocks[f / 16, i, j, c, f % 16] = sum_{n, ho, wo} x[n, ho sh + i, wo sw + j, c]
 *                                                          * dy[n, ho, wo, f]
 *
 * The same register tile turned around: P neighbouring values v = (j, c) of one window
 * row i x 16 filters, summed over output pixels; per pixel, two loads of dy's 16
 * values and P broadcasts of x's feed 2P fused multiply-adds. The pixels go by in
 * stripes of a few output rows (``STRIPE_PIXELS``), each swept once per tile while its
 * rows of x and dy stay in the L1 cache, and each tile's sums are added to dw_blocks at
 * the end of the stripe. */
#define STRIPE_PIXELS 128

static inline __attribute__((always_inline)) AVX2 void weight_tile(
    const float *x, ptrdiff_t x_row, ptrdiff_t x_step, const float *dy, int rows,
    int out_width, int filters, float *dw, const int P)
{
    __m256 low[TILE_MAX], high[TILE_MAX];
    for (int p = 0; p < P; p++) {
        low[p] = _mm256_loadu_ps(dw + p * F_BLOCK);
        high[p] = _mm256_loadu_ps(dw + p * F_BLOCK + 8);
    }
    for (int row = 0; row < rows; row++) {
        const float *x_pixel = x + row * x_row;
        const float *dy_pixel = dy + (ptrdiff_t)row * out_width * filters;
        for (int wo = 0; wo < out_width; wo++) {
            __m256 dy_low = _mm256_loadu_ps(dy_pixel);
            __m256 dy_high = _mm256_loadu_ps(dy_pixel + 8);
            for (int p = 0; p < P; p++) {
                __m256 value = _mm256_broadcast_ss(x_pixel + p);
                low[p] = _mm256_fmadd_ps(value, dy_low, low[p]);
                high[p] = _mm256_fmadd_ps(value, dy_high, high[p]);
            }
            x_pixel += x_step;
            dy_pixel += filters;
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(dw + p * F_BLOCK, low[p]);
        _mm256_storeu_ps(dw + p * F_BLOCK + 8, high[p]);
    }
}

AVX2 void direct_conv_weight_grad(const float *x, int n, int height, int width, int channels,
                                  const float *dy, int out_height, int out_width, int filters,
                                  int kh, int kw, int sh, int sw, float *dw_blocks)
{
    const ptrdiff_t x_row = (ptrdiff_t)sh * width * channels, x_step = (ptrdiff_t)sw * channels;
    const int stripe = out_width >= STRIPE_PIXELS ? 1 : STRIPE_PIXELS / out_width;
    const int row_values = kw * channels;
    for (ptrdiff_t k = 0; k < (ptrdiff_t)filters * kh * kw * channels; k++)
        dw_blocks[k] = 0.0f;
    for (int image = 0; image < n; image++) {
        for (int ho = 0; ho < out_height; ho += stripe) {
            const int rows = out_height - ho < stripe ? out_height - ho : stripe;
            const float *x_stripe = x + ((ptrdiff_t)image * height * width) * channels + ho * x_row;
            const float *dy_stripe = dy + ((ptrdiff_t)image * out_height + ho) * out_width * filters;
            for (int f0 = 0; f0 < filters; f0 += F_BLOCK) {
                for (int i = 0; i < kh; i++) {
                    for (int v = 0; v < row_values;) {
                        const float *x_tile = x_stripe + (ptrdiff_t)i * width * channels + v;
                        float *dw_tile = dw_blocks + (((ptrdiff_t)f0 / F_BLOCK * kh + i)
                                                      * row_values + v) * F_BLOCK;
                        const int P = tile_width(row_values - v);
#define TILE(width_) weight_tile(x_tile, x_row, x_step, dy_stripe + f0, rows, out_width, \
                                 filters, dw_tile, width_)
                        switch (P) {
                        case 6: TILE(6); break;
                        case 5: TILE(5); break;
                        case 4: TILE(4); break;
                        case 3: TILE(3); break;
                        case 2: TILE(2); break;
                        default: TILE(1); break;
                        }
#undef TILE
                        v += P;
                    }
                }
            }
        }
    }
}

#else

int direct_conv_supported(void)
{
    return 0;
}

#endif
