/* The convolution of small images (a deep layer's 2x2 to 8x8 maps), its input gradient and
 * its weight gradient, on channels-last float32 (``accel/batched_conv.py`` calls them;
 * ``ops/conv.py``'s im2col and col2im products are the reference):
 *
 *     y[n, ho, wo, f]  = sum_{i, j, c} x[n, ho sh - ph + i, wo sw - pw + j, c] w[f, c, i, j]
 *     dx[n, h, w, c]   = sum_{i, j, f} dy[n, ho, wo, f] w[f, c, i, j]
 *                        over the taps with h = ho sh - ph + i, w = wo sw - pw + j
 *     dw[f, c, i, j]   = sum_{n, ho, wo} x[n, ho sh - ph + i, wo sw - pw + j, c] dy[n, ho, wo, f]
 *
 * every sum over the taps that fall inside the image only. x and dx are (N, H, W, C), y and
 * dy (N, Ho, Wo, F), all contiguous; the weights come in blocks of 16 channels, as
 * ``direct_conv.c`` reads them: w_blocks[f / 16, i, j, c, f % 16] for the forward pass and
 * the weight gradient, and wt_blocks[c / 16, i, j, f, c % 16] for the input gradient.
 *
 * Why it exists: on a small map most windows reach into the zero padding (on a 2x2 map,
 * 5 of a 3x3 window's 9 taps for every output), which im2col and the stripe kernel of
 * ``direct_conv.c`` multiply out, and the products im2col feeds have too few rows (N Ho Wo)
 * for OpenBLAS to pay for packing the large weights. Here one tile is the same output
 * position in up to 6 images, which share their in-image taps, so the tile runs over those
 * taps only, and each weight block stays in the L2 cache while every position and image
 * goes past it. Threads take disjoint ranges of blocks of 16 output channels (of dx's
 * input channels for the input gradient), so no thread waits for another and no sum is
 * split. */

#include <stddef.h>

/* The weights' reordering into blocks of 16 channels, and back: with a[o, i, t] at
 * a + o o_stride + i i_stride + t (t the kh kw taps, row-major), o the blocked axis,
 *
 *     blocks[o / 16, t', i, o % 16] = a[o, i, t],  t' = t, or T - 1 - t if ``reverse``
 *
 * for the blocks ob_begin <= o / 16 < ob_end. A weight (F, C, kh, kw) gives w_blocks
 * (o = f, i = c), and read across (o = c, i = f) it gives wt_blocks; reversing the taps
 * turns the window 180 degrees. NumPy's copy of the same transposed view gathers a value
 * at a time, and its writes T runs apart fall into one cache set when I is a power of two
 * (several times a plain copy's time). Here a cube of 16 o x
 * ``REORDER_TILE`` i x T values goes through a small buffer in the L1 cache: read in
 * runs of T values, written in runs of 16 ``REORDER_TILE`` values. */
#define REORDER_TILE 16
#define REORDER_MAX_TAPS 64

static int weight_to_blocks_scalar(const float *a, ptrdiff_t o_stride, ptrdiff_t i_stride,
                                   int inner, int taps, int reverse, int ob_begin, int ob_end,
                                   float *blocks)
{
    float cube[REORDER_MAX_TAPS * REORDER_TILE * 16];
    for (int ob = ob_begin; ob < ob_end; ob++) {
        float *out = blocks + (ptrdiff_t)ob * taps * inner * 16;
        for (int i0 = 0; i0 < inner; i0 += REORDER_TILE) {
            const int width = inner - i0 < REORDER_TILE ? inner - i0 : REORDER_TILE;
            for (int i = 0; i < width; i++)
                for (int o = 0; o < 16; o++) {
                    const float *src = a + (ptrdiff_t)(ob * 16 + o) * o_stride
                                       + (ptrdiff_t)(i0 + i) * i_stride;
                    for (int t = 0; t < taps; t++)
                        cube[(t * REORDER_TILE + i) * 16 + o] = src[t];
                }
            for (int t = 0; t < taps; t++) {
                const int target = reverse ? taps - 1 - t : t;
                float *dst = out + ((ptrdiff_t)target * inner + i0) * 16;
                const float *row = cube + t * REORDER_TILE * 16;
                for (int k = 0; k < width * 16; k++)
                    dst[k] = row[k];
            }
        }
    }
    return 0;
}

