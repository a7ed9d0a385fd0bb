/* Batch norm's passes over channels-last float32 rows (M, C), contiguous
 * (``accel/batch_norm.py`` calls the ``_parts`` entries at the end, which run each pass in
 * parts of the rows on ``parallel.c``'s helper threads; ``ops/norm.py``'s NumPy lines are
 * the reference, and serve every other case):
 *
 *     channel_sums:   sums[c] += sum_m (x[m, c] - xs[c]),
 *                     dots[c] += sum_m (x[m, c] - xs[c]) (y[m, c] - ys[c])
 *                     (y = x and ys = xs where y is NULL); with a gate (gs, gt, slope), a
 *                     term counts in full where the unit is on,
 *                     (y[m, c] - ys[c]) gs[c] + gt[c] > 0, and times slope where it is off
 *     channel_affine: out[m, c] = (x[m, c] - xs[c]) a[c] + y[m, c] b[c] + t[c]
 *                     (no y term where y is NULL); with a gate (gs, gt, slope), the y term
 *                     times slope where (x[m, c] - xs[c]) gs[c] + gt[c] <= 0
 *     channel_affine_rectify: z = (x[m, c] - xs[c]) a[c] + t[c] + r[m, c] (no r term where
 *                     r is NULL), out[m, c] = z where z > 0, else slope z (slope 0: the
 *                     ReLU, a leaky ReLU otherwise)
 *
 * The gate is the backward pass of batch norm + (leaky) ReLU (``ops/norm_relu.py``): the
 * unit was on where z = (x - mu) a + t > 0, and the gate recomputes that z from the saved
 * x with the very operations channel_affine_rectify ran (no FMA contraction in this file:
 * the ``fp-contract`` pragma), so the mask is the forward pass's to the bit and no mask or
 * output is kept or read. The selects vectorise only where GCC may take floating-point
 * exceptions as untrapped (``no-trapping-math``; the results are the same). The ReLU's
 * zeros are +0 (slope z + 0) and a NaN z stays NaN, as NumPy's maximum(z, 0) and PyTorch
 * give them; its gate gives 0 where the unit is off even for a NaN or infinite term, as
 * PyTorch's ReLU backward does (a select, not a product with slope 0).
 *
 * The forward pass is two sums passes (the mean, then the centred sum and square sum) and
 * one affine pass; the backward pass one sums pass (sum dy and sum dy (x - mu)) and one
 * affine pass. Each value is read once per pass and nothing but y and dx is written,
 * where NumPy takes five and six passes with temporaries.
 *
 * No output aliases an input (``restrict``: the loops need no aliasing checks per row).
 *
 * Accuracy: sums run in float over blocks of ``BLOCK_ROWS`` rows, each block's sums then
 * added in double, so a sum over 10^6 rows keeps float32's precision. */

#include <stddef.h>

#include "parallel.h"
#include "vector_clones.h"

#pragma GCC optimize("fp-contract=off", "no-trapping-math")

#define CHANNEL_CHUNK 256 /* channels per sweep down the rows: accumulators on the stack */
#define BLOCK_ROWS 64     /* rows summed in float before the sums go into double */

