"""One style-transfer iteration, visiongrad vs PyTorch CPU: the forward and backward pass
of Gatys et al.'s objective through a feature network at 256 x 256, giving the gradient
with respect to the image (what each L-BFGS or Adam step of ``visualize.style_transfer``
costs).

    python -m benchmarks.style_transfer [--networks random,vgg16,vgg19] [--steps 20]

The objective is ``visualize.style_transfer_loss`` (as ``style_transfer`` runs it):
content loss at the content layer, Gram-matrix style losses at the style layers and the
TV loss, with scikit-image's chelsea (content) and gravel (style), both scaled to
256 x 256. PyTorch computes the same formulas by hand (``torch_loss``) through the same
network with the same weights: the random multi-scale network (``conv{i}``/``relu{i}``,
average pooling), or torchvision's vgg16/vgg19 ``features`` with random weights (the
architecture the user's ImageNet weights would fill; Gatys et al.'s layers relu1_1 ...
relu5_1 and relu4_2). Both stop after the last layer the loss needs.

Both run in this one process with 2 threads each (NumPy imported first, then visiongrad,
as users do), taking turns (``train_step.time_alternating``); the ratio of the medians is
visiongrad / PyTorch. The gradients are compared too, and the visiongrad step's time per
op (``profile_step.clocked_ops``) is recorded. Writes
benchmarks/results/style_transfer.json with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import OrderedDict, defaultdict
from pathlib import Path

import numpy as np

from .saving import add_write_option, destination, save_json
from .train_step import _set_threads, summarize, time_alternating, torchvision_models

RESULTS = Path(__file__).parent / "results" / "style_transfer.json"
SIZE = 256
CONTENT_WEIGHT, TV_WEIGHT = 1.0, 1e-4


def photos():
    """chelsea and gravel as (1, 3, 256, 256) RGB float32 in [0, 1]."""
    from visiongrad.imaging import read_photo, skimage_photo
    from visiongrad.visualize import resize

    return [resize(read_photo(skimage_photo(name), SIZE)[None], SIZE, SIZE)
            for name in ("chelsea", "gravel")]


def build_pair(name: str):
    """The visiongrad FeatureNetwork and the PyTorch feature layers (an ``nn.Sequential``
    whose children are named as the visiongrad model's), with identical weights."""
    import torch

    from visiongrad import visualize

    if name == "random":
        network = visualize.feature_network("random", seed=0)
        layers = []
        for layer_name, module in network.model.named_children():
            if layer_name.startswith("conv"):
                layer = torch.nn.Conv2d(module.in_channels, module.out_channels, 3, padding=1)
            elif layer_name.startswith("relu"):
                layer = torch.nn.ReLU()
            else:
                layer = torch.nn.AvgPool2d(2)
            layers.append((layer_name, layer))
        torch_features = torch.nn.Sequential(OrderedDict(layers))
        torch_features.load_state_dict({k: torch.from_numpy(np.array(v.data)) for k, v in
                                         network.model.state_dict().items()})
        return network, torch_features, lambda layer: layer
    torch.manual_seed(0)
    torch_model = getattr(torchvision_models(), name)()
    network = visualize.feature_network(
        name, {k: v.numpy().copy() for k, v in torch_model.state_dict().items()})
    return network, torch_model.features, lambda layer: layer.removeprefix("features.")


def torch_loss(torch_features, network, to_torch_name, content, style):
    """The same objective in PyTorch: a function of the image tensor, returning the loss."""
    import torch

    mean = torch.tensor(network.mean, dtype=torch.float32).reshape(1, 3, 1, 1)
    std = torch.tensor(network.std, dtype=torch.float32).reshape(1, 3, 1, 1)
    wanted = [to_torch_name(layer) for layer in (*network.style_layers,
                                                 network.content_layer)]
    last = max(list(dict(torch_features.named_children())).index(n) for n in wanted)
    children = list(torch_features.named_children())[:last + 1]

    def features(x):
        out, h = {}, (x - mean) / std
        for layer_name, module in children:
            h = module(h)
            if layer_name in wanted:
                out[layer_name] = h
        return [out[n] for n in wanted]

    def gram(f):
        n, c, h, w = f.shape
        flat = f.reshape(n, c, h * w)
        return flat @ flat.transpose(1, 2) / (c * h * w)

    with torch.no_grad():
        grams = [gram(f) for f in features(torch.from_numpy(style))[:-1]]
        target = features(torch.from_numpy(content))[-1]
    weights = [1.0 / float((g.double() ** 2).sum()) for g in grams]
    scale = CONTENT_WEIGHT / float((target.double() ** 2).sum())

    def loss(x):
        feats = features(x)
        total = scale * ((feats[-1] - target) ** 2).sum()
        for f, g, w in zip(feats[:-1], grams, weights, strict=True):
            total = total + w * ((gram(f) - g) ** 2).sum()
        tv = (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum()
              + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum())
        return total + TV_WEIGHT * tv

    return loss


def measure(name: str, steps: int, warmup: int) -> dict:
    import torch

    import visiongrad as vg
    from visiongrad import visualize
    from visiongrad.visualize.layers import frozen

    from .profile_step import OpClock, clocked_ops

    content, style = photos()
    network, torch_features, to_torch_name = build_pair(name)
    for param in torch_features.parameters():
        param.requires_grad_(False)
    torch_features.eval()
    t_loss = torch_loss(torch_features, network, to_torch_name, content, style)
    start_image = content + 0.05 * np.random.default_rng(0).standard_normal(
        content.shape).astype(np.float32)

    with frozen(network.model):
        vg_loss = visualize.style_transfer_loss(network, content, style, CONTENT_WEIGHT,
                                                tv_weight=TV_WEIGHT)

        def vg_step(image):
            image.grad = None
            value = vg_loss(image)
            value.backward()
            return value.item(), image.grad

        def torch_step(image):
            image.grad = None
            value = t_loss(image)
            value.backward()
            return value.item(), image.grad

        vg_image = vg.tensor(start_image.copy(), requires_grad=True)
        torch_image = torch.from_numpy(start_image.copy()).requires_grad_(True)
        vg_value, vg_grad = vg_step(vg_image)
        torch_value, torch_grad = torch_step(torch_image)
        torch_grad = torch_grad.numpy()
        agreement = {"loss_visiongrad": vg_value, "loss_pytorch": torch_value,
                     "gradient_max_abs_difference_over_max_abs": float(
                         np.abs(vg_grad - torch_grad).max() / np.abs(torch_grad).max()),
                     "gradient_relative_l2_difference": float(
                         np.linalg.norm(vg_grad - torch_grad) / np.linalg.norm(torch_grad))}
        vg_times, torch_times = time_alternating(vg_step, torch_step, (vg_image,),
                                                 (torch_image,), steps, warmup)
        clock, per_op = OpClock(), defaultdict(list)
        with clocked_ops(clock):
            for _ in range(max(3, steps // 4)):
                clock.seconds.clear()
                vg_step(vg_image)
                for key, seconds in clock.seconds.items():
                    per_op[key].append(seconds)
    vg_stats, torch_stats = summarize(vg_times), summarize(torch_times)
    ops = sorted(((1e3 * statistics.median(v), k) for k, v in per_op.items()), reverse=True)
    return {"style_layers": list(network.style_layers), "content_layer": network.content_layer,
            "visiongrad": vg_stats, "pytorch": torch_stats,
            "ratio": vg_stats["median_ms"] / torch_stats["median_ms"], **agreement,
            "visiongrad_ms_per_op": {k: round(ms, 2) for ms, k in ops[:12]}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", default="random,vgg16,vgg19")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    add_write_option(parser, "benchmarks/results/style_transfer.json")
    args = parser.parse_args(argv)
    _set_threads()
    import torch

    results = {"image": [SIZE, SIZE], "threads": 2, "steps": args.steps,
               "torch": torch.__version__, "numpy": np.__version__,
               "load_average_before": os.getloadavg(), "networks": {}}
    for name in args.networks.split(","):
        start = time.perf_counter()
        row = measure(name, args.steps, args.warmup)
        row["seconds"] = time.perf_counter() - start
        results["networks"][name] = row
        print(f"{name:7} visiongrad {row['visiongrad']['median_ms']:8.1f} ms   pytorch "
              f"{row['pytorch']['median_ms']:8.1f} ms   ratio {row['ratio']:.2f}   "
              f"gradient difference {row['gradient_relative_l2_difference']:.1e} (L2), "
              f"{row['gradient_max_abs_difference_over_max_abs']:.1e} (max)")
    results["load_average_after"] = os.getloadavg()
    save_json(destination(args, RESULTS), results, show=args.write)


if __name__ == "__main__":
    main()
