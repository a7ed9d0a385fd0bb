"""``visiongrad lm``: train a character-level language model on a text, and sample from it.

``visiongrad lm train [--text FILE] [--minutes M | --steps S] --out RUN_DIR`` trains
``models.char_lm.CharRNN`` (default: the embedded Shakespeare plays; the last 10% of the
text is held out) and writes into RUN_DIR ``checkpoint.safetensors`` (atomic, rewritten at
every evaluation; the model's options and vocabulary are in its header metadata),
``metrics.json`` (per evaluation: train and validation loss in nats/char, bits per char,
perplexity, time and step), ``loss_vs_time.png``, ``curves.png`` (per evaluation) and
``report.html``. ``--resume RUN_DIR`` trains an
existing run for another budget. ``visiongrad lm sample CHECKPOINT --prime TEXT`` prints
the prime and the characters the model draws after it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import CommandError, check_choice, user_errors
from .options import (
    _number,
    batch_size,
    count,
    int_between,
    iterations,
    output_path,
    positive_float,
    seed,
)

probability = _number(float, lambda v: 0 <= v < 1, "a probability in [0, 1)")

CHECKPOINT_NAME = "checkpoint.safetensors"
KIND = "char_lm"
TEXT_ERRORS = (FileNotFoundError, IsADirectoryError, PermissionError, ValueError)


def register(commands) -> None:
    from visiongrad.models.char_lm import CELLS

    parser = commands.add_parser("lm", help="character-level language model: train, sample")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=type(parser))
    train = actions.add_parser("train", help="train on a UTF-8 text (default: Shakespeare)")
    train.add_argument("--text", default=None, metavar="FILE",
                       help="UTF-8 text file (default: the embedded Shakespeare corpus)")
    train.add_argument("--cell", default="lstm", help=", ".join(CELLS))
    train.add_argument("--embedding", type=count, default=64, help="embedding size")
    train.add_argument("--hidden", type=count, default=256, help="hidden size")
    train.add_argument("--layers", type=int_between(1, 100), default=2, help="recurrent layers")
    train.add_argument("--dropout", type=probability, default=0.1,
                       help="dropout between recurrent layers")
    train.add_argument("--seq-len", type=count, default=100,
                       help="characters per chunk (backpropagation through time)")
    train.add_argument("--batch-size", type=batch_size, default=64,
                       help="contiguous streams read side by side")
    train.add_argument("--lr", type=positive_float, default=3e-3, help="Adam's learning rate")
    train.add_argument("--clip", type=positive_float, default=5.0,
                       help="gradient clipping: largest global norm")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=positive_float, default=None,
                        help="wall-time budget, the final validation pass included "
                             "(default: 30)")
    budget.add_argument("--steps", type=iterations, default=None, help="update budget")
    train.add_argument("--eval-every", type=positive_float, default=150.0,
                       help="seconds between validation measurements")
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--resume", default=None, metavar="RUN_DIR",
                       help="train this run for another budget (a new cosine cycle), with "
                            "its own model and text")
    train.set_defaults(run=run_train, out="visiongrad-lm")
    train.add_argument("--out", type=output_path, help="output folder (default: visiongrad-lm)")

    sample = actions.add_parser("sample", help="draw text from a trained model")
    sample.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="a checkpoint of lm train, or its run folder")
    sample.add_argument("--prime", default="\n", help="text the sample starts from")
    sample.add_argument("--length", type=int_between(0, 1_000_000), default=500,
                        help="characters to draw after the prime")
    sample.add_argument("--temperature", type=positive_float, default=0.8,
                        help="softmax temperature: low is conservative, 1 is the model's own")
    sample.add_argument("--top-k", type=count, default=None,
                        help="draw only among the k most likely characters")
    sample.add_argument("--seed", type=seed, default=None)
    sample.set_defaults(run=run_sample)


def load_language_model(path: str):
    """(model, checkpoint contents) of an ``lm train`` checkpoint or run folder; a user
    error for anything else."""
    from visiongrad.recipes.char_lm import load_char_rnn
    from visiongrad.train.checkpoint import load_checkpoint

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    with user_errors(FileNotFoundError, ValueError, context=""):
        contents = load_checkpoint(path)
    config = contents.get("config")
    if not isinstance(config, dict) or config.get("kind") != KIND \
            or not isinstance(config.get("model"), dict):
        raise CommandError(f"{path} is not a language model checkpoint (written by "
                           f"visiongrad lm train)")
    with user_errors(ValueError, TypeError, KeyError, context=f"{path}: "):
        model = load_char_rnn(config["model"], contents["model"])
    return model, contents


def _plot(history: dict, path: Path) -> None:
    from visiongrad.train.plots import _new_figure, _save

    figure, axes = _new_figure()
    minutes = [s / 60 for s in history["eval_seconds"]]
    trained = [(m, v) for m, v in zip(minutes, history["eval_train_loss"], strict=True)
               if v is not None]
    if trained:
        axes.plot(*zip(*trained, strict=True), marker="o", label="training (mean since last)")
    axes.plot(minutes, history["val_loss"], marker="o", label="validation (last 10%)")
    axes.set_xlabel("wall time (minutes)")
    axes.set_ylabel("loss (nats per character)")
    axes.set_title("Character-level language model: loss against time")
    axes.grid(alpha=0.3)
    axes.legend()
    _save(figure, path)


def _metrics(history: dict) -> dict:
    keys = ("eval_step", "eval_seconds", "eval_train_loss", "val_loss", "val_bits_per_char",
            "val_perplexity")
    names = ("step", "seconds", "train_loss", "val_loss", "val_bits_per_char",
             "val_perplexity")
    final = {name: history[key][-1] for key, name in zip(keys, names, strict=True)}
    return {"units": "loss in nats per character; bits per char = loss / ln 2; "
                     "perplexity = exp(loss)",
            "steps": history["step"], "seconds": round(history["seconds"], 2),
            "evaluations": {name: history[key] for key, name in zip(keys, names, strict=True)},
            "final": final}


def run_train(args: argparse.Namespace) -> None:
    import visiongrad as vg
    from visiongrad import optim
    from visiongrad.data import CharVocabulary, load_text, split_text
    from visiongrad.models.char_lm import CELLS, CharRNN
    from visiongrad.recipes.char_lm import Config, run, stream_length
    from visiongrad.train.checkpoint import save_checkpoint
    from visiongrad.train.run_report import CURVES_NAME, write_run_record

    from .output import output_folder, write_json

    history, commands = None, []
    if args.resume is not None:
        model, contents = load_language_model(args.resume)
        options = {**contents["config"]["options"], "resume": args.resume}
        for name in ("minutes", "steps", "eval_every"):
            if getattr(args, name) is not None:
                options[name] = getattr(args, name)
        if args.minutes is not None:
            options["steps"] = None
        elif args.steps is not None:
            options["minutes"] = None
        args = argparse.Namespace(**{**vars(args), **options})
        folder = Path(args.resume)
        folder = folder if folder.is_dir() else folder.parent
        history, commands = contents["history"], contents["config"].get("commands", [])
    else:
        check_choice("cell", args.cell, tuple(CELLS))
    with user_errors(*TEXT_ERRORS, context=""):
        text = load_text(args.text)
        train_text, val_text = split_text(text)
        stream_length(len(train_text), args.batch_size, args.seq_len)
    if args.resume is None:
        vg.manual_seed(args.seed)
        with user_errors(ValueError):
            model = CharRNN(CharVocabulary.from_text(text), embedding_dim=args.embedding,
                            hidden_size=args.hidden, num_layers=args.layers, cell=args.cell,
                            dropout=args.dropout)
        folder = output_folder(args.out, fresh=True)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    if args.resume is not None:
        with user_errors(ValueError, KeyError, TypeError, context=f"{args.resume}: "):
            optimizer.load_state_dict(contents["optimizer"])
    if args.steps is None and args.minutes is None:
        args.minutes = 30.0
    options = {name: getattr(args, name) for name in (
        "text", "embedding", "hidden", "layers", "cell", "dropout", "seq_len", "batch_size",
        "lr", "clip", "minutes", "steps", "eval_every", "seed")}
    config = {"kind": KIND, "model": model.config(), "options": options,
              "commands": [*commands, args.command_line]}

    def save(history: dict) -> None:
        save_checkpoint(folder / CHECKPOINT_NAME, model, optimizer, history=history,
                        config=config)
        write_json(folder / "metrics.json", _metrics(history))
        _plot(history, folder / "loss_vs_time.png")
        write_run_record(folder, title=f"character-level {args.cell} language model",
                         curves={name: history[key] for key, name in (
                             ("eval_train_loss", "training loss (nats/char)"),
                             ("val_loss", "validation loss (nats/char)"),
                             ("val_bits_per_char", "validation bits per char"),
                             ("val_perplexity", "validation perplexity"))},
                         x=history["eval_step"], x_label="step",
                         summary=_metrics(history)["final"], config=options,
                         commands=config["commands"],
                         figures=[("Loss against time", "loss_vs_time.png")])
        print(f"{history['eval_seconds'][-1]:7.0f} s  step {history['eval_step'][-1]}  "
              f"val loss {history['val_loss'][-1]:.4f} nats/char  "
              f"{history['val_bits_per_char'][-1]:.4f} bits/char  "
              f"perplexity {history['val_perplexity'][-1]:.2f}", flush=True)

    with user_errors(ValueError, context=""):
        recipe = Config(cell=args.cell, embedding_dim=args.embedding, hidden_size=args.hidden,
                        num_layers=args.layers, dropout=args.dropout, seq_len=args.seq_len,
                        batch_size=args.batch_size, lr=args.lr, clip=args.clip,
                        steps=args.steps,
                        seconds=None if args.minutes is None else args.minutes * 60,
                        eval_every=args.eval_every, seed=args.seed)
        run(recipe, train_text, val_text, model=model, optimizer=optimizer, history=history,
            on_eval=save, log=print)
    print(f"wrote {folder / CHECKPOINT_NAME}, metrics.json and loss_vs_time.png")
    print(f"curves: {folder / CURVES_NAME}\nreport: {folder / 'report.html'}")


def run_sample(args: argparse.Namespace) -> None:
    model, _ = load_language_model(args.checkpoint)
    with user_errors(ValueError, context=""):
        text = model.sample(args.prime, args.length, temperature=args.temperature,
                            seed=args.seed, top_k=args.top_k)
    print(text)