/* The inverse for a contiguous a (O, I, T): a[o, i, t] = blocks[o / 16, t, i, o % 16]. */
static int weight_from_blocks_scalar(const float *blocks, int inner, int taps, int ob_begin,
                                     int ob_end, float *a)
{
    float cube[REORDER_MAX_TAPS * REORDER_TILE * 16];
    for (int ob = ob_begin; ob < ob_end; ob++) {
        const float *in = blocks + (ptrdiff_t)ob * taps * inner * 16;
        for (int i0 = 0; i0 < inner; i0 += REORDER_TILE) {
            const int width = inner - i0 < REORDER_TILE ? inner - i0 : REORDER_TILE;
            for (int t = 0; t < taps; t++) {
                const float *src = in + ((ptrdiff_t)t * inner + i0) * 16;
                float *row = cube + t * REORDER_TILE * 16;
                for (int k = 0; k < width * 16; k++)
                    row[k] = src[k];
            }
            for (int o = 0; o < 16; o++)
                for (int i = 0; i < width; i++) {
                    float *dst = a + ((ptrdiff_t)(ob * 16 + o) * inner + i0 + i) * taps;
                    for (int t = 0; t < taps; t++)
                        dst[t] = cube[(t * REORDER_TILE + i) * 16 + o];
                }
        }
    }
    return 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "conv_tiles.h"

#define BLOCK 16
#define MAX_SEGMENTS 64 /* taps (or tap rows) of one window: at most 64 here */
#define CHUNK_BYTES (384 << 10) /* one chunk of images' input and output, in the L2 cache */

/* out[p][0:16] = sum over segments s, v < length of base[p][x_off[s] + v] * w[w_off[s] + 16 v
 * + 0:16], for P rows ``base`` (one per image); out[p] = y + p * y_step. */
static inline __attribute__((always_inline)) AVX2 void segment_tile(
    const float *const *base, const ptrdiff_t *x_off, const ptrdiff_t *w_off, int segments,
    int length, const float *w, float *y, ptrdiff_t y_step, const int P)
{
    __m256 low[TILE_MAX], high[TILE_MAX];
    for (int p = 0; p < P; p++) {
        low[p] = _mm256_setzero_ps();
        high[p] = _mm256_setzero_ps();
    }
    for (int s = 0; s < segments; s++) {
        const float *w_s = w + w_off[s];
        const float *x_s[TILE_MAX];
        for (int p = 0; p < P; p++)
            x_s[p] = base[p] + x_off[s];
        for (int v = 0; v < length; v++) {
            const __m256 w_low = _mm256_loadu_ps(w_s + (ptrdiff_t)v * BLOCK);
            const __m256 w_high = _mm256_loadu_ps(w_s + (ptrdiff_t)v * BLOCK + 8);
            for (int p = 0; p < P; p++) {
                const __m256 value = _mm256_broadcast_ss(x_s[p] + v);
                low[p] = _mm256_fmadd_ps(value, w_low, low[p]);
                high[p] = _mm256_fmadd_ps(value, w_high, high[p]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(y + p * y_step, low[p]);
        _mm256_storeu_ps(y + p * y_step + 8, high[p]);
    }
}

/* ``segment_tile`` in AVX-512 registers for B = 1 or 2 blocks of 16 channels (block b's
 * weights at w + b block_size, its outputs at out[p] + 16 b): one register per image and
 * block, so P up to 12 images; each sum takes its terms in the AVX2 tile's order. */
static inline __attribute__((always_inline)) AVX512 void segment_tile512(
    const float *const *base, const ptrdiff_t *x_off, const ptrdiff_t *w_off, int segments,
    int length, const float *w, ptrdiff_t block_size, float *y, ptrdiff_t y_step,
    const int P, const int B)
{
    __m512 sum[2][TILE512_MAX];
    for (int p = 0; p < P; p++)
        sum[0][p] = sum[1][p] = _mm512_setzero_ps();
    for (int s = 0; s < segments; s++) {
        const float *w_s = w + w_off[s];
        const float *x_s[TILE512_MAX];
        for (int p = 0; p < P; p++)
            x_s[p] = base[p] + x_off[s];
        for (int v = 0; v < length; v++) {
            const __m512 w0 = _mm512_loadu_ps(w_s + (ptrdiff_t)v * BLOCK);
            const __m512 w1 = B == 2 ? _mm512_loadu_ps(w_s + block_size + (ptrdiff_t)v * BLOCK)
                                     : w0;
            for (int p = 0; p < P; p++) {
                const __m512 value = _mm512_set1_ps(x_s[p][v]);
                sum[0][p] = _mm512_fmadd_ps(value, w0, sum[0][p]);
                if (B == 2)
                    sum[1][p] = _mm512_fmadd_ps(value, w1, sum[1][p]);
            }
        }
    }
    for (int p = 0; p < P; p++)
        for (int b = 0; b < B; b++)
            _mm512_storeu_ps(y + p * y_step + b * BLOCK, sum[b][p]);
}

/* ``over_images`` by the AVX-512 tiles, for ``blocks`` (1 or 2) blocks of channels. */
static AVX512 void over_images512(const float *in, ptrdiff_t image_size, int n,
                                  const ptrdiff_t *x_off, const ptrdiff_t *w_off, int segments,
                                  int length, const float *w, ptrdiff_t block_size, int blocks,
                                  float *out, ptrdiff_t y_step)
{
    const float *base[TILE512_MAX];
    for (int n0 = 0; n0 < n;) {
        const int P = tile512_width(n - n0);
        for (int p = 0; p < P; p++)
            base[p] = in + (ptrdiff_t)(n0 + p) * image_size;
#define TILE(width_) segment_tile512(base, x_off, w_off, segments, length, w, block_size, \
                                     out + (ptrdiff_t)n0 * y_step, y_step, width_, B)
        BY_WIDTH512_BLOCKS(P, blocks)
#undef TILE
        n0 += P;
    }
}

/* Runs ``segment_tile`` for one output position of every image, P images at a time: the
 * images' rows start image_size floats apart in the input and y_step apart in the output. */
static AVX2 void over_images(const float *in, ptrdiff_t image_size, int n,
                             const ptrdiff_t *x_off, const ptrdiff_t *w_off, int segments,
                             int length, const float *w, float *out, ptrdiff_t y_step)
{
    const float *base[TILE_MAX];
    for (int n0 = 0; n0 < n;) {
        const int P = tile_width(n - n0);
        for (int p = 0; p < P; p++)
            base[p] = in + (ptrdiff_t)(n0 + p) * image_size;
#define TILE(width_) segment_tile(base, x_off, w_off, segments, length, w, \
                                  out + (ptrdiff_t)n0 * y_step, y_step, width_)
        BY_WIDTH(P)
#undef TILE
        n0 += P;
    }
}

/* The taps lo <= i < hi of a window starting at ``start`` (possibly negative) that fall
 * inside [0, size). */
static void inside(int start, int taps, int size, int *lo, int *hi)
{
    *lo = start < 0 ? -start : 0;
    *hi = size - start < taps ? size - start : taps;
    if (*hi < *lo)
        *hi = *lo;
}

/* Images per chunk: the batch goes through in chunks whose input and output (floats per
 * image) fit ``CHUNK_BYTES`` together, so that they stay in the L2 cache while every
 * block of channels, position and tap goes past them; equal chunks, at least 6 images
 * each where the batch has them (a whole tile). */
static int chunk_images(int n, ptrdiff_t floats_per_image)
{
    ptrdiff_t fit = CHUNK_BYTES / (floats_per_image * (ptrdiff_t)sizeof(float));
    if (fit < TILE_MAX)
        fit = TILE_MAX;
    const int chunks = (int)((n + fit - 1) / fit);
    return (n + chunks - 1) / chunks;
}

/* The chunk's ``count`` images copied ``image_size + 16`` floats apart into ``buffer``:
 * in place a small map's images lie a power of two apart (2 x 2 x 512 floats is 8 KB), so
 * a tile's rows of 6 images fall into one L1 cache set and evict each other. */
static const float *padded_images(const float *images, int count, ptrdiff_t image_size,
                                  float *buffer)
{
    for (int k = 0; k < count; k++)
        memcpy(buffer + k * (image_size + BLOCK), images + k * image_size,
               (size_t)image_size * sizeof(float));
    return buffer;
}

/* y = conv(x, w) for the output channels f_begin <= f < f_end (multiples of 16). A window's
 * in-image taps of row i are (j_hi - j_lo) C consecutive values of x and of the weights. */
AVX2 int batched_conv(const float *x, int n, int height, int width, int channels, int pad_h,
                      int pad_w, const float *w_blocks, int kh, int kw, int filters, int sh,
                      int sw, float *y, int out_height, int out_width, int f_begin, int f_end)
{
    if (kh > MAX_SEGMENTS)
        return -1;
    ptrdiff_t x_off[MAX_SEGMENTS], w_off[MAX_SEGMENTS];
    const ptrdiff_t image_size = (ptrdiff_t)height * width * channels;
    const ptrdiff_t y_step = (ptrdiff_t)out_height * out_width * filters;
    const ptrdiff_t block_size = (ptrdiff_t)kh * kw * channels * BLOCK;
    const int avx512 = conv_uses_avx512();
    int blocks = 1;
    const int chunk = chunk_images(n, image_size + (ptrdiff_t)out_height * out_width
                                                     * (f_end - f_begin));
    float *buffer = malloc((size_t)chunk * (image_size + BLOCK) * sizeof(float));
    if (buffer == NULL)
        return -1;
    for (int n0 = 0; n0 < n; n0 += chunk) {
    const int count = n - n0 < chunk ? n - n0 : chunk;
    const float *images = padded_images(x + n0 * image_size, count, image_size, buffer);
    for (int f0 = f_begin; f0 < f_end; f0 += blocks * BLOCK) {
        const float *w = w_blocks + f0 / BLOCK * block_size;
        blocks = avx512 && f_end - f0 >= 2 * BLOCK ? 2 : 1;
        for (int ho = 0; ho < out_height; ho++) {
            int i_lo, i_hi;
            inside(ho * sh - pad_h, kh, height, &i_lo, &i_hi);
            for (int wo = 0; wo < out_width; wo++) {
                int j_lo, j_hi;
                inside(wo * sw - pad_w, kw, width, &j_lo, &j_hi);
                int segments = 0;
                for (int i = i_lo; i < i_hi && j_lo < j_hi; i++, segments++) {
                    x_off[segments] = ((ptrdiff_t)(ho * sh - pad_h + i) * width
                                       + (wo * sw - pad_w + j_lo)) * channels;
                    w_off[segments] = ((ptrdiff_t)i * kw + j_lo) * channels * BLOCK;
                }
                float *out = y + n0 * y_step + ((ptrdiff_t)ho * out_width + wo) * filters + f0;
                if (avx512)
                    over_images512(images, image_size + BLOCK, count, x_off, w_off, segments,
                                   (j_hi - j_lo) * channels, w, block_size, blocks, out,
                                   y_step);
                else
                    over_images(images, image_size + BLOCK, count, x_off, w_off, segments,
                                (j_hi - j_lo) * channels, w, out, y_step);
            }
        }
    }
    }
    free(buffer);
    return 0;
}

/* dx = the input gradient of y = conv(x, w) for the input channels c_begin <= c < c_end
 * (multiples of 16), from wt_blocks[c / 16, i, j, f, c % 16]. Each in-image tap of the
 * position (h, w) is one segment of F values of dy. */
AVX2 int batched_conv_input_grad(const float *dy, int n, int out_height, int out_width,
                                 int filters, const float *wt_blocks, int kh, int kw,
                                 int sh, int sw, int pad_h, int pad_w, float *dx, int height,
                                 int width, int channels, int c_begin, int c_end)
{
    if (kh * kw > MAX_SEGMENTS)
        return -1;
    ptrdiff_t x_off[MAX_SEGMENTS], w_off[MAX_SEGMENTS];
    const ptrdiff_t image_size = (ptrdiff_t)out_height * out_width * filters;
    const ptrdiff_t dx_step = (ptrdiff_t)height * width * channels;
    const ptrdiff_t block_size = (ptrdiff_t)kh * kw * filters * BLOCK;
    const int avx512 = conv_uses_avx512();
    int blocks = 1;
    const int chunk = chunk_images(n, image_size + (ptrdiff_t)height * width
                                                     * (c_end - c_begin));
    float *buffer = malloc((size_t)chunk * (image_size + BLOCK) * sizeof(float));
    if (buffer == NULL)
        return -1;
    for (int n0 = 0; n0 < n; n0 += chunk) {
    const int count = n - n0 < chunk ? n - n0 : chunk;
    const float *images = padded_images(dy + n0 * image_size, count, image_size, buffer);
    for (int c0 = c_begin; c0 < c_end; c0 += blocks * BLOCK) {
        const float *w = wt_blocks + c0 / BLOCK * block_size;
        blocks = avx512 && c_end - c0 >= 2 * BLOCK ? 2 : 1;
        for (int h = 0; h < height; h++) {
            for (int x_w = 0; x_w < width; x_w++) {
                int segments = 0;
                for (int i = 0; i < kh; i++) {
                    const int row = h + pad_h - i; /* = ho sh */
                    if (row < 0 || row % sh || row / sh >= out_height)
                        continue;
                    for (int j = 0; j < kw; j++) {
                        const int col = x_w + pad_w - j;
                        if (col < 0 || col % sw || col / sw >= out_width)
                            continue;
                        x_off[segments] = ((ptrdiff_t)(row / sh) * out_width + col / sw)
                                          * filters;
                        w_off[segments] = ((ptrdiff_t)i * kw + j) * filters * BLOCK;
                        segments++;
                    }
                }
                float *out = dx + n0 * dx_step + ((ptrdiff_t)h * width + x_w) * channels + c0;
                if (avx512)
                    over_images512(images, image_size + BLOCK, count, x_off, w_off, segments,
                                   filters, w, block_size, blocks, out, dx_step);
                else
                    over_images(images, image_size + BLOCK, count, x_off, w_off, segments,
                                filters, w, out, dx_step);
            }
        }
    }
    }
    free(buffer);
    return 0;
}

/* Weight-gradient tile: P neighbouring input channels c0 .. c0 + P - 1 of tap (i, j) x 16
 * filters, summed over the ``pairs`` (image, output position) whose window has that tap
 * inside the image, from packed rows: x's at x + k x_stride, dy's 16 values at dy + 16 k.
 * Written to dw (P rows of 16 floats), or added to it after the first chunk. */
static inline __attribute__((always_inline)) AVX2 void weight_tile(
    const float *x, ptrdiff_t x_stride, const float *dy, int pairs, float *dw, int first,
    const int P)
{
    __m256 low[TILE_MAX], high[TILE_MAX];
    for (int p = 0; p < P; p++) {
        low[p] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(dw + p * BLOCK);
        high[p] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(dw + p * BLOCK + 8);
    }
    for (int k = 0; k < pairs; k++) {
        const float *x_pixel = x + k * x_stride;
        const __m256 dy_low = _mm256_loadu_ps(dy + (ptrdiff_t)k * BLOCK);
        const __m256 dy_high = _mm256_loadu_ps(dy + (ptrdiff_t)k * BLOCK + 8);
        for (int p = 0; p < P; p++) {
            const __m256 value = _mm256_broadcast_ss(x_pixel + p);
            low[p] = _mm256_fmadd_ps(value, dy_low, low[p]);
            high[p] = _mm256_fmadd_ps(value, dy_high, high[p]);
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(dw + p * BLOCK, low[p]);
        _mm256_storeu_ps(dw + p * BLOCK + 8, high[p]);
    }
}

/* ``weight_tile`` in AVX-512 registers: P up to 12 input channels, one register each. */
static inline __attribute__((always_inline)) AVX512 void weight_tile512(
    const float *x, ptrdiff_t x_stride, const float *dy, int pairs, float *dw, int first,
    const int P)
{
    __m512 sum[TILE512_MAX];
    for (int p = 0; p < P; p++)
        sum[p] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(dw + p * BLOCK);
    for (int k = 0; k < pairs; k++) {
        const float *x_pixel = x + k * x_stride;
        const __m512 dy_values = _mm512_loadu_ps(dy + (ptrdiff_t)k * BLOCK);
        for (int p = 0; p < P; p++)
            sum[p] = _mm512_fmadd_ps(_mm512_set1_ps(x_pixel[p]), dy_values, sum[p]);
    }
    for (int p = 0; p < P; p++)
        _mm512_storeu_ps(dw + p * BLOCK, sum[p]);
}

/* One tap's dw for one block of 16 filters, tile after tile over the input channels: by the
 * AVX2 tiles, or (``tap_tiles512``) by the AVX-512 ones. */
static AVX2 void tap_tiles(const float *x_packed, ptrdiff_t x_stride, const float *dy_packed,
                           int pairs, int channels, float *dw_tap, int first)
{
    for (int c0 = 0; c0 < channels;) {
        const int P = tile_width(channels - c0);
#define TILE(width_) weight_tile(x_packed + c0, x_stride, dy_packed, pairs, \
                                 dw_tap + (ptrdiff_t)c0 * BLOCK, first, width_)
        BY_WIDTH(P)
#undef TILE
        c0 += P;
    }
}

static AVX512 void tap_tiles512(const float *x_packed, ptrdiff_t x_stride,
                                const float *dy_packed, int pairs, int channels, float *dw_tap,
                                int first)
{
    for (int c0 = 0; c0 < channels;) {
        const int P = tile512_width(channels - c0);
#define TILE(width_) weight_tile512(x_packed + c0, x_stride, dy_packed, pairs, \
                                    dw_tap + (ptrdiff_t)c0 * BLOCK, first, width_)
        BY_WIDTH512(P)
#undef TILE
        c0 += P;
    }
}

/* dw_blocks[f / 16, i, j, c, f % 16] = dw[f, c, i, j] for f_begin <= f < f_end (multiples
 * of 16); returns 0, or -1 if the packed rows cannot be allocated.
 *
 * Per chunk of images and tap, the x rows of the (image, output) pairs whose window has the
 * tap inside the image are packed one after another, C + 16 floats apart, and per block of
 * 16 filters so are their dy values. In place, a small map's rows lie a power of two apart
 * (an image of 2 x 2 x 512 floats is 8 KB) and every pair's row fell into the same few L1
 * cache sets, which ran the tiles at half speed; packed, the tile walks them in order. */
AVX2 int batched_conv_weight_grad(const float *x, int n, int height, int width, int channels,
                                  int pad_h, int pad_w, const float *dy, int out_height,
                                  int out_width, int filters, int kh, int kw, int sh, int sw,
                                  float *dw_blocks, int f_begin, int f_end)
{
    const ptrdiff_t x_image = (ptrdiff_t)height * width * channels;
    const ptrdiff_t dy_image = (ptrdiff_t)out_height * out_width * filters;
    const ptrdiff_t x_stride = channels + BLOCK;
    const int avx512 = conv_uses_avx512();
    const int chunk = chunk_images(n, x_image + (ptrdiff_t)out_height * out_width
                                                  * (f_end - f_begin));
    const size_t most = (size_t)chunk * out_height * out_width;
    float *x_packed = malloc(most * (size_t)(x_stride + BLOCK) * sizeof(float));
    ptrdiff_t *dy_off = malloc(most * sizeof(ptrdiff_t));
    if (x_packed == NULL || dy_off == NULL) {
        free(x_packed);
        free(dy_off);
        return -1;
    }
    float *dy_packed = x_packed + most * (size_t)x_stride;
    for (int n0 = 0; n0 < n; n0 += chunk) {
        const int count = n - n0 < chunk ? n - n0 : chunk;
        const float *x_chunk = x + n0 * x_image;
        const float *dy_chunk = dy + n0 * dy_image;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                int pairs = 0; /* the outputs whose tap (i, j) is inside the image */
                for (int image = 0; image < count; image++)
                    for (int ho = 0; ho < out_height; ho++) {
                        const int h = ho * sh - pad_h + i;
                        if (h < 0 || h >= height)
                            continue;
                        for (int wo = 0; wo < out_width; wo++) {
                            const int w = wo * sw - pad_w + j;
                            if (w < 0 || w >= width)
                                continue;
                            memcpy(x_packed + pairs * x_stride, x_chunk + image * x_image
                                   + ((ptrdiff_t)h * width + w) * channels,
                                   (size_t)channels * sizeof(float));
                            dy_off[pairs] = image * dy_image
                                            + ((ptrdiff_t)ho * out_width + wo) * filters;
                            pairs++;
                        }
                    }
                for (int f0 = f_begin; f0 < f_end; f0 += BLOCK) {
                    for (int k = 0; k < pairs; k++)
                        memcpy(dy_packed + (ptrdiff_t)k * BLOCK, dy_chunk + dy_off[k] + f0,
                               BLOCK * sizeof(float));
                    float *dw_tap = dw_blocks + (((ptrdiff_t)f0 / BLOCK * kh + i) * kw + j)
                                    * channels * BLOCK;
                    (avx512 ? tap_tiles512 : tap_tiles)(x_packed, x_stride, dy_packed, pairs,
                                                         channels, dw_tap, n0 == 0);
                }
            }
        }
    }
    free(x_packed);
    free(dy_off);
    return 0;
}

