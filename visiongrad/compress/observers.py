"""Quantization parameters and calibration: how a float range becomes a scale and a zero
point, and how that range is chosen from the values a layer sees.

Affine (asymmetric) quantization to ``bits`` unsigned bits, as activations use it:

    q = clamp(round(x / s) + z, 0, 2^bits - 1),     x_hat = s (q - z)
    s = (hi - lo) / (2^bits - 1),   z = round(-lo / s)      with lo <= 0 <= hi

so that 0.0 is represented exactly (by z: zero padding and ReLU stay exact). Symmetric
quantization to signed ``bits``, as weights use it, per output channel:

    q = clamp(round(w / s), -(2^(bits-1) - 1), 2^(bits-1) - 1),   s = max|w| / (2^(bits-1) - 1)

(the range is kept symmetric, -127..127 at 8 bits, as PyTorch's and ONNX's symmetric
int8). ``round`` is to nearest, ties to even, everywhere (NumPy's ``rint``).

Calibration methods for an activation's range [lo, hi] (``ActivationObserver``):

- ``minmax``: the smallest and largest value seen;
- ``percentile``: the ``percentile``-th and (100 - ``percentile``)-th percentiles, which
  clip a few outliers to spend the levels on the bulk;
- ``mse``: the range, among shrunken copies t [lo, hi] of the min/max range
  (t = 1, 0.98, ..., 0.3), whose quantization leaves the least squared error on the
  values seen.

Percentile and MSE are computed on a seeded random sample of at most ``sample_size`` of
the values seen (min and max on all of them).
"""

from __future__ import annotations

import numpy as np

METHODS = ("minmax", "percentile", "mse")


def affine_qparams(lo: float, hi: float, bits: int = 8) -> tuple[float, int]:
    """(scale, zero_point) of unsigned affine quantization covering [lo, hi] (widened to
    include 0; a zero-width range gets scale 1).

    Examples
    --------
    >>> from visiongrad.compress import affine_qparams
    >>> affine_qparams(-1.0, 3.0)
    (0.01568627450980392, 64)
    """
    levels = 2 ** bits - 1
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / levels if hi > lo else 1.0
    zero_point = int(np.clip(np.rint(-lo / scale), 0, levels))
    return scale, zero_point


def symmetric_scales(weight: np.ndarray, bits: int = 8) -> np.ndarray:
    """Per-output-channel scales max|w_f| / (2^(bits-1) - 1) of ``weight`` (F, ...), float32;
    an all-zero channel gets scale 1.

    Examples
    --------
    >>> from visiongrad.compress import symmetric_scales
    >>> symmetric_scales(np.array([[1.0, -2.0], [0.0, 0.0]]))
    array([0.01574803, 1.        ], dtype=float32)
    """
    largest = np.abs(weight.reshape(len(weight), -1)).max(axis=1)
    scales = largest / (2 ** (bits - 1) - 1)
    return np.where(scales > 0, scales, 1.0).astype(np.float32)


def quantize_symmetric(weight: np.ndarray, scales: np.ndarray, bits: int = 8) -> np.ndarray:
    """round(w / s_f) clamped to +-(2^(bits-1) - 1), as int8, per output channel f.

    Examples
    --------
    >>> from visiongrad.compress import quantize_symmetric
    >>> from visiongrad.compress import symmetric_scales
    >>> weight = np.array([[1.0, -2.0], [0.5, 0.25]])
    >>> quantize_symmetric(weight, symmetric_scales(weight))
    array([[  64, -127],
           [ 127,   64]], dtype=int8)
    """
    limit = 2 ** (bits - 1) - 1
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return np.clip(np.rint(weight / scales.reshape(shape)), -limit, limit).astype(np.int8)


