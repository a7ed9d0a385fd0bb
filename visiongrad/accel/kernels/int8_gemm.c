/* Integer matrix product of the int8 inference path: uint8 activations times int8
 * weights, summed in int32, then one fused epilogue that rescales each sum to float and
 * either stores it or requantizes it to uint8. It is optional (``accel/native.py`` loads
 * it where it was built, ``accel/int8.py`` calls it) and ``accel/int8.py``'s NumPy integer
 * product is the reference it is tested against, value for value.
 *
 *     acc[r, f] = sum_k a[r, k] * b[k, f]                       (int32, exact)
 *     v[r, f]   = float(acc[r, f] + col_offset[f]) * scale[f] + bias[f]   (float32: one
 *                 multiply, then one add; never fused, so that NumPy's float32 arithmetic
 *                 gives the same bits)
 *     out_f32[r, f] = v[r, f]                                   (float output), or
 *     out_u8[r, f]  = clamp(round_half_even(v[r, f]) + out_zero, out_min, 255)
 *
 * a is (rows, depth) uint8 with rows ``a_stride`` bytes apart, depth a multiple of 4
 * (padded with zeros by the caller). The output has ``cols`` columns, a multiple of 16,
 * rows ``out_stride`` elements apart. The weights come packed in blocks of 16 columns:
 *
 *   VNNI (vpdpbusd: four u8 x s8 products summed into each int32 lane, no
 *   intermediate saturation; on 256 bits with AVX-VNNI, on 512 with AVX-512 VNNI):
 *                              b4[f / 16, k / 4, f % 16, k % 4]    int8
 *   AVX2 (vpmaddwd: two s16 x s16 products summed into each int32 lane):
 *                              b2[f / 16, k / 2, f % 16, k % 2]    int16
 *
 * NOTE: the AVX2 path widens to 16 bits rather than use vpmaddubsw (u8 x s8 pairs summed
 * into int16), because that sum saturates: 255 * 127 * 2 = 64770 > 32767. FBGEMM avoids
 * it by quantizing activations to 7 bits ("reduce_range"); here every path is exact and
 * gives the same integers, at half vpmaddubsw's products per instruction without VNNI.
 *
 * A tile is up to 6 rows by 16 columns: 12 int32 accumulator registers, two weight loads
 * and one broadcast of 4 (2) activation bytes per row per step of depth.
 */

#include <stddef.h>
#include <stdint.h>

#include <string.h>

/* im2col of channels-last uint8 images for the integer convolution: for images
 * n_begin <= n < n_end, each window row i gets ``row_width`` bytes (kw C rounded up to a
 * multiple of 4, the product's depth step), so a row of the product is kh row_width long:
 *
 *     rows[n, ho, wo, i row_width + j C + c] = x_pad[n, ho sh + i, wo sw + j, c]
 *
 * with x (N, H, W, C) padded by (ph, pw) with ``zero`` (the quantized 0.0). The bytes
 * kw C .. row_width - 1 of each window row meet zero weights: where the image row holds
 * them they are the next pixels' values, copied with the row in 4-byte moves (a 7x7
 * window of a 1-channel image is seven 8-byte moves per output), else zeros.
 */