#else

int batched_conv(void)
{
    return -1;
}

int batched_conv_input_grad(void)
{
    return -1;
}

int batched_conv_weight_grad(void)
{
    return -1;
}

#endif

/* The reorderings with 8 x 8 transposes in AVX registers where the CPU has AVX2 and a
 * window has at least 8 taps, taken 8 at a time, the last 8 overlapping the others (a 3x3
 * window: taps 0-7 and 1-8, the values they share written twice); the scalar cube above
 * otherwise. */
#if defined(__x86_64__) && defined(__GNUC__)
static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

/* rows[0..7] (8 floats each) transposed in place: rows[k][m] <- rows[m][k]. */
static inline __attribute__((always_inline)) AVX2 void transpose8(__m256 *rows)
{
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(rows[k], rows[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(rows[k], rows[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        rows[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        rows[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

/* dst[t * dst_t + r] = src[r * src_r + t] for r < 8 and t0 <= t < t0 + 8. */
static inline __attribute__((always_inline)) AVX2 void move8(const float *src, ptrdiff_t src_r,
                                                             float *dst, ptrdiff_t dst_t, int t0)
{
    __m256 rows[8];
    for (int r = 0; r < 8; r++)
        rows[r] = _mm256_loadu_ps(src + r * src_r + t0);
    transpose8(rows);
    for (int t = 0; t < 8; t++)
        _mm256_storeu_ps(dst + (t0 + t) * dst_t, rows[t]);
}

static AVX2 int weight_to_blocks_avx2(const float *a, ptrdiff_t o_stride, ptrdiff_t i_stride,
                                      int inner, int taps, int reverse, int ob_begin,
                                      int ob_end, float *blocks)
{
    const ptrdiff_t t_step = (ptrdiff_t)inner * 16 * (reverse ? -1 : 1);
    for (int ob = ob_begin; ob < ob_end; ob++) {
        float *out = blocks + (ptrdiff_t)ob * taps * inner * 16
                     + (reverse ? (ptrdiff_t)(taps - 1) * inner * 16 : 0);
        /* one window of 8 taps at a time over every i: its 8 output rows are the only
         * streams being written (T of them, a power of two apart, overflow the L1 ways) */
        for (int t0 = 0;; t0 = t0 + 8 < taps - 8 ? t0 + 8 : taps - 8) {
            for (int i = 0; i < inner; i++) {
                for (int half = 0; half < 16; half += 8) {
                    const float *src = a + (ptrdiff_t)(ob * 16 + half) * o_stride
                                       + i * i_stride;
                    move8(src, o_stride, out + (ptrdiff_t)i * 16 + half, t_step, t0);
                }
            }
            if (t0 == taps - 8)
                break;
        }
    }
    return 0;
}

static AVX2 int weight_from_blocks_avx2(const float *blocks, int inner, int taps, int ob_begin,
                                        int ob_end, float *a)
{
    for (int ob = ob_begin; ob < ob_end; ob++) {
        const float *in = blocks + (ptrdiff_t)ob * taps * inner * 16;
        for (int i = 0; i < inner; i++) {
            for (int half = 0; half < 16; half += 8) {
                /* a[o, i, t] for the 8 o of this half: rows t of blocks, 8 o each */
                const float *src = in + (ptrdiff_t)i * 16 + half;
                float *dst = a + ((ptrdiff_t)(ob * 16 + half) * inner + i) * taps;
                for (int t0 = 0;; t0 = t0 + 8 < taps - 8 ? t0 + 8 : taps - 8) {
                    __m256 rows[8];
                    for (int t = 0; t < 8; t++)
                        rows[t] = _mm256_loadu_ps(src + (ptrdiff_t)(t0 + t) * inner * 16);
                    transpose8(rows);
                    for (int o = 0; o < 8; o++)
                        _mm256_storeu_ps(dst + (ptrdiff_t)o * inner * taps + t0, rows[o]);
                    if (t0 == taps - 8)
                        break;
                }
            }
        }
    }
    return 0;
}
#endif

int weight_to_blocks(const float *a, ptrdiff_t o_stride, ptrdiff_t i_stride, int inner,
                     int taps, int reverse, int ob_begin, int ob_end, float *blocks)
{
    if (taps > REORDER_MAX_TAPS)
        return -1;
#if defined(__x86_64__) && defined(__GNUC__)
    if (taps >= 8 && has_avx2())
        return weight_to_blocks_avx2(a, o_stride, i_stride, inner, taps, reverse, ob_begin,
                                     ob_end, blocks);
#endif
    return weight_to_blocks_scalar(a, o_stride, i_stride, inner, taps, reverse, ob_begin,
                                   ob_end, blocks);
}

int weight_from_blocks(const float *blocks, int inner, int taps, int ob_begin, int ob_end,
                       float *a)
{
    if (taps > REORDER_MAX_TAPS)
        return -1;
#if defined(__x86_64__) && defined(__GNUC__)
    if (taps >= 8 && has_avx2())
        return weight_from_blocks_avx2(blocks, inner, taps, ob_begin, ob_end, a);
#endif
    return weight_from_blocks_scalar(blocks, inner, taps, ob_begin, ob_end, a);
}
