/* The optimizers' updates in one pass over memory (``accel/fast.py`` calls them;
 * ``optim/sgd.py``'s and ``optim/adaptive.py``'s NumPy lines are the references).
 *
 * No multiply-add is fused (fp-contract=off): the vectorised body of a loop and its scalar
 * head and tail, which cover different values depending on where an array starts in
 * memory, then round alike, so an update does not depend on an array's alignment (with
 * fused ones, a resumed run drifted from an uninterrupted one by a bit in the last place)
 * or on how the values are cut into parts.
 *
 * SGD with momentum:
 *
 *     g <- g + weight_decay * x
 *     b <- momentum * b + (1 - dampening) * g
 *     x <- x - lr * (g + momentum * b   if nesterov else   b)
 *
 * NumPy needs four passes and a temporary for the same (b *= momentum, b += g,
 * t = lr * b, x -= t); this reads x, b and g once and writes x and b once (timings:
 * benchmarks/results/). The branch on ``nesterov`` is hoisted out of the loop by the
 * compiler, which vectorises both versions. */

#include <math.h>
#include <stddef.h>

#include "parallel.h"
#include "vector_clones.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-math-errno")
#endif

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

struct sgd_job {
    float *x, *buffer;
    const float *grad;
    float lr, momentum, dampening, weight_decay;
    int nesterov;
};

static void sgd_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct sgd_job *job = context;
    (void)part;
    sgd_momentum_step(job->x + start, job->buffer + start, job->grad + start, stop - start,
                      job->lr, job->momentum, job->dampening, job->weight_decay,
                      job->nesterov);
}

/* sgd_momentum_step in ``parts`` parts of the values on parallel.c's threads (each value's
 * update is the same arithmetic in any part). */
void sgd_momentum_step_parts(float *x, float *buffer, const float *grad, ptrdiff_t size,
                             float lr, float momentum, float dampening, float weight_decay,
                             int nesterov, int parts)
{
    struct sgd_job job = {x, buffer, grad, lr, momentum, dampening, weight_decay, nesterov};
    parallel_rows(sgd_part, &job, size, parts);
}

/* Adam's update (``optim/adaptive.py``'s ``adam_lines`` are the reference) in one pass:
 *
 *     m <- beta1 m + keep1 g,   v <- beta2 v + (keep2 g) g      (keep_i = 1 - beta_i)
 *     (amsgrad: v_max <- max(v_max, v), NaN if either is, read as v below)
 *     x <- x - (m step_size) / (sqrt(v) / correction2 + eps)
 *
 * with step_size = lr / (1 - beta1^t) and correction2 = sqrt(1 - beta2^t), every constant
 * rounded to float32 by the caller as NumPy rounds it. Each operation is the reference's,
 * in its order, in float32, so the result is the reference's to the bit; the reference
 * makes six passes over memory and three temporaries. (sqrtf vectorises: no-math-errno,
 * and v is never negative.) */
VECTOR_CLONES
void adam_step(float *x, const float *g, float *m, float *v, float *v_max, ptrdiff_t size,
               float beta1, float keep1, float beta2, float keep2, float step_size,
               float correction2, float eps)
{
    for (ptrdiff_t k = 0; k < size; k++) {
        const float gk = g[k];
        const float mk = m[k] * beta1 + gk * keep1;
        float vk = v[k] * beta2 + gk * keep2 * gk;
        m[k] = mk;
        v[k] = vk;
        if (v_max != NULL) {
            const float largest = v_max[k];
            vk = largest != largest || largest > vk ? largest : vk;
            v_max[k] = vk;
        }
        x[k] -= mk * step_size / (sqrtf(vk) / correction2 + eps);
    }
}

struct adam_job {
    float *x, *m, *v, *v_max;
    const float *g;
    float beta1, keep1, beta2, keep2, step_size, correction2, eps;
};

static void adam_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    const struct adam_job *job = context;
    (void)part;
    adam_step(job->x + start, job->g + start, job->m + start, job->v + start,
              job->v_max ? job->v_max + start : NULL, stop - start, job->beta1, job->keep1,
              job->beta2, job->keep2, job->step_size, job->correction2, job->eps);
}

/* adam_step in ``parts`` parts of the values on parallel.c's threads. */
void adam_step_parts(float *x, const float *g, float *m, float *v, float *v_max,
                     ptrdiff_t size, float beta1, float keep1, float beta2, float keep2,
                     float step_size, float correction2, float eps, int parts)
{
    struct adam_job job = {x, m, v, v_max, g, beta1, keep1, beta2, keep2, step_size,
                           correction2, eps};
    parallel_rows(adam_part, &job, size, parts);
}
