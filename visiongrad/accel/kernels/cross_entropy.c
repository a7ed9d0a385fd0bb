/* Softmax cross-entropy on float32 scores (N, C), C-contiguous, with int64 labels: the
 * forward and backward passes in one call each (``accel/fast.py`` calls them for that
 * case; ``ops/loss.py``'s ``cross_entropy_reference`` is the reference, and serves every
 * other one):
 *
 *     m_i   = max_j s_ij,  z_i = log sum_j e^(s_ij - m_i)
 *     L_i   = z_i - (s_{i,y_i} - m_i)
 *     ds_ij = (e^((s_ij - m_i) - z_i) - [j = y_i]) * dL_i
 *
 * (m_i and z_i are kept apart: their sum, rounded to float32 beside logits of 1e4, would
 * put errors of 1e-3 into the probabilities.)
 *
 * Why it exists: NumPy takes about 25 calls for these on 128 x 10 scores, and in a training
 * step, where the products before have just pushed the interpreter and NumPy out of the
 * caches, each costs several times its warm time (timings: benchmarks/results/). On many
 * classes (PixelCNN's 256 per pixel) the exponentials dominate: ``vector_math.h``'s
 * exp_float lets those loops vectorise. ``accel/fast.py`` gives each core its own rows. */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "vector_math.h"

#define LANES 16   /* partial maxima and sums, side by side: the loops vectorise */
#define CHUNK 256  /* e^(s_ij - m_i) computed this many at a time, then summed */

typedef float float_lanes __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t int_lanes __attribute__((vector_size(LANES * sizeof(float))));

/* max_j s_j, LANES at a time in a vector (GCC's vector extension: a compare and a blend,
 * on whatever vectors the target has) */
static inline __attribute__((always_inline)) float row_maximum(const float *s,
                                                               ptrdiff_t classes)
{
    float m = s[0];
    ptrdiff_t j = 0;
    if (classes >= LANES) {
        float_lanes lanes, v;
        memcpy(&lanes, s, sizeof lanes);
        for (j = LANES; j + LANES <= classes; j += LANES) {
            memcpy(&v, s + j, sizeof v);
            const int_lanes greater = v > lanes;
            lanes = (float_lanes)(((int_lanes)v & greater) | ((int_lanes)lanes & ~greater));
        }
        for (int u = 0; u < LANES; u++)
            m = lanes[u] > m ? lanes[u] : m;
    }
    for (; j < classes; j++)
        m = s[j] > m ? s[j] : m;
    return m;
}

/* sum_j e^(s_j - m): the terms (in [0, 1]) of each chunk summed in float lanes of at most
 * CHUNK / LANES terms, the chunks' lane sums added up in double, so a sum over many
 * classes keeps float32's precision */
static inline __attribute__((always_inline)) double exp_sum(const float *s, ptrdiff_t classes,
                                                             float m)
{
    float terms[CHUNK];
    double lanes[LANES] = {0.0};
    for (ptrdiff_t j0 = 0; j0 < classes; j0 += CHUNK) {
        const ptrdiff_t width = classes - j0 < CHUNK ? classes - j0 : CHUNK;
        ptrdiff_t j = 0;
        for (; j < width; j++)
            terms[j] = exp_float(s[j0 + j] - m);
        for (; j % LANES; j++)
            terms[j] = 0.0f;
        float chunk[LANES] = {0.0f};
        for (ptrdiff_t k = 0; k < j; k += LANES)
            for (int u = 0; u < LANES; u++)
                chunk[u] += terms[k + u];
        for (int u = 0; u < LANES; u++)
            lanes[u] += chunk[u];
    }
    double sum = 0.0;
    for (int u = 0; u < LANES; u++)
        sum += lanes[u];
    return sum;
}

/* Fills row_max[i] = m_i, log_sum[i] = z_i and losses[i] = L_i for every row; returns -1,
 * or the first row whose label is not in [0, C) (its loss is then not computed). */
VECTOR_CLONES
ptrdiff_t cross_entropy_forward(const float *scores, const int64_t *labels, ptrdiff_t rows,
                                ptrdiff_t classes, float *row_max, float *log_sum,
                                float *losses)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *s = scores + i * classes;
        if (labels[i] < 0 || labels[i] >= classes)
            return i;
        const float m = row_maximum(s, classes);
        row_max[i] = m;
        log_sum[i] = (float)log(exp_sum(s, classes, m));
        losses[i] = log_sum[i] - (s[labels[i]] - m);
    }
    return -1;
}

/* grad[i, j] = ds_ij with dL_i = upstream[i * upstream_stride] (a stride of 0 for the one
 * value of a mean or sum). */
VECTOR_CLONES
void cross_entropy_backward(const float *scores, const int64_t *labels, const float *row_max,
                            const float *log_sum, const float *upstream,
                            ptrdiff_t upstream_stride, ptrdiff_t rows, ptrdiff_t classes,
                            float *grad)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *restrict s = scores + i * classes;
        float *restrict g = grad + i * classes;
        const float scale = upstream[i * upstream_stride], m = row_max[i], z = log_sum[i];
        for (ptrdiff_t j = 0; j < classes; j++)
            g[j] = exp_float((s[j] - m) - z) * scale;
        const int64_t y = labels[i];
        g[y] = (exp_float((s[y] - m) - z) - 1.0f) * scale;
    }
}
