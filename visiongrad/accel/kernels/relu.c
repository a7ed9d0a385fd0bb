/* ReLU's backward pass on float32 arrays in one pass (``ops/activation.py`` calls it on
 * flat blocks of arrays laid out alike; its NumPy lines are the reference):
 *
 *     dx = dy where y > 0, else 0     (0 at the kink, and wherever the unit is off)
 *
 * Why it exists: NumPy needs two passes, a comparison and then a multiply that converts
 * the boolean mask inside its loop. This loop compiles to vector compares and masks.
 * Measured here on one core, float32, the whole backward call from Python: 128 x 512
 * 21.7 -> 16.3 us, 128 x 16 x 28 x 28 470 -> 295 us, 128 x 32 x 14 x 14 218 -> 154 us.
 * (The forward pass stays in NumPy: its vectorised maximum was as fast as a C loop.) */

#include <stddef.h>

void relu_backward(const float *grad, const float *y, float *dx, ptrdiff_t size)
{
    for (ptrdiff_t k = 0; k < size; k++) {
        const float g = grad[k]; /* read on both paths, so the loop vectorises */
        dx[k] = y[k] > 0.0f ? g : 0.0f;
    }
}
