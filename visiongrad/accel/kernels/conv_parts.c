/* The convolution kernels (``direct_conv.c``, ``batched_conv.c``) over a whole batch in
 * one call, cut into parts on ``parallel.c``'s helper threads; ``accel/direct_conv.py`` and
 * ``accel/batched_conv.py`` call these.
 *
 * Why: cut in Python, a stripe convolution went block of images by block of images
 * through Python's helper threads, and each block took the GIL twice (to slice its arrays,
 * to call the kernel); at 2 cores that cost 10-14% of a 16-32-channel layer's time
 * (``python -m benchmarks.profile_step --model resnet --by-shape``). Here the parts are cut once, in C:
 *
 * - the stripe forward kernel takes ranges of images, or, for fewer images than parts (a
 *   batch of one), ranges of 16-filter blocks, as each part's own output;
 * - the stripe weight gradient sums each part's images into its own buffer, and the
 *   buffers are added in part order (the same sums for the same number of parts);
 * - the small-image kernels take ranges of 16-channel blocks (filters, or input channels
 *   for the input gradient), so every part writes its own share of the result.
 *
 * Each returns 0, or -1 where a part's kernel could not allocate its buffers. */

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <stdlib.h>

#include "parallel.h"

#define F_BLOCK 16

int direct_conv_filters(const float *x, int n, int height, int width, int channels,
                        int pad_h, int pad_w, const float *w_blocks, int kh, int kw,
                        int filters, int sh, int sw, float *y, int out_height, int out_width,
                        int f_begin, int f_end);
int direct_conv_weight_grad(const float *x, int n, int height, int width, int channels,
                            int pad_h, int pad_w, const float *dy, int out_height,
                            int out_width, int filters, int kh, int kw, int sh, int sw,
                            float *dw_blocks);
int batched_conv(const float *x, int n, int height, int width, int channels, int pad_h,
                 int pad_w, const float *w_blocks, int kh, int kw, int filters, int sh,
                 int sw, float *y, int out_height, int out_width, int f_begin, int f_end);
int batched_conv_input_grad(const float *dy, int n, int out_height, int out_width,
                            int filters, const float *wt_blocks, int kh, int kw, int sh,
                            int sw, int pad_h, int pad_w, float *dx, int height, int width,
                            int channels, int c_begin, int c_end);
int batched_conv_weight_grad(const float *x, int n, int height, int width, int channels,
                             int pad_h, int pad_w, const float *dy, int out_height,
                             int out_width, int filters, int kh, int kw, int sh, int sw,
                             float *dw_blocks, int f_begin, int f_end);

/* One convolution's arguments, x (N, H, W, C) and the (N, Ho, Wo, F) side ``y`` (the
 * output, or dy), with what each part reports. */
typedef struct {
    const float *x, *weights, *dy;
    float *y, *out;
    int n, height, width, channels, pad_h, pad_w, kh, kw, filters, sh, sw;
    int out_height, out_width;
    int by_filters;                 /* the stripe forward: parts take filter blocks */
    float *partials[MAX_PARTS];     /* the stripe weight gradient: each part's sums */
    int status[MAX_PARTS];
} Conv;

static ptrdiff_t x_image(const Conv *c)
{
    return (ptrdiff_t)c->height * c->width * c->channels;
}

static ptrdiff_t y_image(const Conv *c)
{
    return (ptrdiff_t)c->out_height * c->out_width * c->filters;
}

static int run(Conv *c, rows_work work, ptrdiff_t rows, int parts)
{
    for (int part = 0; part < MAX_PARTS; part++)
        c->status[part] = 0;
    parallel_rows(work, c, rows, parts);
    for (int part = 0; part < MAX_PARTS; part++)
        if (c->status[part] != 0)
            return -1;
    return 0;
}

static void stripe_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    Conv *c = context;
    if (c->by_filters)
        c->status[part] = direct_conv_filters(
            c->x, c->n, c->height, c->width, c->channels, c->pad_h, c->pad_w, c->weights,
            c->kh, c->kw, c->filters, c->sh, c->sw, c->y, c->out_height, c->out_width,
            (int)start * F_BLOCK, (int)stop * F_BLOCK);
    else
        c->status[part] = direct_conv_filters(
            c->x + start * x_image(c), (int)(stop - start), c->height, c->width, c->channels,
            c->pad_h, c->pad_w, c->weights, c->kh, c->kw, c->filters, c->sh, c->sw,
            c->y + start * y_image(c), c->out_height, c->out_width, 0, c->filters);
}

/* direct_conv over the batch in ``parts`` parts. */
int direct_conv_parts(const float *x, int n, int height, int width, int channels, int pad_h,
                      int pad_w, const float *w_blocks, int kh, int kw, int filters, int sh,
                      int sw, float *y, int out_height, int out_width, int parts)
{
    Conv c = {x, w_blocks, NULL, y, NULL, n, height, width, channels, pad_h, pad_w, kh, kw,
              filters, sh, sw, out_height, out_width, 0, {NULL}, {0}};
    c.by_filters = n < parts && filters / F_BLOCK >= 2;
    return run(&c, stripe_part, c.by_filters ? filters / F_BLOCK : n, parts);
}

