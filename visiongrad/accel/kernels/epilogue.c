/* The output pass of a convolution run for inference, in place on its channels-last
 * float32 rows (M, C), contiguous (``accel/epilogue.py`` calls ``channel_epilogue_parts``,
 * which runs it in parts of the rows on ``parallel.c``'s threads, one part per core;
 * ``ops/conv_eval.py``'s NumPy lines are the reference):
 *
 *     y[m, c] = act(y[m, c] a[c] + t[c] + r[m, c])
 *
 * with a per-channel scale a and shift t (an eval-mode batch norm after the
 * convolution, and the convolution's bias), an optional residual r (the shortcut of a
 * residual block; none where NULL) and act = ReLU (max(v, 0), NaN kept, as NumPy's
 * maximum) or the identity.
 *
 * Why it exists: the unfused layers take one pass over the activations each (the bias,
 * batch norm, the residual sum, ReLU), every one a read and a write of the whole map; here
 * each value is read and written once. */

#include <stddef.h>

#include "parallel.h"

#include "vector_clones.h"

VECTOR_CLONES
void channel_epilogue(float *y, const float *scale, const float *shift, const float *residual,
                      int relu, ptrdiff_t rows, ptrdiff_t channels)
{
    for (ptrdiff_t m = 0; m < rows; m++) {
        float *row = y + m * channels;
        const float *res = residual == NULL ? NULL : residual + m * channels;
        for (ptrdiff_t c = 0; c < channels; c++) {
            float v = row[c] * scale[c] + shift[c];
            if (res != NULL)
                v += res[c];
            if (relu)
                v = v < 0.0f ? 0.0f : v;
            row[c] = v;
        }
    }
}

struct epilogue_job {
    float *y;
    const float *scale, *shift, *residual;
    int relu;
    ptrdiff_t channels;
};

static void epilogue_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct epilogue_job *job = context;
    const ptrdiff_t c = job->channels;
    (void)part;
    channel_epilogue(job->y + start * c, job->scale, job->shift,
                     job->residual ? job->residual + start * c : NULL, job->relu, stop - start,
                     c);
}

void channel_epilogue_parts(float *y, const float *scale, const float *shift,
                            const float *residual, int relu, ptrdiff_t rows, ptrdiff_t channels,
                            int parts)
{
    struct epilogue_job job = {y, scale, shift, residual, relu, channels};
    parallel_rows(epilogue_part, &job, rows, parts);
}