void uint8_im2col(const uint8_t *x, ptrdiff_t n_begin, ptrdiff_t n_end, int H, int W, int C,
                  int ph, int pw, int kh, int kw, int sh, int sw, int zero, uint8_t *rows,
                  int Ho, int Wo, int row_width)
{
    const ptrdiff_t depth = (ptrdiff_t)kh * row_width, window = (ptrdiff_t)kw * C;
    for (ptrdiff_t n = n_begin; n < n_end; n++) {
        const uint8_t *image = x + n * H * W * C;
        for (int ho = 0; ho < Ho; ho++) {
            for (int wo = 0; wo < Wo; wo++) {
                uint8_t *row = rows + ((n * Ho + ho) * Wo + wo) * depth;
                const int w0 = wo * sw - pw;
                const int j_begin = w0 < 0 ? -w0 : 0;
                const int j_end = w0 + kw > W ? W - w0 : kw;
                const int whole = w0 >= 0 && (ptrdiff_t)(W - w0) * C >= row_width;
                for (int i = 0; i < kh; i++) {
                    uint8_t *out = row + (ptrdiff_t)i * row_width;
                    const int h = ho * sh - ph + i;
                    if (h < 0 || h >= H || j_end <= j_begin) {
                        memset(out, zero, (size_t)window);
                        memset(out + window, 0, (size_t)(row_width - window));
                        continue;
                    }
                    const uint8_t *source = image + ((ptrdiff_t)h * W + w0) * C;
                    if (whole) {
                        for (int t = 0; t < row_width; t += 4)
                            memcpy(out + t, source + t, 4);
                        continue;
                    }
                    memset(out, zero, (size_t)j_begin * C);
                    memcpy(out + (ptrdiff_t)j_begin * C, source + (ptrdiff_t)j_begin * C,
                           (size_t)(j_end - j_begin) * C);
                    memset(out + (ptrdiff_t)j_end * C, zero, (size_t)(kw - j_end) * C);
                    memset(out + window, 0, (size_t)(row_width - window));
                }
            }
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define ROWS_MAX 6
#define COLS 16

/* Bit 1: AVX2 (the int16 path); bit 2: AVX-VNNI (vpdpbusd on 256 bits); bit 4:
 * AVX-512 VNNI (vpdpbusd on 512 bits). */
int int8_gemm_support(void)
{
    __builtin_cpu_init();
    int bits = 0;
    if (__builtin_cpu_supports("avx2"))
        bits |= 1;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"))
        bits |= 2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni"))
        bits |= 4;
    return bits;
}

typedef struct {
    const int32_t *col_offset;
    const float *scale, *bias;
    int out_zero, out_min;
    uint8_t *out_u8;
    float *out_f32;
    ptrdiff_t out_stride;
} Epilogue;

/* v = float(acc + offset) * scale + bias for 8 columns; stored as float, or rounded
 * (the default rounding mode: to nearest, ties to even), shifted by the zero point,
 * clamped and narrowed to 8 bytes. */
static inline __attribute__((always_inline, target("avx2"))) void finish8(
    __m256i acc, const Epilogue *e, ptrdiff_t r, int f)
{
    __m256i shifted = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i *)(e->col_offset + f)));
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(shifted), _mm256_loadu_ps(e->scale + f));
    v = _mm256_add_ps(v, _mm256_loadu_ps(e->bias + f));
    if (e->out_f32 != NULL) {
        _mm256_storeu_ps(e->out_f32 + r * e->out_stride + f, v);
        return;
    }
    __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(e->out_zero));
    q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(e->out_min)),
                         _mm256_set1_epi32(255));
    __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    __m128i bytes = _mm_packus_epi16(words, words);
    _mm_storel_epi64((__m128i *)(e->out_u8 + r * e->out_stride + f), bytes);
}

/* A tile's six row pointers: rows r0 .. r0 + 5, the last real row repeated where fewer
 * than six remain (its sums are computed and not stored), so that every tile runs the same
 * fully unrolled loop with its 12 sums in registers. */
#define ROW_POINTERS                                                                       \
    const uint8_t *a_row[ROWS_MAX];                                                        \
    for (int p = 0; p < ROWS_MAX; p++)                                                     \
        a_row[p] = a + (r0 + (p < R ? p : R - 1)) * a_stride;                              \
    const uint8_t *a0 = a_row[0], *a1 = a_row[1], *a2 = a_row[2], *a3 = a_row[3],          \
                  *a4 = a_row[4], *a5 = a_row[5];                                          \
    __m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0,      \
            l3 = l0, h3 = l0, l4 = l0, h4 = l0, l5 = l0, h5 = l0;

#define FINISH_ROWS                                                                        \
    finish8(l0, e, r0, f0); finish8(h0, e, r0, f0 + 8);                                    \
    if (R > 1) { finish8(l1, e, r0 + 1, f0); finish8(h1, e, r0 + 1, f0 + 8); }             \
    if (R > 2) { finish8(l2, e, r0 + 2, f0); finish8(h2, e, r0 + 2, f0 + 8); }             \
    if (R > 3) { finish8(l3, e, r0 + 3, f0); finish8(h3, e, r0 + 3, f0 + 8); }             \
    if (R > 4) { finish8(l4, e, r0 + 4, f0); finish8(h4, e, r0 + 4, f0 + 8); }             \
    if (R > 5) { finish8(l5, e, r0 + 5, f0); finish8(h5, e, r0 + 5, f0 + 8); }

static inline int32_t load4(const uint8_t *p)
{
    int32_t four;
    memcpy(&four, p, 4);
    return four;
}

