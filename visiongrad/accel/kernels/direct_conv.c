/* Direct 2-D convolution on channels-last float32 images. It is optional
 * (``accel/native.py`` loads it where it was built, ``accel/direct_conv.py`` calls it
 * where the CPU has AVX2 and FMA) and ``ops/conv.py``'s im2col plus a matrix product is
 * the reference it is tested against.
 *
 *     y[n, ho, wo, f] = sum_{i, j, c} x_pad[n, ho sh + i, wo sw + j, c] * w[f, c, i, j]
 *     dw[f, c, i, j]  = sum_{n, ho, wo} x_pad[n, ho sh + i, wo sw + j, c] * dy[n, ho, wo, f]
 *
 * x is (N, H, W, C), x_pad the same zero-padded by (ph, pw), and y, dy are (N, Ho, Wo, F),
 * all contiguous. The weights come in blocks of 16 output channels,
 * w_blocks[f / 16, i, j, c, f % 16], so that the weights one tile reads lie in one
 * contiguous run (as (kh, kw, C, F), a run of 16 every F floats, the runs of a 64-256-filter
 * layer fall into a few cache sets and evict each other).
 *
 * Why it exists: for the 16-64-channel layers of the course's networks, im2col writes
 * kh * kw copies of the input and the product that reads them back has only 16-64 columns,
 * so OpenBLAS spends most of its time packing. Here each tile of outputs lives in AVX
 * registers while the window values stream past once.
 *
 * Padding is not copied with the whole image: the kernels go down each image in stripes of
 * a few output rows, and copy just the input rows a stripe reads, zero-padded, into a
 * small buffer that stays in the L1/L2 cache instead of a whole padded copy of the batch.
 */

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "conv_tiles.h"

#define F_BLOCK 16          /* output channels per tile: two 8-float vectors, or one of 16 */
#define FORWARD_STRIPE_PIXELS 512   /* outputs per stripe of the forward kernel */
#define WEIGHT_STRIPE_PIXELS 128    /* and of the weight gradient (its rows stay in L1) */

int direct_conv_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Whether the convolution kernels (here and in batched_conv.c) run their AVX-512 tiles:
 * the CPU has AVX-512F and nobody asked for AVX2 only. The tiles sum the same products in
 * the same order on either path (each output's sum runs over (i, j, c) in turn, one FMA
 * per term), so the two give the same bits. */
static int avx512_wanted = 1;

int conv_uses_avx512(void)
{
    __builtin_cpu_init();
    return avx512_wanted && __builtin_cpu_supports("avx512f");
}

/* Ask for the AVX-512 tiles (1) or the AVX2 ones (0), for tests that compare them; -1
 * changes nothing. Returns whether the AVX-512 tiles run now. */
int conv_avx512(int wanted)
{
    if (wanted >= 0)
        avx512_wanted = wanted;
    return conv_uses_avx512();
}

/* The input rows of one stripe of outputs, each ``row_stride`` floats apart: padded rows
 * copied to the stripe buffer, or the image's own rows when there is no padding. */
typedef struct {
    const float *data;
    ptrdiff_t row_stride;
} Stripe;

/* Geometry shared by both kernels. */
typedef struct {
    int height, width, channels, pad_h, pad_w;
    int kh, kw, sh, sw;
    int out_height, out_width;
} Geometry;

/* Output rows per stripe: about ``pixels`` outputs, at least one row. */
static int stripe_rows(const Geometry *g, int pixels)
{
    return g->out_width >= pixels ? 1 : pixels / g->out_width;
}

/* Input rows a stripe of ``rows`` output rows reads. */
static int stripe_input_rows(const Geometry *g, int rows)
{
    return (rows - 1) * g->sh + g->kh;
}

/* Output rows ho0 .. ho0 + rows - 1 of one image read padded rows ho0 sh .. ; without
 * padding they are the image's own rows, else they are copied, zero-padded, to
 * ``buffer`` (rows of (W + 2 pw) C floats, zeros above and below the image too). */
static Stripe stripe_input(const Geometry *g, const float *image, int ho0, int rows,
                           float *buffer)
{
    const ptrdiff_t values = (ptrdiff_t)g->width * g->channels;
    const ptrdiff_t border = (ptrdiff_t)g->pad_w * g->channels;
    Stripe stripe = {image + (ptrdiff_t)ho0 * g->sh * values, values};
    if (g->pad_h == 0 && g->pad_w == 0)
        return stripe;
    stripe.data = buffer;
    stripe.row_stride = values + 2 * border;
    const int count = stripe_input_rows(g, rows);
    for (int r = 0; r < count; r++) {
        float *out = buffer + r * stripe.row_stride;
        const int source = ho0 * g->sh - g->pad_h + r;
        memset(out, 0, border * sizeof(float));
        if (source >= 0 && source < g->height)
            memcpy(out + border, image + source * values, values * sizeof(float));
        else
            memset(out + border, 0, values * sizeof(float));
        memset(out + border + values, 0, border * sizeof(float));
    }
    return stripe;
}