def quantize_affine(x: np.ndarray, scale: float, zero_point: int, bits: int = 8) -> np.ndarray:
    """clamp(round(x / s) + z, 0, 2^bits - 1) as uint8 (computed in float32).

    Examples
    --------
    >>> from visiongrad.compress import quantize_affine
    >>> from visiongrad.compress import affine_qparams
    >>> scale, zero = affine_qparams(-1.0, 3.0)
    >>> quantize_affine(np.array([-1.0, 0.0, 3.0]), scale, zero)
    array([  0,  64, 255], dtype=uint8)
    """
    q = np.rint(np.asarray(x, np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, 0, 2 ** bits - 1).astype(np.uint8)


def fake_quantize_affine(x: np.ndarray, scale: float, zero_point: int,
                         bits: int = 8) -> np.ndarray:
    """s (q(x) - z): x quantized and dequantized (float64 for the error searches)."""
    q = np.clip(np.rint(x / scale) + zero_point, 0, 2 ** bits - 1)
    return scale * (q - zero_point)


class ActivationObserver:
    """Watches the values of one activation over the calibration batches and picks its
    quantization range (see the module's docstring for the methods).

    Parameters
    ----------
    method : {"minmax", "percentile", "mse"}
    bits : int
        The quantized width (8 for the integer path; fewer for simulated quantization).
    percentile : float
        For ``method="percentile"``: the upper percentile kept (the lower is 100 - p).
    sample_size : int
        How many values (at most) percentile and MSE see, drawn at random per batch.
    seed : int

    Examples
    --------
    >>> from visiongrad.compress import ActivationObserver
    >>> observer = ActivationObserver(method='minmax')
    >>> observer.observe(np.array([-1.0, 0.5]))
    >>> observer.observe(np.array([3.0, 2.0]))
    >>> observer.qparams()            # (scale, zero point) covering [-1, 3]
    (0.01568627450980392, 64)
    """

    def __init__(self, method: str = "minmax", bits: int = 8, percentile: float = 99.99,
                 sample_size: int = 1 << 18, seed: int = 0):
        if method not in METHODS:
            raise ValueError(f"calibration method must be one of {', '.join(METHODS)}, "
                             f"got {method!r}")
        if not 2 <= bits <= 8:
            raise ValueError(f"bits must be between 2 and 8, got {bits}")
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        self.method, self.bits, self.percentile = method, bits, percentile
        self.sample_size = sample_size
        self.rng = np.random.default_rng(seed)
        self.lo, self.hi = np.inf, -np.inf
        self.samples: list[np.ndarray] = []
        self.seen = 0

    def observe(self, values: np.ndarray) -> None:
        """Take one batch's values into account."""
        flat = np.asarray(values, np.float32).ravel()
        if flat.size == 0:
            return
        self.lo, self.hi = min(self.lo, float(flat.min())), max(self.hi, float(flat.max()))
        self.seen += flat.size
        if self.method != "minmax":
            take = min(flat.size, self.sample_size)
            self.samples.append(self.rng.choice(flat, take, replace=False))

    def range(self) -> tuple[float, float]:
        """The chosen [lo, hi]."""
        if self.seen == 0:
            raise ValueError("the observer has seen no values: calibrate on at least one batch")
        if self.method == "minmax":
            return self.lo, self.hi
        sample = np.concatenate(self.samples).astype(np.float64)
        if len(sample) > self.sample_size:
            sample = self.rng.choice(sample, self.sample_size, replace=False)
        if self.method == "percentile":
            return (float(np.percentile(sample, 100.0 - self.percentile)),
                    float(np.percentile(sample, self.percentile)))
        return mse_range(sample, self.lo, self.hi, self.bits)

    def qparams(self) -> tuple[float, int]:
        """(scale, zero_point) of the chosen range."""
        return affine_qparams(*self.range(), bits=self.bits)


def mse_range(sample: np.ndarray, lo: float, hi: float, bits: int) -> tuple[float, float]:
    """The shrunken range t [lo, hi] (t from 1 down to 0.3) whose affine quantization
    leaves the least mean squared error on ``sample``."""
    best, best_error = (lo, hi), np.inf
    for shrink in np.linspace(1.0, 0.3, 36):
        candidate = (lo * shrink, hi * shrink)
        scale, zero_point = affine_qparams(*candidate, bits=bits)
        error = float(np.mean((fake_quantize_affine(sample, scale, zero_point, bits)
                               - sample) ** 2))
        if error < best_error:
            best, best_error = candidate, error
    return best
