"""Quantization-aware training against post-training quantization at few bits: how much of
the accuracy that post-training quantization loses does a short QAT fine-tune win back?

Run from the repository root on a trained run (``visiongrad train ... --out RUN``)::

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.qat runs/tlc --bits 4 --epochs 1

The README's rows: ``visiongrad train --dataset fashion-mnist`` with ``--model lenet5
--epochs 8 --batch-size 128`` (val accuracy 0.901; at 4 bits post-training quantization
costs it 1.4 points) and ``--model three_layer_convnet --epochs 2`` (0.3 points), each
then measured with ``--bits 4 --epochs 1``.

For each ``--bits`` (4 by default), with weights per output channel (symmetric) and
activations per tensor (affine) fake-quantized at that width (``compress.prepare_qat``;
batch norm stays a float layer in both arms):

- ``ptq``: ranges calibrated on ``--calibration`` training images (min/max), no training;
- ``qat``: the same start, then ``--epochs`` epochs of training through the fake
  quantizers (Adam, ``--lr``, batches of 128, moving-average activation ranges) on the
  whole training split; nothing is chosen on the test split.

- ``float_tuned``: the control: the float model trained for the same epochs the same way,
  without fake quantization (a short-trained model gains from any extra epoch), and
  ``ptq_tuned``, post-training quantization of that model as in ``ptq``.

Test accuracy of every arm, and the share of the post-training gap QAT recovers: against
the starting model, (qat - ptq) / (float - ptq), and, fairer where the extra epoch helps
by itself, against the equally trained one, (qat - ptq_tuned) / (float_tuned - ptq_tuned).
Writes ``benchmarks/results/qat.json`` (``--out``), keeping its results for other models
and bit widths.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from visiongrad import functional as F
from visiongrad import optim
from visiongrad.autograd import tensor
from visiongrad.compress.qat import calibrate_fake_quant, prepare_qat
from visiongrad.recipes.classify import load_split
from visiongrad.recipes.classify_network import load_network
from visiongrad.train.epochs import descend_epoch
from visiongrad.train.predict import predict_logits

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"


def accuracy(model, x, y) -> float:
    return float(np.mean(predict_logits(model, x).argmax(1) == y))


def measure(run: str, bits: int, args) -> dict:
    checkpoint = str(Path(run) / "checkpoint.safetensors")
    model, normalize, info = load_network(checkpoint)
    train, test = (load_split(args.dataset, split, args.data_dir) for split in ("train", "test"))
    rng = np.random.default_rng(args.seed)
    calibration = normalize(train.images[rng.choice(len(train.images), args.calibration,
                                                    replace=False)])
    x_test = normalize(test.images)
    result = {"run": run, "model": info["model"], "bits": bits,
              "float": accuracy(model, x_test, test.labels)}
    ptq = prepare_qat(model, bits)
    calibrate_fake_quant(ptq, calibration)
    result["ptq"] = accuracy(ptq, x_test, test.labels)

    x_train = normalize(train.images)
    for arm in ("qat", "float_tuned"):
        net, _, _ = load_network(checkpoint)  # a fresh copy of the weights for each arm
        if arm == "qat":
            net = prepare_qat(net, bits)
            calibrate_fake_quant(net, calibration)
        optimizer = optim.Adam(net.parameters(), lr=args.lr)
        arm_rng = np.random.default_rng(args.seed)
        start = time.perf_counter()
        net.train()
        for _ in range(args.epochs):
            descend_epoch(lambda batch, net=net: F.cross_entropy(
                net(tensor(x_train[batch])), tensor(train.labels[batch])),
                len(x_train), 128, optimizer, arm_rng)
        result[f"{arm}_seconds"] = time.perf_counter() - start
        result[arm] = accuracy(net, x_test, test.labels)
        if arm == "float_tuned":
            tuned_ptq = prepare_qat(net, bits)
            calibrate_fake_quant(tuned_ptq, calibration)
            result["ptq_tuned"] = accuracy(tuned_ptq, x_test, test.labels)
    for name, reference, ptq in (("recovered", "float", "ptq"),
                                 ("recovered_vs_tuned", "float_tuned", "ptq_tuned")):
        gap = result[reference] - result[ptq]
        result[name] = (result["qat"] - result[ptq]) / gap if gap > 0 else None
    return result


def kept(path: Path, results: list[dict]) -> list[dict]:
    """The results already in ``path`` for other models or bit widths (each with the
    options it was measured with): runs of one model at a time add up."""
    if not path.is_file():
        return []
    stored = json.loads(path.read_text())
    done = {(result["model"], result["bits"]) for result in results}
    return [{"options": stored.get("options"), **result} for result in stored["results"]
            if (result["model"], result["bits"]) not in done]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--bits", type=int, nargs="+", default=[4])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--calibration", type=int, default=1000)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    add_write_option(parser, "benchmarks/results/qat.json")
    args = parser.parse_args(argv)
    results = [{**measure(run, bits, args), "options": vars(args)}
               for run in args.runs for bits in args.bits]
    path = destination(args, RESULTS / "qat.json")
    stored = kept(path, results) if path is not None else []
    save_json(path, {"results": stored + results}, show=False)
    print("| model | bits | float | PTQ | QAT | recovered | float + same epochs | its PTQ | "
          "recovered vs it |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        shares = ["-" if r[k] is None else f"{100 * r[k]:.0f}%"
                  for k in ("recovered", "recovered_vs_tuned")]
        print(f"| {r['model']} | {r['bits']} | {r['float']:.4f} | {r['ptq']:.4f} | "
              f"{r['qat']:.4f} | {shares[0]} | {r['float_tuned']:.4f} | {r['ptq_tuned']:.4f} | "
              f"{shares[1]} |")


if __name__ == "__main__":
    main()
