"""Everything in visiongrad that exists only for speed. Nothing outside this package
imports ctypes, threading or concurrent.futures, or reads /proc.

- ``settings``: the process-wide settings made once on import (OpenBLAS's spin time and
  kernels, applied whatever was imported first; glibc keeping freed memory), with what
  was applied (``BLAS_SETTINGS``, ``MALLOC_TUNED``) and their opt-outs;
- ``blas``: NumPy's OpenBLAS, found among the mapped libraries, and its thread count;
- ``threads``: work cut into one part per core (``in_parts``, ``map_rows``, ``add``,
  ``split_over_cores``, ``flat_views``) and the shared helper threads (``parallel_map``,
  used by kNN);
- ``layout``: the activation layout contract (NCHW axes, channels-last memory), written
  once in its docstring, and per-channel arithmetic on channels-last rows;
- ``workspaces``: per-thread scratch memory and the batch cut into cache-sized blocks;
- ``native``: the compiled library's loader and every kernel's ctypes signature, with the
  C sources in ``kernels/``;
- ``fast``, ``direct_conv``, ``batch_norm``, ``epilogue``, ``max_pool``, ``gram``,
  ``recurrent`` and ``linear``: the fast paths an op asks for in one call, which return
  None (False for the in-place ``epilogue``) where the case does not fit (batch norm asks
  ``batch_norm_fits`` once); the op then runs its NumPy reference;
- ``prefetch``: the DataLoader's batches prepared ahead on a background thread.
- ``machine``: what the processor is (/proc/cpuinfo), for the kernel choice and run reports.
"""

from . import settings  # noqa: I001  (first: the process settings, before any thread)
from .batch_norm import batch_norm_fits, channel_affine, channel_sums
from .direct_conv import (
    direct_conv2d,
    direct_conv2d_input_grad,
    direct_conv2d_weight_grad,
    direct_conv_fits,
    direct_input_grad_fits,
)
from .fast import (
    adam_step,
    cross_entropy,
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sgd_momentum_step,
)
from .gram import gram_of_rows, rows_times
from .layout import (
    as_nchw,
    channel_rows,
    channels_last,
    contiguous_rows,
    empty_nchw,
    from_channel_rows,
    is_channels_last,
)
from .max_pool import max_pool2d
from .threads import (
    add,
    available_cores,
    flat_views,
    in_parts,
    map_rows,
    parallel_map,
    split_over_cores,
)
from .workspaces import batch_chunks, window_bytes, workspace

__all__ = [
    "adam_step", "add", "as_nchw", "available_cores", "batch_chunks", "batch_norm_fits",
    "channel_affine", "channel_rows", "channel_sums", "channels_last", "contiguous_rows",
    "cross_entropy",
    "direct_conv2d", "direct_conv2d_input_grad", "direct_conv2d_weight_grad",
    "direct_conv_fits", "direct_input_grad_fits", "empty_nchw", "flat_views",
    "from_channel_rows", "gram_of_rows", "in_parts", "is_channels_last", "leaky_relu",
    "leaky_relu_backward", "map_rows", "max_pool2d",
    "parallel_map", "relu", "relu_backward", "rows_times", "settings", "sgd_momentum_step",
    "split_over_cores", "window_bytes", "workspace",
]
