"""Habits of the command line (issue 29): options that do what they say, ``--help``
defaults, messages and outputs a new user meets."""

import argparse
import ast
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import torch_or_skip
from PIL import Image

from visiongrad.cli import build_parser, main


def test_segment_predict_has_no_min_score(tmp_path, user_error):
    """A segmenter's label map has no scores: ``--min-score`` is refused, not ignored."""
    user_error(["segment", "predict", str(tmp_path / "c.safetensors"), str(tmp_path / "i.png"),
                "--out", str(tmp_path / "o.png"), "--min-score", "0.9"],
               "unrecognized arguments: --min-score")


def _parsers(parser):
    """``parser`` and every subparser under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def test_help_shows_every_default_once():
    """Each option with a default (not None, not False, not suppressed) names it exactly
    once in ``--help``, as the README promises."""
    wrong = []
    for parser in _parsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if (not action.option_strings or action.default is None or action.default is False
                    or argparse.SUPPRESS in (action.default, action.help)):
                continue
            shown = " ".join(formatter._format_action(action).split())
            if shown.count("(default") != 1:
                wrong.append(f"{parser.prog}: {shown!r}")
    assert not wrong, "\n".join(wrong)


def _benchmark_descriptions():
    """(script, its ``--help`` description) of every benchmark, computed as the script
    computes it from its docstring, without importing it (its references may be absent)."""
    for path in sorted((Path(__file__).parents[2] / "benchmarks").glob("*.py")):
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree, clean=False)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "ArgumentParser":
                for keyword in node.keywords:
                    if keyword.arg == "description":
                        expression = compile(ast.Expression(keyword.value), str(path), "eval")
                        yield path.name, eval(expression, {"__doc__": doc})  # noqa: S307


def test_benchmark_descriptions_are_whole_sentences():
    described = dict(_benchmark_descriptions())
    assert len(described) >= 20
    cut = {name: text[-50:] for name, text in described.items()
           if not text.rstrip().endswith((".", "?", "!"))}
    assert not cut, cut


@pytest.mark.parametrize("argv, hint", [
    (["train", "--model", "VGG_small"], "did you mean 'vgg_small'?"),
    (["train", "--model", "vgg_smal"], "did you mean 'vgg_small'?"),
    (["train", "--optimizer", "Adam"], "did you mean 'adam'?"),
    (["summary", "LeNet5"], "did you mean 'lenet5'?"),
])
def test_unknown_names_suggest_the_close_one(tmp_path, user_error, argv, hint):
    user_error([*argv, "--out", str(tmp_path / "run")] if argv[0] == "train" else argv,
               "unknown", hint)
    assert not (tmp_path / "run").exists()


def test_far_names_suggest_nothing(user_error):
    assert "did you mean" not in user_error(["summary", "zzz"], "unknown model 'zzz'")


def test_counts_agree_with_their_nouns(tiny_fashion, tmp_path, capsys):
    """"1 epoch", not "1 epochs" or "1 epoch(s)"."""
    assert main(["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "for 1 epoch in all" in out and "epoch(s)" not in out


def test_a_missing_dataset_says_how_to_pass_its_folder(tmp_path, user_error, monkeypatch):
    monkeypatch.delenv("VISIONGRAD_DATA", raising=False)
    line = user_error(["train", "--dataset", "cifar10", "--out", str(tmp_path / "run")],
                      "cifar10 (train split) not found", "--data-dir", "To get it: extract")
    assert "nowhere" not in line and "data_dir=" not in line


@pytest.mark.parametrize("model, command", [("ssd", "visiongrad detect"),
                                            ("fcn", "visiongrad segment")])
def test_predict_on_a_scenes_checkpoint_names_its_command(tmp_path, user_error, model,
                                                          command):
    from visiongrad.recipes import detect

    config = detect.Config(model=model, size=32)
    path = detect.save(detect.build_model(config), config, tmp_path / "checkpoint.safetensors")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "x.png")
    user_error(["predict", str(path), str(tmp_path / "x.png")],
               f"was written by '{command}', not by 'visiongrad train'")


def test_the_wrong_model_names_the_checkpoints_own_and_few_keys(trained, user_error):
    line = user_error(["evaluate", trained[1], "--model", "vgg_small"],
                      "holds a two_layer model and does not fit a vgg_small model",
                      "missing keys: 0.weight, 1.running_mean, 1.running_var, "
                      "1.num_batches_tracked and 21 more;")
    assert "15.weight" not in line  # the 25 missing keys are not all listed


def test_evaluate_on_the_validation_split_says_where_its_accuracy_is(trained, user_error):
    user_error(["evaluate", trained[1], "--split", "val"], "--split must be train or test",
               "random part of the train split", "metrics.json (best_val_accuracy")


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield 0o640
    os.umask(previous)


@pytest.mark.parametrize("name", ["w.safetensors", "w.onnx"])
def test_export_keeps_what_exists_and_writes_the_usual_mode(trained, tmp_path, user_error,
                                                            umask_027, name):
    out = tmp_path / name
    assert main(["export", trained[1], str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == umask_027  # 0o666 less the umask
    out.write_bytes(b"mine")
    user_error(["export", trained[1], str(out)], f"{out} exists; pass --force to replace it")
    assert out.read_bytes() == b"mine"
    assert main(["export", trained[1], str(out), "--force"]) == 0
    assert out.read_bytes() != b"mine"


def test_convert_writes_the_usual_mode(tmp_path, umask_027):
    torch = torch_or_skip()
    source, out = tmp_path / "w.pth", tmp_path / "w.safetensors"
    torch.save({"weight": torch.zeros(2, 3)}, source)
    assert main(["convert", str(source), str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == umask_027


@pytest.mark.parametrize("command", [["dream"], ["texture"], ["explain", "run"],
                                     ["fool", "run", "--target", "0"]])
def test_picture_commands_refuse_a_suffix_they_do_not_write(tmp_path, user_error, command):
    """They write PNG: ``--out d.jpg`` would be PNG bytes under a JPEG name."""
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    user_error([*command, str(tmp_path / "x.png"), "--out", str(tmp_path / "d.jpg")],
               "--out must name a .png file", "d.jpg")
    assert not (tmp_path / "d.jpg").exists()


def test_default_outputs_are_ignored_by_git():
    """A command run from the repository root with its default ``--out`` leaves nothing
    for ``git status`` to show (run folders also as their ``-2`` twins)."""
    root = Path(__file__).parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    paths = []
    for parser in _parsers(build_parser()):
        default = parser.get_default("out")
        if isinstance(default, str):
            paths += ([default] if default.endswith(".png")
                      else [f"{default}/metrics.json", f"{default}-2/metrics.json"])
    assert len(paths) >= 15
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=root,
                             capture_output=True, text=True).stdout.split()
    assert sorted(set(paths) - set(ignored)) == []


def test_distributed_without_mpiexec_and_tensorboard_say_what_they_do(tiny_fashion, tmp_path,
                                                                      capsys):
    pytest.importorskip("mpi4py")
    pytest.importorskip("tensorboardX")
    assert main(["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--epochs", "1", "--distributed", "--tensorboard", "--out",
                 str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "--distributed in a single process (not started by mpiexec)" in out
    assert "mpiexec -n K visiongrad train" in out
    assert "pip install tensorboard, then tensorboard --logdir" in out