VECTOR_CLONES
void channel_sums(const float *x, const float *x_shift, const float *y, const float *y_shift,
                  const float *gate_scale, const float *gate_shift, float gate_slope,
                  ptrdiff_t rows, ptrdiff_t channels, double *sums, double *dots)
{
    for (ptrdiff_t c0 = 0; c0 < channels; c0 += CHANNEL_CHUNK) {
        const ptrdiff_t width = channels - c0 < CHANNEL_CHUNK ? channels - c0 : CHANNEL_CHUNK;
        float xs[CHANNEL_CHUNK], ys[CHANNEL_CHUNK], s[CHANNEL_CHUNK], d[CHANNEL_CHUNK];
        float gs[CHANNEL_CHUNK], gt[CHANNEL_CHUNK];
        for (ptrdiff_t j = 0; j < width; j++) {
            xs[j] = x_shift ? x_shift[c0 + j] : 0.0f;
            ys[j] = y == NULL ? xs[j] : y_shift ? y_shift[c0 + j] : 0.0f;
            gs[j] = gate_scale ? gate_scale[c0 + j] : 0.0f;
            gt[j] = gate_scale ? gate_shift[c0 + j] : 0.0f;
        }
        const float *second = y == NULL ? x : y;
        for (ptrdiff_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
            const ptrdiff_t r1 = rows - r0 < BLOCK_ROWS ? rows : r0 + BLOCK_ROWS;
            for (ptrdiff_t j = 0; j < width; j++)
                s[j] = d[j] = 0.0f;
            for (ptrdiff_t r = r0; r < r1; r++) {
                const float *xr = x + r * channels + c0;
                const float *yr = second + r * channels + c0;
                if (gate_scale == NULL) {
                    for (ptrdiff_t j = 0; j < width; j++) {
                        const float a = xr[j] - xs[j];
                        s[j] += a;
                        d[j] += a * (yr[j] - ys[j]);
                    }
                } else {
                    for (ptrdiff_t j = 0; j < width; j++) {
                        const float b = yr[j] - ys[j], z = b * gs[j] + gt[j];
                        const float v = xr[j] - xs[j]; /* read on both paths: vectorises */
                        const float off = gate_slope != 0.0f ? v * gate_slope : 0.0f;
                        const float a = z > 0.0f ? v : off;
                        s[j] += a;
                        d[j] += a * b;
                    }
                }
            }
            for (ptrdiff_t j = 0; j < width; j++)
                sums[c0 + j] += s[j];
            if (dots != NULL)
                for (ptrdiff_t j = 0; j < width; j++)
                    dots[c0 + j] += d[j];
        }
    }
}

VECTOR_CLONES
void channel_affine(const float *restrict x, const float *restrict x_shift,
                    const float *restrict x_scale, const float *restrict y,
                    const float *restrict y_scale, const float *restrict gate_scale,
                    const float *restrict gate_shift, float gate_slope,
                    const float *restrict shift, ptrdiff_t rows, ptrdiff_t channels,
                    float *restrict out)
{
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * channels;
        const float *restrict yr = y == NULL ? NULL : y + r * channels;
        float *restrict o = out + r * channels;
        if (y == NULL) {
            for (ptrdiff_t j = 0; j < channels; j++)
                o[j] = (xr[j] - x_shift[j]) * x_scale[j] + shift[j];
        } else if (gate_scale == NULL) {
            for (ptrdiff_t j = 0; j < channels; j++)
                o[j] = (xr[j] - x_shift[j]) * x_scale[j] + yr[j] * y_scale[j] + shift[j];
        } else {
            for (ptrdiff_t j = 0; j < channels; j++) {
                const float c = xr[j] - x_shift[j], z = c * gate_scale[j] + gate_shift[j];
                const float g = yr[j]; /* read on both paths, so the loop vectorises */
                const float off = gate_slope != 0.0f ? g * gate_slope : 0.0f;
                o[j] = c * x_scale[j] + (z > 0.0f ? g : off) * y_scale[j] + shift[j];
            }
        }
    }
}

VECTOR_CLONES
void channel_affine_rectify(const float *restrict x, const float *restrict x_shift,
                            const float *restrict x_scale, const float *restrict shift,
                            const float *restrict residual, float slope, ptrdiff_t rows,
                            ptrdiff_t channels, float *restrict out)
{
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * channels;
        float *restrict o = out + r * channels;
        if (residual == NULL) {
            for (ptrdiff_t j = 0; j < channels; j++) {
                const float z = (xr[j] - x_shift[j]) * x_scale[j] + shift[j];
                o[j] = z > 0.0f ? z : z * slope + 0.0f;
            }
        } else {
            const float *rr = residual + r * channels;
            for (ptrdiff_t j = 0; j < channels; j++) {
                const float z = (xr[j] - x_shift[j]) * x_scale[j] + shift[j] + rr[j];
                o[j] = z > 0.0f ? z : z * slope + 0.0f;
            }
        }
    }
}

