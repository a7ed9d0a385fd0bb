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
 * caches, each costs several times its warm time (timings: benchmarks/results/). */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Fills row_max[i] = m_i, log_sum[i] = z_i and losses[i] = L_i for every row; returns -1,
 * or the first row whose label is not in [0, C) (its loss is then not computed). */
ptrdiff_t cross_entropy_forward(const float *scores, const int64_t *labels, ptrdiff_t rows,
                                ptrdiff_t classes, float *row_max, float *log_sum,
                                float *losses)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *s = scores + i * classes;
        if (labels[i] < 0 || labels[i] >= classes)
            return i;
        float m = s[0];
        for (ptrdiff_t j = 1; j < classes; j++)
            m = s[j] > m ? s[j] : m;
        double sum = 0.0; /* float terms in [0, 1], summed without losing the small ones */
        for (ptrdiff_t j = 0; j < classes; j++)
            sum += expf(s[j] - m);
        row_max[i] = m;
        log_sum[i] = (float)log(sum);
        losses[i] = log_sum[i] - (s[labels[i]] - m);
    }
    return -1;
}

/* grad[i, j] = ds_ij with dL_i = upstream[i * upstream_stride] (a stride of 0 for the one
 * value of a mean or sum). */
void cross_entropy_backward(const float *scores, const int64_t *labels, const float *row_max,
                            const float *log_sum, const float *upstream,
                            ptrdiff_t upstream_stride, ptrdiff_t rows, ptrdiff_t classes,
                            float *grad)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *s = scores + i * classes;
        float *g = grad + i * classes;
        const float scale = upstream[i * upstream_stride];
        for (ptrdiff_t j = 0; j < classes; j++) {
            const float probability = expf((s[j] - row_max[i]) - log_sum[i]);
            g[j] = (j == labels[i] ? probability - 1.0f : probability) * scale;
        }
    }
}
