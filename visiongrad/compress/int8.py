"""Integer inference: a classifier's convolutions and linear layers run on uint8
activations and int8 weights with int32 sums, as a deployed int8 model does.

Every activation is a uint8 array with one scale s and zero point z per tensor (x = s (q - z));
images are channels-last (N, H, W, C) between layers. A convolution or linear layer with
int8 weights q_w and one scale s_w[f] per output channel computes

    acc[r, f]   = sum_k q_x[r, k] q_w[f, k] - z_x sum_k q_w[f, k]      (int32, exact)
    y[r, f]     = s_x s_w[f] acc[r, f] + b[f]                          (float32)
    q_y[r, f]   = clamp(round(y[r, f] / s_y) + z_y, lo, 255)           (uint8; lo = z_y when
                                                                        a ReLU is fused, else 0)

where the rows r are the output pixels and k runs over a window's (i, j, c) (im2col on
the uint8 image, padded with z_x: the quantized 0.0). The last layer stores y itself: the
class scores. Max pooling takes the maximum of the uint8 values (quantization is monotonic,
so it commutes with the maximum); a standalone ReLU is max(q, z).

The integer product runs in the compiled kernel (``accel/int8.py``, vpdpbusd or vpmaddwd)
where it is built; otherwise, and as the reference the kernel is tested against, in
``int8_gemm_reference`` below. Both give the same integers and, with the epilogue written
as float32 ``(acc * scale) + bias`` (two roundings, no fused multiply-add), the same bits.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..accel.int8 import DEPTH_STEP, Int8Gemm, im2col, padded, window_row_width
from ..autograd import Tensor, tensor
from .observers import quantize_affine


def int8_gemm_reference(rows, weight_q, col_offset, scale, bias, out_zero: int, out_min: int,
                        float_out: bool):
    """out[r, f] = epilogue(sum_k rows[r, k] weight_q[f, k] + col_offset[f]) in NumPy.

    The integer sums are computed exactly in float64 (BLAS speed; every sum of products of
    8-bit values here is far below 2^53), then the float32 epilogue of the module's
    docstring: float32 out (``float_out``) or uint8 requantized with ``out_zero`` and the
    lower clamp ``out_min``. ``rows`` may carry zero-padded extra columns.

    Examples
    --------
    >>> from visiongrad.compress import int8_gemm_reference
    >>> rows, weight_q = np.array([[1, 2]], np.int32), np.array([[3, 4]], np.int8)
    >>> zeros, ones = np.zeros(1), np.ones(1)            # column offset, scale, bias
    >>> int8_gemm_reference(rows, weight_q, zeros, ones, zeros, out_zero=0, out_min=0,
    ...                     float_out=True)
    array([[11.]], dtype=float32)
    """
    depth = weight_q.shape[1]
    acc = rows[:, :depth].astype(np.float64) @ weight_q.T.astype(np.float64)
    shifted = (acc.astype(np.int64) + col_offset).astype(np.float32)
    values = shifted * np.asarray(scale, np.float32) + np.asarray(bias, np.float32)
    if float_out:
        return values
    return np.clip(np.rint(values) + out_zero, out_min, 255).astype(np.uint8)


class Int8Product(nn.Module):
    """The integer product shared by ``Int8Conv2d`` and ``Int8Linear``: buffers
    ``weight_q`` (int8), ``weight_scale`` (F,) and ``bias`` (F,) float32; the input's and
    output's (scale, zero point) (``out_qparams`` None: float output); ``relu`` fused.

    The weights the product reads are ``matrix`` (F, K), in the order the rows are built.
    """

    def __init__(self, weight_q, weight_scale, bias, in_qparams, out_qparams, relu: bool,
                 path: str | None = None):
        super().__init__()
        self.register_buffer("weight_q", np.asarray(weight_q, np.int8))
        self.register_buffer("weight_scale", np.asarray(weight_scale, np.float32))
        self.register_buffer("bias", np.asarray(bias, np.float32))
        self.in_qparams = (float(in_qparams[0]), int(in_qparams[1]))
        self.out_qparams = None if out_qparams is None else (float(out_qparams[0]),
                                                              int(out_qparams[1]))
        self.relu = bool(relu)
        matrix = self.matrix()
        s_x, z_x = self.in_qparams
        self.col_offset = (-z_x * matrix.astype(np.int64).sum(axis=1)).astype(np.int32)
        scale = np.float32(s_x) * self.weight_scale
        if self.out_qparams is None:
            self.scale, self.shift, self.out_zero, self.out_min = scale, self.bias, 0, 0
        else:
            s_y, z_y = self.out_qparams
            self.scale = (scale / np.float32(s_y)).astype(np.float32)
            self.shift = (self.bias / np.float32(s_y)).astype(np.float32)
            self.out_zero, self.out_min = z_y, (z_y if self.relu else 0)
        self.depth = padded(matrix.shape[1], DEPTH_STEP)
        self.kernel = Int8Gemm.build(matrix, self.col_offset, self.scale, self.shift,
                                     self.out_zero, self.out_min, self.float_out, path)
        self._matrix = matrix

    @property
    def float_out(self) -> bool:
        return self.out_qparams is None

    def matrix(self):
        return self.weight_q

    def product(self, rows):
        """The product of uint8 ``rows`` (M, K padded to ``depth``) with the weights."""
        if self.kernel is not None:
            return self.kernel(rows)
        return int8_gemm_reference(rows, self._matrix, self.col_offset, self.scale, self.shift,
                                   self.out_zero, self.out_min, self.float_out)

    def spec(self) -> dict:
        return {"in": list(self.in_qparams),
                "out": None if self.out_qparams is None else list(self.out_qparams),
                "relu": self.relu}


class Int8Conv2d(Int8Product):
    """A convolution on channels-last uint8 images (N, H, W, C) -> (N, Ho, Wo, F); weights
    (F, C, kh, kw) as the float layer's, bias folded with any batch norm."""

    def __init__(self, weight_q, weight_scale, bias, stride, padding, in_qparams,
                 out_qparams, relu: bool, path: str | None = None):
        super().__init__(weight_q, weight_scale, bias, in_qparams, out_qparams, relu, path)
        self.stride, self.padding = tuple(stride), tuple(padding)

    def matrix(self):
        """(F, kh row_width): the weights in a window's (i, j, c) order, each window row
        i followed by zeros up to ``window_row_width`` (the rows' filler)."""
        filters, channels, kh, kw = self.weight_q.shape
        out = np.zeros((filters, kh, window_row_width(kw, channels)), np.int8)
        out[:, :, :kw * channels] = self.weight_q.transpose(0, 2, 3, 1).reshape(filters, kh, -1)
        return out.reshape(filters, -1)

    def forward(self, x):
        rows = im2col(x, self.weight_q.shape[2:], self.stride, self.padding,
                      self.in_qparams[1])
        if rows is None:
            rows = self.windows(x)
        out = self.product(rows.reshape(-1, self.depth))
        return out.reshape(*rows.shape[:3], -1)

    def windows(self, x):
        """im2col in NumPy (the compiled ``accel.int8.im2col``'s reference): rows
        (N, Ho, Wo, kh row_width) of each window's (i, j, c) values, x padded with z_x,
        zeros as each window row's filler."""
        n, height, width, channels = x.shape
        kh, kw = self.weight_q.shape[2:]
        (sh, sw), (ph, pw) = self.stride, self.padding
        out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
        if ph or pw:
            padded_x = np.full((n, height + 2 * ph, width + 2 * pw, channels),
                               self.in_qparams[1], np.uint8)
            padded_x[:, ph:ph + height, pw:pw + width] = x
            x = padded_x
        row_width = window_row_width(kw, channels)
        rows = np.zeros((n, out_h, out_w, kh, row_width), np.uint8)
        for i in range(kh):  # one strided copy per tap
            for j in range(kw):
                rows[..., i, j * channels:(j + 1) * channels] = x[:, i:i + sh * out_h:sh,
                                                                    j:j + sw * out_w:sw]
        return rows.reshape(n, out_h, out_w, -1)

    def spec(self) -> dict:
        return {"type": "conv", "stride": list(self.stride), "padding": list(self.padding),
                **super().spec()}