/* ----- each pass over all the rows, in ``parts`` parts on parallel.c's threads -----
 * (named for the gate's slope, which their signatures gained: a library built before it
 * exports none of these names, so ``accel/native.py`` finds none of them there) */

struct sums_job {
    const float *x, *x_shift, *y, *y_shift, *gate_scale, *gate_shift;
    float gate_slope;
    ptrdiff_t channels;
    double *sums, *dots;
};

static void sums_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct sums_job *job = context;
    const ptrdiff_t c = job->channels;
    channel_sums(job->x + start * c, job->x_shift, job->y ? job->y + start * c : NULL,
                 job->y_shift, job->gate_scale, job->gate_shift, job->gate_slope, stop - start,
                 c, job->sums + part * c, job->dots ? job->dots + part * c : NULL);
}

/* channel_sums over all the rows: ``sums`` and ``dots`` hold ``parts`` zeroed rows of C
 * doubles, one per part; the parts' sums, added in part order, end in the first row. */
void gated_channel_sums_parts(const float *x, const float *x_shift, const float *y,
                              const float *y_shift, const float *gate_scale,
                              const float *gate_shift, float gate_slope, ptrdiff_t rows,
                              ptrdiff_t channels, double *sums, double *dots, int parts)
{
    struct sums_job job = {x, x_shift, y, y_shift, gate_scale, gate_shift, gate_slope,
                           channels, sums, dots};
    parallel_rows(sums_part, &job, rows, parts);
    for (int part = 1; part < parts; part++)
        for (ptrdiff_t j = 0; j < channels; j++) {
            sums[j] += sums[part * channels + j];
            if (dots != NULL)
                dots[j] += dots[part * channels + j];
        }
}

struct affine_job {
    const float *x, *x_shift, *x_scale, *y, *y_scale, *gate_scale, *gate_shift, *shift;
    const float *residual;
    float slope; /* the gate's, or the rectifier's */
    ptrdiff_t channels;
    float *out;
};

static void affine_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct affine_job *job = context;
    const ptrdiff_t c = job->channels;
    (void)part;
    channel_affine(job->x + start * c, job->x_shift, job->x_scale,
                   job->y ? job->y + start * c : NULL, job->y_scale, job->gate_scale,
                   job->gate_shift, job->slope, job->shift, stop - start, c,
                   job->out + start * c);
}

void gated_channel_affine_parts(const float *x, const float *x_shift, const float *x_scale,
                                const float *y, const float *y_scale, const float *gate_scale,
                                const float *gate_shift, float gate_slope, const float *shift,
                                ptrdiff_t rows, ptrdiff_t channels, float *out, int parts)
{
    struct affine_job job = {x, x_shift, x_scale, y, y_scale, gate_scale, gate_shift, shift,
                             NULL, gate_slope, channels, out};
    parallel_rows(affine_part, &job, rows, parts);
}

static void affine_rectify_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct affine_job *job = context;
    const ptrdiff_t c = job->channels;
    (void)part;
    channel_affine_rectify(job->x + start * c, job->x_shift, job->x_scale, job->shift,
                           job->residual ? job->residual + start * c : NULL, job->slope,
                           stop - start, c, job->out + start * c);
}

void channel_affine_rectify_parts(const float *x, const float *x_shift, const float *x_scale,
                                  const float *shift, const float *residual, float slope,
                                  ptrdiff_t rows, ptrdiff_t channels, float *out, int parts)
{
    struct affine_job job = {x, x_shift, x_scale, NULL, NULL, NULL, NULL, shift, residual,
                             slope, channels, out};
    parallel_rows(affine_rectify_part, &job, rows, parts);
}
