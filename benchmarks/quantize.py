"""int8 inference beside float32: accuracy and time per batch of visiongrad's float32 and
int8 paths, PyTorch's eager-mode int8 (``torch.ao.quantization``, x86 backend) and ONNX
Runtime (float and QDQ-int8), on the same trained model and the same test images, in one
process.

Run from the repository root on trained runs (``visiongrad train ... --out RUN``)::

    OPENBLAS_NUM_THREADS=1 python -m visiongrad train --model three_layer_convnet \\
        --dataset fashion-mnist --epochs 2 --out runs/tlc
    python -m benchmarks.quantize runs/tlc runs/vgg --calibration 1000

For each run: post-training quantization with ``--calibration`` training images (seeded
draw) by visiongrad (``compress.quantize_model``, ``--method``) and by PyTorch (its
default x86 qconfig: histogram observer, per-channel weights; BN folded, ReLU fused as
``fuse_modules`` does); ONNX Runtime runs visiongrad's exported graphs
(``compress.onnx_export``). Accuracy is on the whole test split; time is the median over
``--repeats`` rounds, each timing one batch of ``--batch-size`` test images on every
engine in turn (round robin, so load from other processes falls on all alike). PyTorch and
ONNX Runtime use their default thread counts; visiongrad its own (one thread per core).

Writes ``benchmarks/results/quantize.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover - a reference, not a dependency
    torch = None
try:
    import onnxruntime
except ImportError:  # pragma: no cover
    onnxruntime = None

from visiongrad import compress, nn
from visiongrad.accel.int8 import kernel_path
from visiongrad.accel.machine import cpu_model
from visiongrad.autograd import no_grad, tensor
from visiongrad.compress.onnx_export import float_graph, qdq_graph
from visiongrad.recipes.classify import load_split
from visiongrad.recipes.classify_network import load_network
from visiongrad.train.predict import predict_logits

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"


def torch_mirror(model):
    """The same Sequential in PyTorch, weights copied (the zoo's keys are torch's)."""
    layers = []
    for module in model:
        if isinstance(module, nn.Conv2d):
            layers.append(torch.nn.Conv2d(module.in_channels, module.out_channels,
                                          module.kernel_size, module.stride, module.padding,
                                          bias=module.bias is not None))
        elif isinstance(module, nn.BatchNorm2d):
            layers.append(torch.nn.BatchNorm2d(module.num_features, eps=module.eps))
        elif isinstance(module, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(module, nn.MaxPool2d):
            layers.append(torch.nn.MaxPool2d(module.kernel_size, module.stride, module.padding))
        elif isinstance(module, nn.Flatten):
            layers.append(torch.nn.Flatten())
        elif isinstance(module, nn.Linear):
            layers.append(torch.nn.Linear(module.in_features, module.out_features,
                                          bias=module.bias is not None))
        elif isinstance(module, nn.Dropout):
            layers.append(torch.nn.Dropout(module.p))
        else:
            raise ValueError(f"no PyTorch mirror for {type(module).__name__}")
    mirror = torch.nn.Sequential(*layers)
    mirror.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in
                            model.state_dict().items() if not k.endswith("num_batches_tracked")},
                           strict=False)
    return mirror.eval()


def torch_int8(model, calibration: np.ndarray):
    """PyTorch eager-mode static int8 of the mirror: fused, x86 qconfig, calibrated."""
    from torch.ao import quantization as tq

    torch.backends.quantized.engine = "x86"
    mirror = torch_mirror(model)
    wrapped = torch.nn.Sequential(tq.QuantStub(), *mirror, tq.DeQuantStub()).eval()
    layers, groups, index = list(wrapped), [], 1
    while index < len(layers):
        if isinstance(layers[index], (torch.nn.Conv2d, torch.nn.Linear)):
            group = [str(index)]
            if index + 1 < len(layers) and isinstance(layers[index + 1], torch.nn.BatchNorm2d):
                group.append(str(index + 1))
            if index + len(group) < len(layers) and isinstance(layers[index + len(group)],
                                                               torch.nn.ReLU):
                group.append(str(index + len(group)))
            if len(group) > 1:
                groups.append(group)
            index += len(group)
        else:
            index += 1
    tq.fuse_modules(wrapped, groups, inplace=True)
    wrapped.qconfig = tq.get_default_qconfig("x86")
    tq.prepare(wrapped, inplace=True)
    with torch.no_grad():
        for start in range(0, len(calibration), 256):
            wrapped(torch.from_numpy(calibration[start:start + 256]))
    return tq.convert(wrapped, inplace=True)


def torch_logits(net, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([net(torch.from_numpy(x[s:s + batch_size])).numpy()
                               for s in range(0, len(x), batch_size)])


def ort_session(onnx_model):
    return onnxruntime.InferenceSession(onnx_model.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


def ort_logits(session, x01: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([session.run(None, {"images": x01[s:s + batch_size]})[0]
                           for s in range(0, len(x01), batch_size)])


def measure(run: str, args) -> dict:
    model, normalize, info = load_network(str(Path(run) / "checkpoint.safetensors"))
    train, test = (load_split(args.dataset, split, args.data_dir) for split in ("train", "test"))
    picked = np.random.default_rng(0).choice(len(train.images), args.calibration, replace=False)
    calibration = normalize(train.images[picked])
    x, x01 = normalize(test.images), (test.images / 255.0).astype(np.float32)
    start = time.perf_counter()
    int8 = compress.quantize_model(model, calibration, method=args.method)
    quantize_seconds = time.perf_counter() - start
    engines = {"visiongrad float32": (lambda b: model(tensor(b)).data, False),
               "visiongrad int8": (lambda b: int8(tensor(b)).data, False)}
    if torch is not None:
        torch_float, torch_q = torch_mirror(model), torch_int8(model, calibration)
        engines["pytorch float32"] = (lambda b: torch_float(torch.from_numpy(b)), False)
        engines["pytorch int8 (eager, x86)"] = (lambda b: torch_q(torch.from_numpy(b)), False)
    if onnxruntime is not None:
        mean, std = normalize.mean_, normalize.std_
        sessions = {"onnxruntime float32": ort_session(float_graph(model, info["input_shape"],
                                                                   mean, std)),
                    "onnxruntime int8 (QDQ)": ort_session(qdq_graph(int8, info["input_shape"],
                                                                    mean, std))}
        for name, session in sessions.items():
            engines[name] = (lambda b, s=session: s.run(None, {"images": b}), True)
    accuracy = {"visiongrad float32": predict_logits(model, x),
                "visiongrad int8": predict_logits(int8, x)}
    if torch is not None:
        accuracy["pytorch float32"] = torch_logits(torch_float, x)
        accuracy["pytorch int8 (eager, x86)"] = torch_logits(torch_q, x)
    if onnxruntime is not None:
        for name, session in sessions.items():
            accuracy[name] = ort_logits(session, x01)
    accuracy = {name: float(np.mean(logits.argmax(1) == test.labels))
                for name, logits in accuracy.items()}
    batch, batch01 = x[:args.batch_size], x01[:args.batch_size]
    times: dict[str, list[float]] = {name: [] for name in engines}
    with no_grad(), (torch.no_grad() if torch is not None else _nothing()):
        for _ in range(args.repeats + 1):  # the first round warms up, not counted
            for name, (engine, takes01) in engines.items():
                start = time.perf_counter()
                engine(batch01 if takes01 else batch)
                times[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(values[1:])) for name, values in times.items()}
    return {"run": run, "model": info["model"], "calibration": args.calibration,
            "method": args.method, "quantize_seconds": quantize_seconds,
            "accuracy": accuracy, "median_seconds": medians,
            "layers": compress.layer_table(model, int8, calibration[:256])}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="folders written by 'visiongrad train'")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--calibration", type=int, default=1000)
    parser.add_argument("--method", default="minmax", choices=("minmax", "percentile", "mse"))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    add_write_option(parser, "benchmarks/results/quantize.json")
    args = parser.parse_args(argv)
    results = [measure(run, args) for run in args.runs]
    machine = {"cpu": cpu_model(), "int8 kernel": kernel_path(),
               "python": platform.python_version(),
               "torch": None if torch is None else torch.__version__,
               "torch threads": None if torch is None else torch.get_num_threads(),
               "onnxruntime": None if onnxruntime is None else onnxruntime.__version__}
    save_json(destination(args, RESULTS / "quantize.json"),
              {"machine": machine, "results": results}, show=False)
    for result in results:
        base = result["median_seconds"]["visiongrad float32"]
        print(f"\n{result['model']} ({result['run']}), batch {args.batch_size}, "
              f"calibration {result['calibration']} ({result['method']})\n")
        print("| engine | test accuracy | ms per batch | vs visiongrad float32 |")
        print("|---|---|---|---|")
        for name, seconds in result["median_seconds"].items():
            print(f"| {name} | {result['accuracy'][name]:.4f} | {1000 * seconds:.1f} | "
                  f"{base / seconds:.2f}x |")
    print(f"\nmachine: {machine}")


if __name__ == "__main__":
    main()
