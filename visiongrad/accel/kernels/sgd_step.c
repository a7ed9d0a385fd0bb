/* SGD's update with momentum in one pass over memory (``accel/fast.py`` calls it;
 * ``optim/sgd.py``'s NumPy lines are the reference):
 *
 *     g <- g + weight_decay * x
 *     b <- momentum * b + (1 - dampening) * g
 *     x <- x - lr * (g + momentum * b   if nesterov else   b)
 *
 * NumPy needs four passes and a temporary for the same (b *= momentum, b += g,
 * t = lr * b, x -= t); this reads x, b and g once and writes x and b once (timings:
 * benchmarks/results/). The branch on ``nesterov`` is hoisted out of the loop by the
 * compiler, which vectorises both versions. */

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* one copy per instruction set, chosen when the library loads: the loop runs 16 floats
 * per instruction on AVX-512 (the default build's SSE ran 4) */
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
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
