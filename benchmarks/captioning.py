"""Captioning on composed Fashion-MNIST scenes: BLEU-1..4 on held-out scenes with the LSTM
and with soft attention, the share of attention on the item each word names, and a figure
of attention maps.

    python -m benchmarks.captioning [--scenes 5000] [--epochs 10]

Writes benchmarks/results/captioning.json and benchmarks/results/captioning_attention.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from visiongrad.train.captioning import CaptionConfig, draw_attention, make_scenes, run

RESULTS = Path(__file__).parent / "results"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=5000)
    parser.add_argument("--encoder-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args(argv)
    base = CaptionConfig(scenes=args.scenes, encoder_epochs=args.encoder_epochs,
                         epochs=args.epochs, batch_size=args.batch_size,
                         hidden_dim=args.hidden)
    results = {"command": " ".join(["python -m benchmarks.captioning", *(argv or sys.argv[1:])])}
    RESULTS.mkdir(exist_ok=True)
    for name, config in (("lstm", base), ("lstm_attention", replace(base, attention=True))):
        with tempfile.TemporaryDirectory() as folder:
            metrics = run(config, Path(folder), log=lambda line, n=name: print(f"[{n}] {line}",
                                                                              flush=True))
            if config.attention:
                from visiongrad.train.captioning import load_pipeline
                pipeline = load_pipeline(Path(folder) / "checkpoint.safetensors")
                test = make_scenes(replace(config, scenes=0, val_scenes=0))["test"]
                images = test.images[:5]
                captions, weights = pipeline.caption(images)
                draw_attention(images, captions, weights, RESULTS / "captioning_attention.png")
        results[name] = metrics
        print(name, {key: round(value, 2) for key, value in metrics["test"].items()
                     if key.startswith("bleu")}, metrics.get("seconds"), flush=True)
        (RESULTS / "captioning.json").write_text(json.dumps(results, indent=1) + "\n",
                                                 encoding="utf-8")


if __name__ == "__main__":
    main()
