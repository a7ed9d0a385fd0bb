"""Captioning on composed Fashion-MNIST scenes: BLEU-1..4 on held-out scenes with the LSTM
and with soft attention, the share of attention on the item each word names, and a figure
of attention maps.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.captioning

Both captioners read the same encoder (trained once, in the LSTM run, then frozen).
One BLAS thread: the recurrence's matrices are small, and on a shared machine OpenBLAS's
threads spend their time waiting on each other.

Writes benchmarks/results/captioning.json and benchmarks/results/captioning_attention.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from visiongrad.data.scenes import MAX_CAPTION_WORDS
from visiongrad.recipes.caption import (
    Config as CaptionConfig,
)
from visiongrad.recipes.caption import (
    draw_attention,
    load_pipeline,
    make_scenes,
    run,
)

from .saving import add_write_option, destination, save_json

RESULTS = Path(__file__).parent / "results"
FIGURE_SCENES = 5


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=5000)
    parser.add_argument("--encoder-epochs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the plain LSTM")
    parser.add_argument("--attention-epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=128)
    add_write_option(parser, "benchmarks/results/captioning.json and "
                             "captioning_attention.png")
    args = parser.parse_args(argv)
    base = CaptionConfig(scenes=args.scenes, encoder_epochs=args.encoder_epochs,
                         epochs=args.epochs, batch_size=args.batch_size,
                         hidden_dim=args.hidden)
    command = " ".join(["python -m benchmarks.captioning", *(sys.argv[1:] if argv is None
                                                             else argv)])
    results = {"command": command}
    encoder = None
    runs = (("lstm", base), ("lstm_attention", replace(base, attention=True,
                                                       epochs=args.attention_epochs)))
    for name, config in runs:
        with tempfile.TemporaryDirectory() as folder:
            metrics = run(config, Path(folder), command=command, encoder=encoder,
                          log=lambda line, n=name: print(f"[{n}] {line}", flush=True))
            pipeline = load_pipeline(Path(folder) / "checkpoint.safetensors")
        encoder = pipeline.encoder
        if config.attention:
            test = make_scenes(replace(config, scenes=0, val_scenes=0))["test"]
            images = test.images[:FIGURE_SCENES]
            captions, weights = pipeline.caption(images)
            if args.write:
                RESULTS.mkdir(exist_ok=True)
                draw_attention(images, captions, weights, RESULTS / "captioning_attention.png",
                               columns=MAX_CAPTION_WORDS - 1)
        results[name] = metrics
        print(name, {key: round(value, 2) for key, value in metrics["test"].items()
                     if key.startswith("bleu")}, metrics["test"].get("attention"),
              metrics["seconds"], flush=True)
        save_json(destination(args, RESULTS / "captioning.json"), results,
                  show=name == runs[-1][0])


if __name__ == "__main__":
    main()
