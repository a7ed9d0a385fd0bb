/* VECTOR_CLONES: a kernel compiled twice, for AVX2 and for any x86-64, the one to run
 * chosen when the library loads (GCC's target_clones; one plain build elsewhere).
 * vector_math.h defines its own, with an AVX-512 clone, for the kernels that include it. */

#ifndef VISIONGRAD_VECTOR_CLONES_H
#define VISIONGRAD_VECTOR_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

#endif