static float *stripe_buffer(const Geometry *g, int rows)
{
    const ptrdiff_t row = ((ptrdiff_t)g->width + 2 * g->pad_w) * g->channels;
    return malloc((size_t)stripe_input_rows(g, rows) * row * sizeof(float));
}

/* Forward tile: P consecutive outputs of a stripe (along a row, and on into the next),
 * y[.., f0 : f0 + 16] of each, in 2P registers. Output p's window corner is
 * x + corner[p]; ``w`` points at the block w_blocks[f0 / 16] and ``y`` at the first
 * output, the others following ``filters`` floats apart. One row i of a window,
 * x_pad[.., ho sh + i, wo sw : wo sw + kw, :], is kw * C consecutive floats
 * (``row_values``), and so is w_blocks[f0 / 16, i] for each filter: the sum runs over
 * (j, c) as one index v, which keeps the loop long for a layer of 1-3 input channels. Per
 * v, two loads of 8 weights and P broadcasts of one input value feed 2P fused
 * multiply-adds. */
static inline __attribute__((always_inline)) AVX2 void tile(
    const float *x, const ptrdiff_t *corner, ptrdiff_t x_row, int kh, int row_values,
    const float *w, float *y, int filters, const int P)
{
    __m256 low[TILE_MAX], high[TILE_MAX];
    const float *x_p[TILE_MAX];
    for (int p = 0; p < P; p++) {
        low[p] = _mm256_setzero_ps();
        high[p] = _mm256_setzero_ps();
        x_p[p] = x + corner[p];
    }
    for (int i = 0; i < kh; i++) {
        const float *w_i = w + (ptrdiff_t)i * row_values * F_BLOCK;
        for (int v = 0; v < row_values; v++) {
            __m256 w_low = _mm256_loadu_ps(w_i + v * F_BLOCK);
            __m256 w_high = _mm256_loadu_ps(w_i + v * F_BLOCK + 8);
            for (int p = 0; p < P; p++) {
                __m256 value = _mm256_broadcast_ss(x_p[p] + i * x_row + v);
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

/* The same tile in AVX-512 registers, for B = 1 or 2 blocks of 16 filters (w_b = w +
 * b block_size, y's 16 b + 0:16): one register of 16 sums per output and block, so P up
 * to 12 outputs; per v, B loads of 16 weights and P broadcasts feed B P fused
 * multiply-adds. Each sum takes its terms in the same order as the AVX2 tile's.
 *
 * S = 0: output p's window at x + corner[p]. S > 0, a constant: the P outputs lie in one
 * output row, their windows S = sw C floats apart, and output p's values are read at a
 * constant offset p S from one pointer that steps along v (``corner`` unused). The same
 * sums; only the addressing differs. Per-output pointers need an index register in each
 * broadcast's address, and Intel cores split an FMA with an indexed memory operand into
 * two micro-ops: with one FMA per broadcast (a 16-filter layer) the tile then runs at
 * about half the FMA units' rate; with constant offsets a 12-output tile ran at 0.9 of it
 * (one core, CPU time). */
static inline __attribute__((always_inline)) AVX512 void tile512(
    const float *x, const ptrdiff_t *corner, ptrdiff_t x_row, int kh, int row_values,
    const float *w, ptrdiff_t block_size, float *y, int filters, const int P, const int B,
    const int S)
{
    __m512 sum[2][TILE512_MAX];
    const float *x_p[TILE512_MAX];
    for (int p = 0; p < P; p++) {
        sum[0][p] = sum[1][p] = _mm512_setzero_ps();
        x_p[p] = S ? x : x + corner[p];
    }
    for (int i = 0; i < kh; i++) {
        const float *w_i = w + (ptrdiff_t)i * row_values * F_BLOCK;
        const float *x_v = x + i * x_row;
        for (int v = 0; v < row_values; v++, x_v++) {
            const __m512 w0 = _mm512_loadu_ps(w_i + v * F_BLOCK);
            const __m512 w1 = B == 2 ? _mm512_loadu_ps(w_i + block_size + v * F_BLOCK) : w0;
            for (int p = 0; p < P; p++) {
                const __m512 value = _mm512_set1_ps(S ? x_v[p * S] : x_p[p][i * x_row + v]);
                sum[0][p] = _mm512_fmadd_ps(value, w0, sum[0][p]);
                if (B == 2)
                    sum[1][p] = _mm512_fmadd_ps(value, w1, sum[1][p]);
            }
        }
    }
    for (int p = 0; p < P; p++)
        for (int b = 0; b < B; b++)
            _mm512_storeu_ps(y + (ptrdiff_t)p * filters + b * F_BLOCK, sum[b][p]);
}

#define ROW_TILE_MIN_WIDTH 12 /* narrower rows: tiles across row ends fill 12 outputs */

/* A stripe's rows through ``tile512`` with a constant step S, where the rows are at least
 * ``ROW_TILE_MIN_WIDTH`` wide and the step sw C is 16, 32 or 64 floats (each step its own
 * constant); returns 0 where it does not apply. */
static AVX512 int stripe_row_tiles512(const Stripe *in, const ptrdiff_t *corner, int outputs,
                                      int out_width, ptrdiff_t step, int kh, int row_values,
                                      const float *w, ptrdiff_t block_size, int blocks,
                                      float *y, int filters)
{
    if (out_width < ROW_TILE_MIN_WIDTH || (step != 16 && step != 32 && step != 64))
        return 0;
    for (int row_end = out_width; row_end <= outputs; row_end += out_width)
        for (int q = row_end - out_width; q < row_end;) {
            const int P = tile512_width(row_end - q);
#define TILE(width_) tile512(in->data + corner[q], NULL, in->row_stride, kh, row_values, w, \
                              block_size, y + (ptrdiff_t)q * filters, filters, width_, B, S)
            if (step == 16) {
                const int S = 16;
                BY_WIDTH512_BLOCKS(P, blocks)
            } else if (step == 32) {
                const int S = 32;
                BY_WIDTH512_BLOCKS(P, blocks)
            } else {
                const int S = 64;
                BY_WIDTH512_BLOCKS(P, blocks)
            }
#undef TILE
            q += P;
        }
    return 1;
}

/* One block of 16 filters over a stripe's ``outputs`` outputs, tile after tile: by the
 * AVX2 tiles, or (``stripe_tiles512``) by the AVX-512 ones, which take ``blocks`` (1 or 2)
 * blocks at once (row by row where ``stripe_row_tiles512`` applies). */
static AVX2 void stripe_tiles(const Stripe *in, const ptrdiff_t *corner, int outputs, int kh,
                              int row_values, const float *w, float *y, int filters)
{
    for (int q = 0; q < outputs;) {
        const int P = tile_width(outputs - q);
#define TILE(width_) tile(in->data, corner + q, in->row_stride, kh, row_values, w, \
                          y + (ptrdiff_t)q * filters, filters, width_)
        BY_WIDTH(P)
#undef TILE
        q += P;
    }
}

static AVX512 void stripe_tiles512(const Stripe *in, const ptrdiff_t *corner, int outputs,
                                   int out_width, ptrdiff_t step, int kh, int row_values,
                                   const float *w, ptrdiff_t block_size, int blocks, float *y,
                                   int filters)
{
    if (stripe_row_tiles512(in, corner, outputs, out_width, step, kh, row_values, w,
                            block_size, blocks, y, filters))
        return;
    for (int q = 0; q < outputs;) {
        const int P = tile512_width(outputs - q);
#define TILE(width_) tile512(in->data, corner + q, in->row_stride, kh, row_values, w, \
                             block_size, y + (ptrdiff_t)q * filters, filters, width_, B, 0)
        BY_WIDTH512_BLOCKS(P, blocks)
#undef TILE
        q += P;
    }
}

/* y = conv(x, w) as above for the output channels f_begin <= f < f_end (multiples of 16;
 * the others are left alone), so that threads can share one image between them; returns
 * 0, or -1 if the stripe buffers cannot be allocated. Tiles run over a stripe's outputs in
 * order, across row ends, so that a narrow image (7 pixels wide in the small ResNet's last
 * stage) still fills tiles of 6. */
AVX2 int direct_conv_filters(const float *x, int n, int height, int width, int channels,
                             int pad_h, int pad_w, const float *w_blocks, int kh, int kw,
                             int filters, int sh, int sw, float *y, int out_height,
                             int out_width, int f_begin, int f_end)
{
    const Geometry g = {height, width, channels, pad_h, pad_w, kh, kw, sh, sw,
                        out_height, out_width};
    const ptrdiff_t block_size = (ptrdiff_t)kh * kw * channels * F_BLOCK;
    const int avx512 = conv_uses_avx512();
    const int stripe = stripe_rows(&g, FORWARD_STRIPE_PIXELS);
    float *buffer = stripe_buffer(&g, stripe);
    ptrdiff_t *corner = malloc((size_t)stripe * out_width * sizeof(ptrdiff_t));
    if (buffer == NULL || corner == NULL) {
        free(buffer);
        free(corner);
        return -1;
    }
    for (int image = 0; image < n; image++) {
        const float *x_image = x + (ptrdiff_t)image * height * width * channels;
        for (int ho0 = 0; ho0 < out_height; ho0 += stripe) {
            const int rows = out_height - ho0 < stripe ? out_height - ho0 : stripe;
            const int outputs = rows * out_width;
            const Stripe in = stripe_input(&g, x_image, ho0, rows, buffer);
            for (int q = 0; q < outputs; q++)
                corner[q] = (ptrdiff_t)(q / out_width) * sh * in.row_stride
                            + (ptrdiff_t)(q % out_width) * sw * channels;
            float *y_stripe = y + ((ptrdiff_t)image * out_height + ho0) * out_width * filters;
            for (int f0 = f_begin; f0 < f_end;) {
                const float *w = w_blocks + f0 / F_BLOCK * block_size;
                const int blocks = avx512 && f_end - f0 >= 2 * F_BLOCK ? 2 : 1;
                if (avx512)
                    stripe_tiles512(&in, corner, outputs, out_width, (ptrdiff_t)sw * channels,
                                    kh, kw * channels, w, block_size,
                                    blocks, y_stripe + f0, filters);
                else
                    stripe_tiles(&in, corner, outputs, kh, kw * channels, w, y_stripe + f0,
                                 filters);
                f0 += blocks * F_BLOCK;
            }
        }
    }
    free(buffer);
    free(corner);
    return 0;
}

/* y = conv(x, w) for every output channel. */
AVX2 int direct_conv(const float *x, int n, int height, int width, int channels,
                     int pad_h, int pad_w, const float *w_blocks, int kh, int kw, int filters,
                     int sh, int sw, float *y, int out_height, int out_width)
{
    return direct_conv_filters(x, n, height, width, channels, pad_h, pad_w, w_blocks, kh, kw,
                               filters, sh, sw, y, out_height, out_width, 0, filters);
}

/* Weight-gradient tile: the same registers turned around, P neighbouring values
 * v = (j, c) of window row i x 16 filters, summed over the stripe's output pixels and
 * added to dw. Per pixel, two loads of dy's 16 values and P broadcasts of x's feed 2P
 * fused multiply-adds; the stripe's rows of x and dy stay in the L1 cache while every
 * tile sweeps them. */
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

/* The same tile in AVX-512 registers, for B = 1 or 2 blocks of 16 filters (dw_b = dw +
 * b block_size, dy's 16 b + 0:16): P up to 12 values v, one register of 16 filters each
 * per block; per pixel, B loads of dy's 16 values and P broadcasts feed B P fused
 * multiply-adds. */
static inline __attribute__((always_inline)) AVX512 void weight_tile512(
    const float *x, ptrdiff_t x_row, ptrdiff_t x_step, const float *dy, int rows,
    int out_width, int filters, float *dw, ptrdiff_t block_size, const int P, const int B)
{
    __m512 sum[2][TILE512_MAX];
    for (int p = 0; p < P; p++)
        for (int b = 0; b < B; b++)
            sum[b][p] = _mm512_loadu_ps(dw + b * block_size + p * F_BLOCK);
    for (int row = 0; row < rows; row++) {
        const float *x_pixel = x + row * x_row;
        const float *dy_pixel = dy + (ptrdiff_t)row * out_width * filters;
        for (int wo = 0; wo < out_width; wo++) {
            const __m512 dy0 = _mm512_loadu_ps(dy_pixel);
            const __m512 dy1 = B == 2 ? _mm512_loadu_ps(dy_pixel + F_BLOCK) : dy0;
            for (int p = 0; p < P; p++) {
                const __m512 value = _mm512_set1_ps(x_pixel[p]);
                sum[0][p] = _mm512_fmadd_ps(value, dy0, sum[0][p]);
                if (B == 2)
                    sum[1][p] = _mm512_fmadd_ps(value, dy1, sum[1][p]);
            }
            x_pixel += x_step;
            dy_pixel += filters;
        }
    }
    for (int p = 0; p < P; p++)
        for (int b = 0; b < B; b++)
            _mm512_storeu_ps(dw + b * block_size + p * F_BLOCK, sum[b][p]);
}

/* One window row's ``row_values`` values of dw for one block of 16 filters, tile after
 * tile: by the AVX2 tiles, or (``weight_row_tiles512``) by the AVX-512 ones, which take
 * ``blocks`` (1 or 2) blocks at once. */
static AVX2 void weight_row_tiles(const float *x, ptrdiff_t x_row, ptrdiff_t x_step,
                                  const float *dy, int rows, int out_width, int filters,
                                  int row_values, float *dw)
{
    for (int v = 0; v < row_values;) {
        const int P = tile_width(row_values - v);
#define TILE(width_) weight_tile(x + v, x_row, x_step, dy, rows, out_width, filters, \
                                 dw + (ptrdiff_t)v * F_BLOCK, width_)
        BY_WIDTH(P)
#undef TILE
        v += P;
    }
}