class Int8Linear(Int8Product):
    """A linear layer on uint8 rows (N, D) -> (N, F); weights (F, D) with their columns in
    the order the rows arrive (channels-last where a flattened image comes in)."""

    def forward(self, x):
        rows = x
        if x.shape[1] != self.depth or not x.flags.c_contiguous:
            rows = np.zeros((len(x), self.depth), np.uint8)
            rows[:, :x.shape[1]] = x
        return self.product(rows)

    def spec(self) -> dict:
        return {"type": "linear", **super().spec()}


class Int8MaxPool2d(nn.Module):
    """Max pooling of channels-last uint8 images, the maximum taken tap by tap (padding
    is the lowest level, 0, which no real maximum is below)."""

    def __init__(self, kernel_size, stride, padding=(0, 0)):
        super().__init__()
        self.kernel_size, self.stride, self.padding = (tuple(kernel_size), tuple(stride),
                                                       tuple(padding))

    def forward(self, x):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if ph or pw:
            x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
        out = x[:, :sh * out_h:sh, :sw * out_w:sw].copy()
        for i in range(kh):
            for j in range(kw):
                np.maximum(out, x[:, i:i + sh * out_h:sh, j:j + sw * out_w:sw], out=out)
        return out

    def spec(self) -> dict:
        return {"type": "max_pool", "kernel_size": list(self.kernel_size),
                "stride": list(self.stride), "padding": list(self.padding)}


