"""ONNX graphs of a sequential classifier, float or QDQ-int8, built with the ``onnx``
package (the ``onnx`` extra), so that ONNX Runtime and other runtimes deploy what
visiongrad trained.

Every graph takes ``images``: float32 (N, C, H, W) scaled to [0, 1], and returns
``logits`` (N, num_classes). The run's input standardisation is its first two nodes:
``(images - mean[c]) / std[c]``. Then, per layer:

- float (``float_graph``): Conv, BatchNormalization (eval), Relu, MaxPool, Flatten, Gemm
  (transB: y = x W^T + b), as the model's own layers (Dropout is left out);
- int8 (``qdq_graph``, from a ``QuantizedClassifier``): the QDQ form ONNX Runtime
  recognises and runs on integers. Each activation passes QuantizeLinear ->
  DequantizeLinear with its uint8 (scale, zero point); each weight is int8 with one scale
  per output channel (DequantizeLinear, axis 0), the (batch-norm-folded) bias int32 with
  scale s_x s_w[f], zero point 0, as ONNX Runtime's own quantizer writes it.

The int8 model's linear layers hold their columns in channels-last order (its images are
NHWC between layers); the graph is NCHW, so the first linear layer after a flattened image
gets its columns put back in (C, H, W) order.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .int8 import Int8Conv2d, Int8Flatten, Int8Linear, Int8MaxPool2d, Int8ReLU
from .quantize import SKIPPED, conv_padding

OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("ONNX export needs the onnx package: pip install "
                          "'visiongrad[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and initializers being collected, with fresh names."""

    def __init__(self):
        self.onnx = _onnx()
        self.nodes, self.initializers, self.count = [], [], 0

    def constant(self, name: str, array) -> str:
        name = f"{name}_{self.count}"
        self.count += 1
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        output = f"{op.lower()}_{self.count}"
        self.count += 1
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], **attributes))
        return output

    def model(self, last: str, input_shape, num_classes: int, name: str):
        helper, tensor = self.onnx.helper, self.onnx.TensorProto
        self.nodes.append(helper.make_node("Identity", [last], ["logits"]))
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("images", tensor.FLOAT, ["N", *input_shape])],
            [helper.make_tensor_value_info("logits", tensor.FLOAT, ["N", num_classes])],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="visiongrad")
        self.onnx.checker.check_model(model)
        return model

    def normalize(self, mean, std) -> str:
        shape = (-1, 1, 1)
        centred = self.node("Sub", ["images", self.constant(
            "mean", np.asarray(mean, np.float32).reshape(shape))])
        return self.node("Div", [centred, self.constant(
            "std", np.asarray(std, np.float32).reshape(shape))])