static AVX512 void weight_row_tiles512(const float *x, ptrdiff_t x_row, ptrdiff_t x_step,
                                       const float *dy, int rows, int out_width, int filters,
                                       int row_values, float *dw, ptrdiff_t block_size,
                                       int blocks)
{
    for (int v = 0; v < row_values;) {
        const int P = tile512_width(row_values - v);
#define TILE(width_) weight_tile512(x + v, x_row, x_step, dy, rows, out_width, filters, \
                                    dw + (ptrdiff_t)v * F_BLOCK, block_size, width_, B)
        BY_WIDTH512_BLOCKS(P, blocks)
#undef TILE
        v += P;
    }
}

/* dw_blocks[f / 16, i, j, c, f % 16] = dw[f, c, i, j] as above; returns 0, or -1 if the
 * stripe buffer cannot be allocated. */
AVX2 int direct_conv_weight_grad(const float *x, int n, int height, int width, int channels,
                                 int pad_h, int pad_w, const float *dy, int out_height,
                                 int out_width, int filters, int kh, int kw, int sh, int sw,
                                 float *dw_blocks)
{
    const Geometry g = {height, width, channels, pad_h, pad_w, kh, kw, sh, sw,
                        out_height, out_width};
    const int row_values = kw * channels;
    const ptrdiff_t block_size = (ptrdiff_t)kh * row_values * F_BLOCK;
    const int avx512 = conv_uses_avx512();
    const ptrdiff_t x_step = (ptrdiff_t)sw * channels;
    const int stripe = stripe_rows(&g, WEIGHT_STRIPE_PIXELS);
    float *buffer = stripe_buffer(&g, stripe);
    if (buffer == NULL)
        return -1;
    memset(dw_blocks, 0, (size_t)filters * kh * row_values * sizeof(float));
    for (int image = 0; image < n; image++) {
        const float *x_image = x + (ptrdiff_t)image * height * width * channels;
        for (int ho0 = 0; ho0 < out_height; ho0 += stripe) {
            const int rows = out_height - ho0 < stripe ? out_height - ho0 : stripe;
            const Stripe in = stripe_input(&g, x_image, ho0, rows, buffer);
            const float *dy_stripe = dy + ((ptrdiff_t)image * out_height + ho0) * out_width * filters;
            for (int f0 = 0; f0 < filters;) {
                const int blocks = avx512 && filters - f0 >= 2 * F_BLOCK ? 2 : 1;
                for (int i = 0; i < kh; i++) {
                    const float *x_row = in.data + i * in.row_stride;
                    float *dw_row = dw_blocks + ((ptrdiff_t)f0 / F_BLOCK * kh + i)
                                                * row_values * F_BLOCK;
                    if (avx512)
                        weight_row_tiles512(x_row, sh * in.row_stride, x_step, dy_stripe + f0,
                                            rows, out_width, filters, row_values, dw_row,
                                            block_size, blocks);
                    else
                        weight_row_tiles(x_row, sh * in.row_stride, x_step, dy_stripe + f0,
                                         rows, out_width, filters, row_values, dw_row);
                }
                f0 += blocks * F_BLOCK;
            }
        }
    }
    free(buffer);
    return 0;
}

#else

int direct_conv_supported(void)
{
    return 0;
}

int conv_uses_avx512(void)
{
    return 0;
}

int conv_avx512(int wanted)
{
    (void)wanted;
    return 0;
}

#endif
