/* The tiles' widths, shared by the convolution kernels (``direct_conv.c``,
 * ``batched_conv.c``): a tile keeps the sums of P outputs (or weights) in registers, two
 * 8-float AVX2 registers or one 16-float AVX-512 register per 16 channels. */

#ifndef VISIONGRAD_CONV_TILES_H
#define VISIONGRAD_CONV_TILES_H

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))
#define TILE_MAX 6          /* 2 * 6 accumulators + 2 operand vectors + 1 broadcast <= 16 */
#define TILE512_MAX 12      /* 12 sums per block of 16, two blocks: 24 of 32 registers */

/* The width of the next tile when ``left`` values remain: 6 while at least 10 remain,
 * then the rest in two near-equal tiles (7 -> 4 + 3, 9 -> 5 + 4), so no tile is narrower
 * than it must be; a tile of 1-3 has too few independent sums to keep both FMA units busy. */
static inline int tile_width(int left)
{
    if (left >= 10)
        return TILE_MAX;
    if (left > TILE_MAX)
        return (left + 1) / 2;
    return left;
}

/* The same for the AVX-512 tiles: 12 while at least 18 remain, then two near-equal ones. */
static inline int tile512_width(int left)
{
    if (left >= TILE512_MAX + 6)
        return TILE512_MAX;
    if (left > TILE512_MAX)
        return (left + 1) / 2;
    return left;
}

/* Calls TILE(P) with P a constant, so that each width gets its own unrolled loop. */
#define BY_WIDTH(P)                                                                        \
    switch (P) {                                                                           \
    case 6: TILE(6); break;                                                                \
    case 5: TILE(5); break;                                                                \
    case 4: TILE(4); break;                                                                \
    case 3: TILE(3); break;                                                                \
    case 2: TILE(2); break;                                                                \
    default: TILE(1); break;                                                               \
    }

#define BY_WIDTH512(P)                                                                     \
    switch (P) {                                                                           \
    case 12: TILE(12); break;                                                              \
    case 11: TILE(11); break;                                                              \
    case 10: TILE(10); break;                                                              \
    case 9: TILE(9); break;                                                                \
    case 8: TILE(8); break;                                                                \
    case 7: TILE(7); break;                                                                \
    default: BY_WIDTH(P);                                                                  \
    }

/* BY_WIDTH512 with B, the tile's blocks of 16 channels, a constant 2 or 1 as ``blocks``
 * says (TILE reads B). */
#define BY_WIDTH512_BLOCKS(P, blocks)                                                      \
    if ((blocks) == 2) {                                                                   \
        const int B = 2;                                                                   \
        BY_WIDTH512(P)                                                                     \
    } else {                                                                               \
        const int B = 1;                                                                   \
        BY_WIDTH512(P)                                                                     \
    }

/* Whether the AVX-512 tiles run (``direct_conv.c``: the CPU has AVX-512F and they were not
 * turned off). */
int conv_uses_avx512(void);

#endif
