/* e^x, tanh and sigmoid in float32 without library calls, so that loops over them
 * vectorise without fast-math (``recurrent.c``, ``cross_entropy.c``):
 *
 *     exp_float(x):   Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, a degree-5
 *                     polynomial for e^r, 2^n built in the exponent bits; x <= 88, and 0
 *                     below -87.3 (where e^x leaves float32's normal range)
 *     tanh_float(x):  Cephes' tanhf: an odd polynomial below |x| = 0.625, else
 *                     1 - 2 / (e^{2|x|} + 1) with the sign of x
 *     sigmoid_float:  (1 + tanh(x / 2)) / 2, as ``ops/recurrent.py``'s reference
 *
 * Each is within 2 units in the last place of float32 (tests/accel/test_recurrent.py
 * checks tanh and sigmoid over their range against float64). Including files get the
 * functions as static inline copies, and VECTOR_CLONES for their kernels. */

#ifndef VISIONGRAD_VECTOR_MATH_H
#define VISIONGRAD_VECTOR_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Floating-point exceptions are never trapped here (no result changes): without this GCC
 * keeps tanh's division out of the vectorised select and leaves the loops scalar. */
#pragma GCC optimize("no-trapping-math")

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

static inline __attribute__((always_inline)) float exp_float(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float clamped = x < -87.3f ? -87.3f : x;
    const float n = (clamped * 1.44269504088896341f + shifter) - shifter;
    float r = clamped - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
                      + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
    const float e = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.3f ? 0.0f : e * scale;
}

static inline __attribute__((always_inline)) float tanh_float(float x)
{
    const float ax = fabsf(x);
    const float z = x * x;
    const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z
                           - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z
                         - 3.33332819422e-1f) * z * x + x;
    const float e = exp_float(2.0f * (ax < 10.0f ? ax : 10.0f)); /* tanh(10) is 1 in float */
    const float large = copysignf(1.0f - 2.0f / (e + 1.0f), x);
    return ax < 0.625f ? small : large;
}

static inline __attribute__((always_inline)) float sigmoid_float(float x)
{
    return 0.5f * tanh_float(0.5f * x) + 0.5f;
}

#endif