def float_graph(model, input_shape, mean, std, name: str = "visiongrad"):
    """The float ONNX model of a ``Sequential`` classifier (see the module's docstring);
    ``mean`` and ``std`` are the per-channel statistics of the run's normaliser (images
    in [0, 1])."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"ONNX export takes a Sequential classifier, got "
                         f"{type(model).__name__}")
    g = _Graph()
    x = g.normalize(mean, std)
    num_classes = None
    for index, module in enumerate(model):
        if isinstance(module, SKIPPED):
            continue
        if isinstance(module, nn.Conv2d):
            if module.groups != 1 or tuple(module.dilation) != (1, 1):
                raise ValueError(f"layer {index}: grouped or dilated convolutions are not "
                                 f"exported")
            inputs = [x, g.constant("weight", module.weight.data)]
            if module.bias is not None:
                inputs.append(g.constant("bias", module.bias.data))
            x = g.node("Conv", inputs, kernel_shape=list(module.kernel_size),
                       strides=list(module.stride), pads=_pads(conv_padding(module)))
            num_classes = module.out_channels
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
            ones = np.ones(module.num_features, np.float32)
            x = g.node("BatchNormalization", [
                x, g.constant("gamma", module.weight.data if module.weight is not None else ones),
                g.constant("beta", module.bias.data if module.bias is not None else 0 * ones),
                g.constant("mean", module.running_mean), g.constant("var", module.running_var)],
                epsilon=float(module.eps))
        elif isinstance(module, nn.ReLU):
            x = g.node("Relu", [x])
        elif isinstance(module, nn.MaxPool2d):
            x = g.node("MaxPool", [x], kernel_shape=list(module.kernel_size),
                       strides=list(module.stride), pads=_pads(module.padding),
                       ceil_mode=int(module.ceil_mode))
        elif isinstance(module, nn.Flatten):
            x = g.node("Flatten", [x], axis=1)
        elif isinstance(module, nn.Linear):
            inputs = [x, g.constant("weight", module.weight.data)]
            if module.bias is not None:
                inputs.append(g.constant("bias", module.bias.data))
            x = g.node("Gemm", inputs, transB=1)
            num_classes = module.out_features
        else:
            raise ValueError(f"layer {index} ({type(module).__name__}) has no ONNX export: "
                             f"it takes Conv2d, BatchNorm, ReLU, MaxPool2d, Flatten, Linear "
                             f"and Dropout")
    return g.model(x, input_shape, num_classes, name)


def qdq_graph(quantized, input_shape, mean, std, name: str = "visiongrad-int8"):
    """The QDQ-int8 ONNX model of a ``QuantizedClassifier`` (see the module's docstring)."""
    g = _Graph()
    x = _quantize_dequantize(g, g.normalize(mean, std), quantized.input_qparams)
    shape = tuple(input_shape)
    for layer in quantized.layers:
        if isinstance(layer, (Int8Conv2d, Int8Linear)):
            weight = layer.weight_q
            if isinstance(layer, Int8Linear) and len(shape) == 3:  # back to (C, H, W) columns
                weight = weight.reshape(len(weight), shape[1], shape[2], shape[0]).transpose(
                    0, 3, 1, 2).reshape(len(weight), -1)
            w = g.node("DequantizeLinear", [g.constant("weight_q", weight),
                                            g.constant("weight_scale", layer.weight_scale),
                                            g.constant("weight_zero", np.zeros(len(weight),
                                                                               np.int8))],
                       axis=0)
            bias_scale = (np.float32(layer.in_qparams[0]) * layer.weight_scale).astype(np.float32)
            b = g.node("DequantizeLinear", [
                g.constant("bias_q", np.rint(layer.bias / bias_scale).astype(np.int32)),
                g.constant("bias_scale", bias_scale),
                g.constant("bias_zero", np.zeros(len(weight), np.int32))], axis=0)
            if isinstance(layer, Int8Conv2d):
                x = g.node("Conv", [x, w, b], kernel_shape=list(weight.shape[2:]),
                           strides=list(layer.stride), pads=_pads(layer.padding))
                shape = (len(weight), *_out_hw(shape[1:], weight.shape[2:], layer.stride,
                                               layer.padding))
            else:
                x = g.node("Gemm", [x, w, b], transB=1)
                shape = (len(weight),)
            if layer.relu:
                x = g.node("Relu", [x])
            if layer.out_qparams is not None:
                x = _quantize_dequantize(g, x, layer.out_qparams)
        elif isinstance(layer, Int8MaxPool2d):
            x = g.node("MaxPool", [x], kernel_shape=list(layer.kernel_size),
                       strides=list(layer.stride), pads=_pads(layer.padding))
            shape = (shape[0], *_out_hw(shape[1:], layer.kernel_size, layer.stride,
                                        layer.padding))
        elif isinstance(layer, Int8Flatten):
            x = g.node("Flatten", [x], axis=1)
        elif isinstance(layer, Int8ReLU):
            x = g.node("Relu", [x])
    return g.model(x, input_shape, shape[0], name)


def _quantize_dequantize(g: _Graph, x: str, qparams) -> str:
    scale = g.constant("scale", np.float32(qparams[0]))
    zero = g.constant("zero_point", np.uint8(qparams[1]))
    return g.node("DequantizeLinear", [g.node("QuantizeLinear", [x, scale, zero]), scale, zero])


def _pads(padding) -> list[int]:
    """ONNX's pads: [top, left, bottom, right]."""
    return [int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])]


def _out_hw(hw, kernel, stride, padding) -> tuple[int, int]:
    return tuple((hw[a] + 2 * padding[a] - kernel[a]) // stride[a] + 1 for a in (0, 1))
