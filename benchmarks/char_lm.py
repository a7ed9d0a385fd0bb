"""Accuracy-for-time benchmark: the character-level language model on Shakespeare.

Run from the repository root::

    python -m benchmarks.char_lm --minutes 30

Trains ``visiongrad.models.char_lm.CharRNN`` with its default recipe (the one
``visiongrad lm train`` uses) on the embedded Shakespeare corpus for a wall-time budget,
measuring the loss on the held-out last 10% of the text every ``--eval-every`` seconds,
and writes ``benchmarks/results/char_lm.json``: the validation loss (nats/char), bits per
char and perplexity against wall time (evaluations included), the first time the loss
was <= 1.60 nats/char (the issue's target), samples at temperatures 0.5, 0.8 and 1.0, and
the machine's load average at each evaluation (the cores are shared). Training stops
30 s before the budget, so that the last evaluation ends within it. A budget under 30
minutes writes ``char_lm_smoke.json`` instead.

On a machine whose cores are busy with other work, ``OPENBLAS_NUM_THREADS=1`` in the
environment can be much faster than two BLAS threads that wait for each other at every
small product; the JSON records the setting.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np  # noqa: F401 - NumPy first, then visiongrad, as users import them

import visiongrad as vg
from visiongrad.data import load_text, split_text
from visiongrad.models.char_lm import CharRNN
from visiongrad.recipes.char_lm import fit

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"
TARGET = 1.60
TEMPERATURES = (0.5, 0.8, 1.0)
FINAL_EVALUATION_SECONDS = 30
"""Left of the budget for the last evaluation, so that it too ends within the budget."""
PRIME = "HAMLET.\n"


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-every", type=float, default=150.0, help="seconds")
    parser.add_argument("--sample-length", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    add_write_option(parser, "benchmarks/results/char_lm.json (char_lm_smoke.json for a "
                             "budget under 30 minutes)")
    args = parser.parse_args(argv)

    out = destination(args, RESULTS / ("char_lm.json" if args.minutes >= 30
                                       else "char_lm_smoke.json"))
    text = load_text()
    train_text, val_text = split_text(text)
    vg.manual_seed(args.seed)
    model = CharRNN(sorted(set(text)), embedding_dim=args.embedding, hidden_size=args.hidden,
                    num_layers=args.layers, cell=args.cell, dropout=args.dropout)
    result = {
        "command": "python -m benchmarks.char_lm " + " ".join(argv or []),
        "recipe": {**model.config(), "vocabulary_size": len(model.vocabulary),
                   "batch_size": args.batch_size, "seq_len": args.seq_len, "lr": args.lr,
                   "optimizer": "Adam, cosine decay to 5% over the budget, clip 5.0",
                   "training": "truncated BPTT over contiguous streams, state detached"},
        "corpus": {"train_chars": len(train_text), "val_chars": len(val_text)},
        "budget_minutes": args.minutes, "target_val_loss": TARGET,
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "cpus": os.cpu_count(),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
        "load_average_start": load(), "load_average": [],
    }
    del result["recipe"]["vocabulary"]

    def report(history: dict) -> None:
        result["load_average"].append(load())
        print(f"{history['eval_seconds'][-1]:7.0f} s  step {history['eval_step'][-1]:5d}  "
              f"train {history['eval_train_loss'][-1] or float('nan'):.3f}  "
              f"val {history['val_loss'][-1]:.3f} nats/char "
              f"({history['val_bits_per_char'][-1]:.3f} bits)  load {result['load_average'][-1]}",
              flush=True)
        result["history"] = {key: value for key, value in history.items()
                             if key != "train_loss"}
        save_json(out, result, show=False)

    started = time.perf_counter()
    history = fit(model, train_text, val_text,
                  seconds=max(args.minutes * 60 - FINAL_EVALUATION_SECONDS, 1),
                  batch_size=args.batch_size, seq_len=args.seq_len, lr=args.lr,
                  eval_every=args.eval_every, seed=args.seed, on_eval=report)
    reached = [(s, v) for s, v in zip(history["eval_seconds"], history["val_loss"], strict=True)
               if v <= TARGET]
    result.update({
        "wall_seconds": round(time.perf_counter() - started, 1),
        "steps": history["step"],
        "chars_per_second": round(history["step"] * args.batch_size * args.seq_len
                                  / history["seconds"]),
        "final": {"val_loss": history["val_loss"][-1],
                  "val_bits_per_char": history["val_bits_per_char"][-1],
                  "val_perplexity": history["val_perplexity"][-1],
                  "seconds": history["eval_seconds"][-1]},
        "first_at_target_seconds": reached[0][0] if reached else None,
        "train_loss_every_10_steps": [round(v, 4) for v in history["train_loss"][::10]],
        "samples": {str(t): model.sample(PRIME, args.sample_length, temperature=t,
                                         seed=args.seed) for t in TEMPERATURES},
        "load_average_end": load(),
    })
    save_json(out, result, show=False)
    print(f"final val loss {result['final']['val_loss']:.4f} nats/char at "
          f"{result['final']['seconds']:.0f} s; target {TARGET} first reached at "
          f"{result['first_at_target_seconds']} s; "
          + (f"wrote {out}" if out else "not written (--write stores it)"))
    print(result["samples"]["0.8"])
    return result


if __name__ == "__main__":
    main()
