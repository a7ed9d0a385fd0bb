/* ReLU's backward pass on float32 arrays in one pass (``accel/fast.py`` calls it on flat
 * blocks of arrays laid out alike; ``ops/activation.py``'s NumPy line is the reference):
 *
 *     dx = dy where y > 0, else 0     (0 at the kink, and wherever the unit is off)
 *
 * Why it exists: NumPy needs two passes, a comparison and then a multiply that converts
 * the boolean mask inside its loop. This loop compiles to vector compares and masks
 * (timings: benchmarks/results/). The forward pass stays in NumPy: its vectorised maximum
 * is as fast as a C loop. */

#include <stddef.h>

#include "parallel.h"

void relu_backward(const float *grad, const float *y, float *dx, ptrdiff_t size)
{
    for (ptrdiff_t k = 0; k < size; k++) {
        const float g = grad[k]; /* read on both paths, so the loop vectorises */
        dx[k] = y[k] > 0.0f ? g : 0.0f;
    }
}

/* Leaky ReLU's passes, in one pass each (``accel/fast.py``; ``ops/activation.py``'s
 * LeakyReLU lines are the reference):
 *
 *     y  = x  where x > 0, else slope x
 *     dx = dy where x > 0, else slope dy
 *
 * NumPy needs a comparison, a select of the slopes and a product for each. The products are
 * computed for every element, the select after them: the loops vectorise only where GCC
 * may take floating-point exceptions as untrapped (results are the same). */
#pragma GCC optimize("no-trapping-math")

void leaky_relu_forward(const float *x, float *y, ptrdiff_t size, float slope)
{
    for (ptrdiff_t k = 0; k < size; k++)
        y[k] = x[k] > 0.0f ? x[k] : slope * x[k];
}

void leaky_relu_backward(const float *grad, const float *x, float *dx, ptrdiff_t size,
                         float slope)
{
    for (ptrdiff_t k = 0; k < size; k++)
        dx[k] = x[k] > 0.0f ? grad[k] : slope * grad[k];
}

/* The three passes above in ``parts`` parts of the values on parallel.c's threads, one
 * call from Python per pass (``accel/fast.py``); each value is the same arithmetic in any
 * part. */
enum flat_pass { RELU_BACKWARD, LEAKY_FORWARD, LEAKY_BACKWARD };

struct flat_job {
    enum flat_pass pass;
    const float *a, *b;   /* grad and y; x; grad and x */
    float *out;
    float slope;
};

static void flat_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct flat_job *job = context;
    (void)part;
    const ptrdiff_t size = stop - start;
    switch (job->pass) {
    case RELU_BACKWARD:
        relu_backward(job->a + start, job->b + start, job->out + start, size);
        break;
    case LEAKY_FORWARD:
        leaky_relu_forward(job->a + start, job->out + start, size, job->slope);
        break;
    case LEAKY_BACKWARD:
        leaky_relu_backward(job->a + start, job->b + start, job->out + start, size,
                            job->slope);
        break;
    }
}

void relu_backward_parts(const float *grad, const float *y, float *dx, ptrdiff_t size,
                         int parts)
{
    struct flat_job job = {RELU_BACKWARD, grad, y, dx, 0.0f};
    parallel_rows(flat_part, &job, size, parts);
}

void leaky_relu_forward_parts(const float *x, float *y, ptrdiff_t size, float slope,
                              int parts)
{
    struct flat_job job = {LEAKY_FORWARD, x, NULL, y, slope};
    parallel_rows(flat_part, &job, size, parts);
}

void leaky_relu_backward_parts(const float *grad, const float *x, float *dx, ptrdiff_t size,
                               float slope, int parts)
{
    struct flat_job job = {LEAKY_BACKWARD, grad, x, dx, slope};
    parallel_rows(flat_part, &job, size, parts);
}