/* One tile by vpdpbusd: rows r0 .. r0 + R - 1, columns f0 .. f0 + 15. */
static inline __attribute__((always_inline, target("avx2,avxvnni"))) void tile_vnni(
    const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t r0, int depth, const int8_t *b,
    const Epilogue *e, int f0, int R)
{
    ROW_POINTERS
#define VNNI_ROW(P)                                                                        \
    { const __m256i x = _mm256_set1_epi32(load4(a##P + k));                                \
      l##P = _mm256_dpbusd_avx_epi32(l##P, x, b_low);                                      \
      h##P = _mm256_dpbusd_avx_epi32(h##P, x, b_high); }
    for (int k = 0; k < depth; k += 4) {
        const __m256i b_low = _mm256_loadu_si256((const __m256i *)(b + (ptrdiff_t)k * COLS));
        const __m256i b_high = _mm256_loadu_si256((const __m256i *)(b + (ptrdiff_t)k * COLS + 32));
        VNNI_ROW(0) VNNI_ROW(1) VNNI_ROW(2) VNNI_ROW(3) VNNI_ROW(4) VNNI_ROW(5)
    }
#undef VNNI_ROW
    FINISH_ROWS
}

/* One tile by vpmaddwd on int16-widened values. */
static inline __attribute__((always_inline, target("avx2"))) void tile_avx2(
    const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t r0, int depth, const int16_t *b,
    const Epilogue *e, int f0, int R)
{
    ROW_POINTERS
#define AVX2_ROW(P)                                                                        \
    { const __m256i x = _mm256_set1_epi32((int32_t)a##P[k] | ((int32_t)a##P[k + 1] << 16)); \
      l##P = _mm256_add_epi32(l##P, _mm256_madd_epi16(x, b_low));                          \
      h##P = _mm256_add_epi32(h##P, _mm256_madd_epi16(x, b_high)); }
    for (int k = 0; k < depth; k += 2) {
        const __m256i b_low = _mm256_loadu_si256((const __m256i *)(b + (ptrdiff_t)k * COLS));
        const __m256i b_high = _mm256_loadu_si256((const __m256i *)(b + (ptrdiff_t)k * COLS + 16));
        AVX2_ROW(0) AVX2_ROW(1) AVX2_ROW(2) AVX2_ROW(3) AVX2_ROW(4) AVX2_ROW(5)
    }
#undef AVX2_ROW
    FINISH_ROWS
}

/* The tiles of rows row_begin .. row_end - 1, every column: rows outside, so that a tile's
 * rows of ``a`` (at most 6 kh kw C bytes) stay in L1 while the column blocks' packed
 * weights (16 depth bytes each; tens of kilobytes in all) come from L2; ``a``, the large
 * operand, is read from memory once. ``TILE`` is defined to call tile_vnni or tile_avx2,
 * ``ELEMENT`` its packed weights' type (int8 or int16: 16 depth values per step of depth
 * per block either way). */
#define ALL_TILES(ELEMENT)                                                                 \
    for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += ROWS_MAX) {                         \
        const int left = (int)(row_end - r0 < ROWS_MAX ? row_end - r0 : ROWS_MAX);         \
        for (int f0 = 0; f0 < cols; f0 += COLS) {                                          \
            const ELEMENT *block = (const ELEMENT *)packed + (ptrdiff_t)(f0 / COLS) * depth * COLS; \
            TILE(left);                                                                    \
        }                                                                                  \
    }

#define TILE(R) tile_vnni(a, a_stride, r0, depth, block, e, f0, R)
static __attribute__((target("avx2,avxvnni"))) void gemm_vnni(
    const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t row_begin, ptrdiff_t row_end, int depth,
    const void *packed, int cols, const Epilogue *e)
{
    ALL_TILES(int8_t)
}
#undef TILE

#define TILE(R) tile_avx2(a, a_stride, r0, depth, block, e, f0, R)
static __attribute__((target("avx2"))) void gemm_avx2(
    const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t row_begin, ptrdiff_t row_end, int depth,
    const void *packed, int cols, const Epilogue *e)
{
    ALL_TILES(int16_t)
}
#undef TILE


/* The AVX-512 VNNI path: the same packed int8 weights (a 16-column block's 4 depth values
 * per column are one 64-byte zmm load), tiles of 8 rows by 32 columns (two blocks; 16
 * accumulators of the 32 zmm registers), or 8 by 16 for a last odd block. */
#define ROWS_512 8
#define NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define AVX512 __attribute__((always_inline, target("avx512f,avx512bw,avx512vnni")))

static inline AVX512 void finish16(__m512i acc, const Epilogue *e, ptrdiff_t r, int f)
{
    __m512i shifted = _mm512_add_epi32(acc, _mm512_loadu_si512(e->col_offset + f));
    /* explicit rounding: AVX-512 implies FMA, and the compiler would fuse a plain multiply
     * and add into one rounding; the reference rounds twice */
    __m512 v = _mm512_mul_round_ps(_mm512_cvtepi32_ps(shifted), _mm512_loadu_ps(e->scale + f),
                                   NEAREST);
    v = _mm512_add_round_ps(v, _mm512_loadu_ps(e->bias + f), NEAREST);
    if (e->out_f32 != NULL) {
        _mm512_storeu_ps(e->out_f32 + r * e->out_stride + f, v);
        return;
    }
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(e->out_zero));
    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(e->out_min)),
                         _mm512_set1_epi32(255));
    _mm_storeu_si128((__m128i *)(e->out_u8 + r * e->out_stride + f), _mm512_cvtepi32_epi8(q));
}

static inline AVX512 void tile_512(const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t r0,
                                   int depth, const int8_t *b, const Epilogue *e, int f0,
                                   int R, const int blocks)
{
    const uint8_t *a_row[ROWS_512];
    for (int p = 0; p < ROWS_512; p++)
        a_row[p] = a + (r0 + (p < R ? p : R - 1)) * a_stride;
    const uint8_t *a0 = a_row[0], *a1 = a_row[1], *a2 = a_row[2], *a3 = a_row[3],
                  *a4 = a_row[4], *a5 = a_row[5], *a6 = a_row[6], *a7 = a_row[7];
    const int8_t *b_next = b + (ptrdiff_t)depth * COLS;
    __m512i l0 = _mm512_setzero_si512(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0,
            l7 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0, h6 = l0, h7 = l0;
#define ROW_512(P)                                                                         \
    { const __m512i x = _mm512_set1_epi32(load4(a##P + k));                                \
      l##P = _mm512_dpbusd_epi32(l##P, x, b_low);                                          \
      if (blocks == 2) h##P = _mm512_dpbusd_epi32(h##P, x, b_high); }
    for (int k = 0; k < depth; k += 4) {
        const __m512i b_low = _mm512_loadu_si512(b + (ptrdiff_t)k * COLS);
        const __m512i b_high = blocks == 2 ? _mm512_loadu_si512(b_next + (ptrdiff_t)k * COLS)
                                           : b_low;
        ROW_512(0) ROW_512(1) ROW_512(2) ROW_512(3) ROW_512(4) ROW_512(5) ROW_512(6)
        ROW_512(7)
    }
#undef ROW_512
    const __m512i low[ROWS_512] = {l0, l1, l2, l3, l4, l5, l6, l7};
    const __m512i high[ROWS_512] = {h0, h1, h2, h3, h4, h5, h6, h7};
    for (int p = 0; p < R; p++) {
        finish16(low[p], e, r0 + p, f0);
        if (blocks == 2)
            finish16(high[p], e, r0 + p, f0 + COLS);
    }
}

static __attribute__((target("avx512f,avx512bw,avx512vnni"))) void gemm_512(
    const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t row_begin, ptrdiff_t row_end, int depth,
    const void *packed, int cols, const Epilogue *e)
{
    for (ptrdiff_t r0 = row_begin; r0 < row_end; r0 += ROWS_512) {
        const int left = (int)(row_end - r0 < ROWS_512 ? row_end - r0 : ROWS_512);
        for (int f0 = 0; f0 < cols; f0 += 2 * COLS) {
            const int8_t *block = (const int8_t *)packed + (ptrdiff_t)(f0 / COLS) * depth * COLS;
            if (f0 + COLS < cols)
                tile_512(a, a_stride, r0, depth, block, e, f0, left, 2);
            else
                tile_512(a, a_stride, r0, depth, block, e, f0, left, 1);
        }
    }
}

/* Rows row_begin .. row_end - 1 of the product, every column, by the path ``path``: 0
 * AVX2 (``packed`` is b2, int16), 1 AVX-VNNI, 2 AVX-512 VNNI (both b4, int8). Returns 0,
 * or -1 for a shape or a path it does not take. */
int int8_gemm(const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t row_begin, ptrdiff_t row_end,
              int depth, const void *packed, int cols, const int32_t *col_offset,
              const float *scale, const float *bias, int out_zero, int out_min,
              uint8_t *out_u8, float *out_f32, ptrdiff_t out_stride, int path)
{
    if (depth % 4 || cols % COLS || path < 0 || path > 2
        || (int8_gemm_support() & (1 << path)) == 0)
        return -1;
    const Epilogue e = {col_offset, scale, bias, out_zero, out_min, out_u8, out_f32, out_stride};
    if (path == 2)
        gemm_512(a, a_stride, row_begin, row_end, depth, packed, cols, &e);
    else if (path == 1)
        gemm_vnni(a, a_stride, row_begin, row_end, depth, packed, cols, &e);
    else
        gemm_avx2(a, a_stride, row_begin, row_end, depth, packed, cols, &e);
    return 0;
}

#else

int int8_gemm_support(void) { return 0; }

int int8_gemm(const uint8_t *a, ptrdiff_t a_stride, ptrdiff_t row_begin, ptrdiff_t row_end,
              int depth, const void *packed, int cols, const int32_t *col_offset,
              const float *scale, const float *bias, int out_zero, int out_min,
              uint8_t *out_u8, float *out_f32, ptrdiff_t out_stride, int path)
{
    (void)a; (void)a_stride; (void)row_begin; (void)row_end; (void)depth; (void)packed;
    (void)cols; (void)col_offset; (void)scale; (void)bias; (void)out_zero; (void)out_min;
    (void)out_u8; (void)out_f32; (void)out_stride; (void)path;
    return -1;
}

#endif
