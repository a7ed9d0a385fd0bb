/* Max pooling on channels-last float32 images (N, H, W, C), contiguous (``accel/pool.py``
 * calls it on parts of the batch, one per core; ``ops/pool.py``'s NumPy passes are the
 * reference, and serve every other case). An NCHW image is the same memory as
 * (N C, H, W, 1), so it runs here too, one channel at a time.
 *
 *     y[n, ho, wo, c]   = max over the window's taps (i, j) inside the image of
 *                         x[n, ho sh - ph + i, wo sw - pw + j, c]
 *     arg[n, ho, wo, c] = i kw + j of the tap that gave it: the first maximum in row-major
 *                         order, or the last NaN (a NaN replaces any maximum so far, as in
 *                         PyTorch's kernel); the first tap inside the image if every value
 *                         is -inf
 *     dx[n, h, w, c]    = sum of dy over the windows whose arg points at (h, w)
 *
 * Why it exists: NumPy's reference pads a copy with -inf and runs one pass per tap for the
 * maximum, and again for the masks of first maxima and their scatter; here the forward
 * pass reads x once and keeps the one-byte argument, and the backward pass adds dy at it. */

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "vector_clones.h"

typedef struct {
    int lo_i, hi_i, lo_j, hi_j; /* the taps inside the image: lo <= i < hi, likewise j */
    ptrdiff_t corner;           /* where tap (0, 0) is in the image, in floats */
} Window;

static Window window_at(int ho, int wo, int height, int width, ptrdiff_t channels, int kh,
                        int kw, int sh, int sw, int ph, int pw)
{
    const int h0 = ho * sh - ph, w0 = wo * sw - pw;
    Window win;
    win.lo_i = h0 < 0 ? -h0 : 0;
    win.hi_i = height - h0 < kh ? height - h0 : kh;
    win.lo_j = w0 < 0 ? -w0 : 0;
    win.hi_j = width - w0 < kw ? width - w0 : kw;
    win.corner = ((ptrdiff_t)h0 * width + w0) * channels;
    return win;
}

VECTOR_CLONES
void max_pool_forward(const float *x, ptrdiff_t n, int height, int width, ptrdiff_t channels,
                      int kh, int kw, int sh, int sw, int ph, int pw, int out_height,
                      int out_width, float *y, unsigned char *arg)
{
    const ptrdiff_t image_size = (ptrdiff_t)height * width * channels;
    for (ptrdiff_t image = 0; image < n; image++) {
        const float *x_image = x + image * image_size;
        for (int ho = 0; ho < out_height; ho++) {
            for (int wo = 0; wo < out_width; wo++) {
                const ptrdiff_t out = ((image * out_height + ho) * out_width + wo) * channels;
                float *best = y + out;
                unsigned char *which = arg + out;
                const Window win = window_at(ho, wo, height, width, channels, kh, kw, sh, sw,
                                             ph, pw);
                const unsigned char first = (unsigned char)(win.lo_i * kw + win.lo_j);
                for (ptrdiff_t c = 0; c < channels; c++) {
                    best[c] = -INFINITY;
                    which[c] = first;
                }
                for (int i = win.lo_i; i < win.hi_i; i++) {
                    for (int j = win.lo_j; j < win.hi_j; j++) {
                        const float *v = x_image + win.corner
                                         + ((ptrdiff_t)i * width + j) * channels;
                        const unsigned char k = (unsigned char)(i * kw + j);
                        for (ptrdiff_t c = 0; c < channels; c++) {
                            const float value = v[c];
                            const int take = (value > best[c]) | (value != value);
                            best[c] = take ? value : best[c];
                            which[c] = take ? k : which[c];
                        }
                    }
                }
            }
        }
    }
}

VECTOR_CLONES
void max_pool_backward(const float *dy, const unsigned char *arg, ptrdiff_t n, int height,
                       int width, ptrdiff_t channels, int kh, int kw, int sh, int sw, int ph,
                       int pw, int out_height, int out_width, float *dx)
{
    const ptrdiff_t image_size = (ptrdiff_t)height * width * channels;
    memset(dx, 0, (size_t)(n * image_size) * sizeof(float));
    for (ptrdiff_t image = 0; image < n; image++) {
        float *dx_image = dx + image * image_size;
        for (int ho = 0; ho < out_height; ho++) {
            for (int wo = 0; wo < out_width; wo++) {
                const ptrdiff_t out = ((image * out_height + ho) * out_width + wo) * channels;
                const float *g = dy + out;
                const unsigned char *which = arg + out;
                const Window win = window_at(ho, wo, height, width, channels, kh, kw, sh, sw,
                                             ph, pw);
                for (int i = win.lo_i; i < win.hi_i; i++) {
                    for (int j = win.lo_j; j < win.hi_j; j++) {
                        float *d = dx_image + win.corner + ((ptrdiff_t)i * width + j) * channels;
                        const unsigned char k = (unsigned char)(i * kw + j);
                        for (ptrdiff_t c = 0; c < channels; c++)
                            d[c] += which[c] == k ? g[c] : 0.0f;
                    }
                }
            }
        }
    }
}