static void stripe_weight_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    Conv *c = context;
    c->status[part] = direct_conv_weight_grad(
        c->x + start * x_image(c), (int)(stop - start), c->height, c->width, c->channels,
        c->pad_h, c->pad_w, c->dy + start * y_image(c), c->out_height, c->out_width,
        c->filters, c->kh, c->kw, c->sh, c->sw, c->partials[part]);
}

/* direct_conv_weight_grad over the batch in ``parts`` parts of images, each summed into
 * its own buffer (part 0 into dw_blocks), the others then added to dw_blocks in order. */
int direct_conv_weight_grad_parts(const float *x, int n, int height, int width, int channels,
                                  int pad_h, int pad_w, const float *dy, int out_height,
                                  int out_width, int filters, int kh, int kw, int sh, int sw,
                                  float *dw_blocks, int parts)
{
    Conv c = {x, NULL, dy, NULL, NULL, n, height, width, channels, pad_h, pad_w, kh, kw,
              filters, sh, sw, out_height, out_width, 0, {NULL}, {0}};
    parts = parts > MAX_PARTS ? MAX_PARTS : parts;  /* as parallel_rows cuts them */
    parts = parts > n ? (n > 1 ? n : 1) : parts;
    const ptrdiff_t size = (ptrdiff_t)filters * kh * kw * channels;
    float *others = parts > 1 ? malloc((size_t)(parts - 1) * size * sizeof(float)) : NULL;
    if (parts > 1 && others == NULL)
        return -1;
    c.partials[0] = dw_blocks;
    for (int part = 1; part < parts; part++)
        c.partials[part] = others + (part - 1) * size;
    const int status = run(&c, stripe_weight_part, n, parts);
    for (int part = 1; part < parts; part++)
        for (ptrdiff_t k = 0; k < size; k++)
            dw_blocks[k] += c.partials[part][k];
    free(others);
    return status;
}

static void batched_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    Conv *c = context;
    c->status[part] = batched_conv(
        c->x, c->n, c->height, c->width, c->channels, c->pad_h, c->pad_w, c->weights, c->kh,
        c->kw, c->filters, c->sh, c->sw, c->y, c->out_height, c->out_width,
        (int)start * F_BLOCK, (int)stop * F_BLOCK);
}

/* batched_conv over the filters in ``parts`` parts of 16-filter blocks. */
int batched_conv_parts(const float *x, int n, int height, int width, int channels, int pad_h,
                       int pad_w, const float *w_blocks, int kh, int kw, int filters, int sh,
                       int sw, float *y, int out_height, int out_width, int parts)
{
    Conv c = {x, w_blocks, NULL, y, NULL, n, height, width, channels, pad_h, pad_w, kh, kw,
              filters, sh, sw, out_height, out_width, 0, {NULL}, {0}};
    return run(&c, batched_part, filters / F_BLOCK, parts);
}

static void batched_input_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    Conv *c = context;
    c->status[part] = batched_conv_input_grad(
        c->dy, c->n, c->out_height, c->out_width, c->filters, c->weights, c->kh, c->kw,
        c->sh, c->sw, c->pad_h, c->pad_w, c->out, c->height, c->width, c->channels,
        (int)start * F_BLOCK, (int)stop * F_BLOCK);
}

/* batched_conv_input_grad over the input channels in ``parts`` parts of 16-channel
 * blocks. */
int batched_conv_input_grad_parts(const float *dy, int n, int out_height, int out_width,
                                  int filters, const float *wt_blocks, int kh, int kw, int sh,
                                  int sw, int pad_h, int pad_w, float *dx, int height,
                                  int width, int channels, int parts)
{
    Conv c = {NULL, wt_blocks, dy, NULL, dx, n, height, width, channels, pad_h, pad_w, kh,
              kw, filters, sh, sw, out_height, out_width, 0, {NULL}, {0}};
    return run(&c, batched_input_part, channels / F_BLOCK, parts);
}

static void batched_weight_part(void *context, ptrdiff_t start, ptrdiff_t stop, int part)
{
    Conv *c = context;
    c->status[part] = batched_conv_weight_grad(
        c->x, c->n, c->height, c->width, c->channels, c->pad_h, c->pad_w, c->dy,
        c->out_height, c->out_width, c->filters, c->kh, c->kw, c->sh, c->sw, c->out,
        (int)start * F_BLOCK, (int)stop * F_BLOCK);
}

/* batched_conv_weight_grad over the filters in ``parts`` parts of 16-filter blocks. */
int batched_conv_weight_grad_parts(const float *x, int n, int height, int width,
                                   int channels, int pad_h, int pad_w, const float *dy,
                                   int out_height, int out_width, int filters, int kh, int kw,
                                   int sh, int sw, float *dw_blocks, int parts)
{
    Conv c = {x, NULL, dy, NULL, dw_blocks, n, height, width, channels, pad_h, pad_w, kh, kw,
              filters, sh, sw, out_height, out_width, 0, {NULL}, {0}};
    return run(&c, batched_weight_part, filters / F_BLOCK, parts);
}

#endif
