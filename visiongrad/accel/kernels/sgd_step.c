/* SGD's update with momentum in one pass over memory (``accel/fast.py`` calls it;
 * ``optim/sgd.py``'s NumPy lines are the reference):
 *
 *     g <- g + weight_decay * x
 *     b <- momentum * b + (1 - dampening) * g
 *     x <- x - lr * (g + momentum * b   if nesterov else   b)
 *
 * NumPy needs four passes and a temporary for the same (b *= momentum, b += g,
 * t = lr * b, x -= t); this reads x, b and g once and writes x and b once (timings:
 * benchmarks/results/). */

#include <stddef.h>

void sgd_momentum_step(float *x, float *buffer, const float *grad, ptrdiff_t size, float lr,
                       float momentum, float dampening, float weight_decay, int nesterov)
{
    for (ptrdiff_t k = 0; k < size; k++) {
        const float g = grad[k] + weight_decay * x[k];
        const float b = momentum * buffer[k] + (1.0f - dampening) * g;
        buffer[k] = b;
        x[k] -= lr * (nesterov ? g + momentum * b : b);
    }
}