class Int8Flatten(nn.Module):
    """(N, H, W, C) -> (N, H W C); the next linear layer's columns are in this order."""

    def forward(self, x):
        return x.reshape(len(x), -1)

    def spec(self) -> dict:
        return {"type": "flatten"}


class Int8ReLU(nn.Module):
    """max(q, z): ReLU on a uint8 activation with zero point z."""

    def __init__(self, zero_point: int):
        super().__init__()
        self.zero_point = int(zero_point)

    def forward(self, x):
        return np.maximum(x, np.uint8(self.zero_point))

    def spec(self) -> dict:
        return {"type": "relu", "zero_point": self.zero_point}


class QuantizedClassifier(nn.Module):
    """An int8 classifier: quantize the float input (NCHW, per-tensor affine), run the
    integer layers channels-last, return float32 class scores as a Tensor.

    Built by ``compress.quantize_model``; saved and rebuilt with ``spec``/``from_spec``
    (a checkpoint's config holds the spec, its tensors the state_dict).

    Examples
    --------
    >>> from visiongrad.compress import QuantizedClassifier
    >>> _ = vg.manual_seed(0)
    >>> from visiongrad.compress import quantize_model
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(9, 3)).eval()
    >>> images = np.random.default_rng(0).random((8, 1, 3, 3)).astype(np.float32)
    >>> int8 = quantize_model(model, images)
    >>> isinstance(int8, QuantizedClassifier), int8(images).shape
    (True, (8, 3))
    """

    def __init__(self, input_qparams, layers):
        super().__init__()
        self.input_qparams = (float(input_qparams[0]), int(input_qparams[1]))
        self.layers = nn.Sequential(*layers)

    def quantize_input(self, x):
        """uint8 channels-last (or (N, D)) values of the float input array."""
        q = quantize_affine(x, *self.input_qparams)
        return np.ascontiguousarray(q.transpose(0, 2, 3, 1)) if q.ndim == 4 else q

    def forward(self, x):
        values = x.data if isinstance(x, Tensor) else np.asarray(x)
        out = self.quantize_input(values)
        for layer in self.layers:
            out = layer(out)
        return tensor(np.ascontiguousarray(out, dtype=np.float32))

    def trace(self, x) -> list:
        """The dequantized output of every layer on float input ``x`` (NCHW axes for
        images), for the per-layer error table."""
        out, outputs, qparams = self.quantize_input(np.asarray(x)), [], self.input_qparams
        for layer in self.layers:
            out = layer(out)
            if isinstance(layer, Int8Product):
                qparams = layer.out_qparams
            values = (out if qparams is None
                      else qparams[0] * (out.astype(np.float32) - qparams[1]))
            outputs.append(values.transpose(0, 3, 1, 2) if values.ndim == 4 else values)
        return outputs

    def spec(self) -> dict:
        return {"input": list(self.input_qparams),
                "layers": [layer.spec() for layer in self.layers]}

    @classmethod
    def from_spec(cls, spec: dict, state: dict, path: str | None = None):
        """Rebuild from ``spec`` and the state_dict arrays ``state`` (as saved)."""
        layers = []
        for index, layer in enumerate(spec["layers"]):
            kind = layer["type"]
            if kind in ("conv", "linear"):
                arrays = [state[f"layers.{index}.{name}"]
                          for name in ("weight_q", "weight_scale", "bias")]
                common = (layer["in"], layer["out"], layer["relu"], path)
                layers.append(Int8Conv2d(*arrays, layer["stride"], layer["padding"], *common)
                              if kind == "conv" else Int8Linear(*arrays, *common))
            elif kind == "max_pool":
                layers.append(Int8MaxPool2d(layer["kernel_size"], layer["stride"],
                                            layer["padding"]))
            elif kind == "flatten":
                layers.append(Int8Flatten())
            elif kind == "relu":
                layers.append(Int8ReLU(layer["zero_point"]))
            else:
                raise ValueError(f"unknown int8 layer type {kind!r}")
        return cls(spec["input"], layers)
