"""The zoo's size and cost (parameters, multiply-adds, activation memory) beside the
figures the papers give, as ``visiongrad summary --all`` prints them."""

from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from . import CIFAR_RESNET_MODELS, ZOO, create

CIFAR_MODELS = (*CIFAR_RESNET_MODELS, "fractalnet", "resnet110_stochastic_depth")
"""Zoo networks designed for 32x32 CIFAR images (every other one for 224x224 ImageNet)."""

SOURCES = {
    "alexnet": "Krizhevsky et al. 2012 (params, section 1); Sze et al. 2017, table 4 (MACs, "
               "two-tower original)",
    "vgg": "Simonyan & Zisserman 2015, table 2 (params); Sze et al. 2017, table 4 "
           "(VGG-16 MACs); He et al. 2016, section 4.1 (VGG-19 MACs)",
    "googlenet": "Szegedy et al. 2015, table 1 (params) and section 5 (1.5 billion "
                 "multiply-adds)",
    "resnet": "He et al. 2016, table 1 (multiply-adds, which the paper calls FLOPs)",
    "cifar_resnet": "He et al. 2016, table 6",
}
"""Where each figure of :data:`PAPER_FIGURES` comes from.

Sze, Chen, Yang and Emer, "Efficient Processing of Deep Neural Networks: A Tutorial and
Survey", Proc. IEEE 105(12), 2017."""

PAPER_FIGURES = {
    # name: (parameters in millions or None, billions of multiply-adds or None, source key)
    "alexnet": (60.0, 0.724, "alexnet"),
    "vgg11": (133.0, None, "vgg"), "vgg11_lrn": (133.0, None, "vgg"),
    "vgg13": (133.0, None, "vgg"), "vgg16_1x1": (134.0, None, "vgg"),
    "vgg16": (138.0, 15.5, "vgg"), "vgg19": (144.0, 19.6, "vgg"),
    "googlenet": (6.8, 1.5, "googlenet"),
    "resnet18": (None, 1.8, "resnet"), "resnet34": (None, 3.6, "resnet"),
    "resnet50": (None, 3.8, "resnet"), "resnet101": (None, 7.6, "resnet"),
    "resnet152": (None, 11.3, "resnet"),
    "resnet20": (0.27, None, "cifar_resnet"), "resnet32": (0.46, None, "cifar_resnet"),
    "resnet44": (0.66, None, "cifar_resnet"), "resnet56": (0.85, None, "cifar_resnet"),
    "resnet110": (1.7, None, "cifar_resnet"),
}
"""The papers' parameter counts (millions) and multiply-adds (billions) at their input size
(224x224 ImageNet, 32x32 CIFAR), with the key of their source in :data:`SOURCES`."""


@dataclass
class ZooRow:
    """One network's measured size and cost, and the paper's figures."""

    name: str
    input_size: int
    params: int
    macs: int
    activation_bytes: int
    paper_params_m: float | None
    paper_gmacs: float | None
    source: str | None


def input_size(name: str) -> int:
    """The image side the network was designed for: 32 (CIFAR) or 224 (ImageNet)."""
    return 32 if name in CIFAR_MODELS else 224


def measure(name: str) -> ZooRow:
    """Build zoo network ``name`` with its defaults (GoogLeNet without its auxiliary
    classifiers, which inference does not run and the paper's count leaves out) and
    count it with :func:`nn.summary` on one 3-channel image of :func:`input_size`."""
    if name not in ZOO:
        raise ValueError(f"unknown zoo network {name!r} (available: {', '.join(ZOO)})")
    model = create(name, aux_logits=False) if name == "googlenet" else create(name)
    size = input_size(name)
    result = nn.summary(model, (3, size, size), file=None)
    paper_params, paper_gmacs, source = PAPER_FIGURES.get(name, (None, None, None))
    return ZooRow(name, size, result.total_params, result.total_macs,
                  result.activation_bytes, paper_params, paper_gmacs,
                  SOURCES[source] if source else None)


def zoo_table(rows: list[ZooRow]) -> str:
    """The rows as a Markdown table, measured figures beside the papers'."""
    lines = ["| network | input | parameters | paper | GMACs | paper | activations, MB |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        paper_params = f"{row.paper_params_m:g}M" if row.paper_params_m is not None else "-"
        paper_gmacs = f"{row.paper_gmacs:g}" if row.paper_gmacs is not None else "-"
        lines.append(f"| {row.name} | {row.input_size}x{row.input_size} | {row.params:,} "
                     f"| {paper_params} | {row.macs / 1e9:.3g} | {paper_gmacs} "
                     f"| {row.activation_bytes / 2**20:.1f} |")
    sources = sorted({row.source for row in rows if row.source})
    return "\n".join(lines + ["", "Sources: " + "; ".join(sources) + "."])
