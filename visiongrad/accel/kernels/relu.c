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

void relu_backward(const float *grad, const float *y, float *dx, ptrdiff_t size)
{
    for (ptrdiff_t k = 0; k < size; k++) {
        const float g = grad[k]; /* read on both paths, so the loop vectorises */
        dx[k] = y[k] > 0.0f ? g : 0.0f;
    }
}
