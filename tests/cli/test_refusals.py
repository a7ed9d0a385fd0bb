"""Every command refuses what it cannot do in one line (status 1, no traceback): option
values out of range on each subcommand, a checkpoint's stored options or normalisation out
of range, a full disk or read-only folder mid-run, output paths that cannot be, two runs
given the same --out at once, an unsafe weights file; and a run stopped early still
writes its metrics and report."""

import argparse
import contextlib
import errno
import io
import json
import multiprocessing
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from visiongrad.cli import build_parser, main
from visiongrad.cli.output import output_folder
from visiongrad.train import checkpoint as checkpoint_module
from visiongrad.train import load_checkpoint

HUGE = str(10**26)
CKPT = "missing.safetensors"  # never read: the option is refused first

OUT_OF_RANGE = [
    ["train", "--batch-size", "0"],
    ["train", "--epochs", HUGE],
    ["train", "--seed", "-1"],
    ["train", "--lr", "nan"],
    ["train", "--ensemble", HUGE],
    ["train", "--out", ""],
    ["train", "--out", "x" * 3000],
    ["evaluate", CKPT, "--out", ""],
    ["predict", CKPT, "--dataset", "fashion-mnist", "--limit", "0"],
    ["export", CKPT, "a" * 300 + ".safetensors"],
    ["report", "run", "--limit", HUGE],
    ["search", "--trials", HUGE],
    ["search", "--stages", "0"],
    ["search", "--lr-range", "0", "1"],
    ["summary", "lenet5", "--num-classes", HUGE],
    ["summary", "lenet5", "--input-shape", "1", HUGE, "28"],
    ["demo", "--seed", "-1"],
    ["caption", "train", "--scenes", HUGE],
    ["caption", "train", "--lr", "-1"],
    ["caption", "sample", CKPT, "test", "--limit", "0"],
    ["convert", "in.pth", ""],
    ["detect", "train", "--size", HUGE],
    ["detect", "evaluate", CKPT, "--scenes", "0"],
    ["detect", "predict", CKPT, "image.png", "--out", "o.png", "--min-score", "nan"],
    ["detect", "scene", "--index", HUGE, "--out", "s.png"],
    ["dream", "image.png", "--out", "o.png", "--octaves", HUGE],
    ["dream", "image.png", "--out", "o.png", "--size", HUGE],
    ["explain", CKPT, "image.png", "--patch", "0"],
    ["finetune", CKPT, "--epochs", HUGE],
    ["fool", CKPT, "image.png", "--target", "1", "--max-iter", HUGE],
    ["generate", "train", "--model", "vae", "--epochs", HUGE],
    ["generate", "sample", CKPT, "-n", HUGE],
    ["invert", "image.png", "--out", "o.png", "--size", HUGE],
    ["lm", "train", "--seq-len", HUGE],
    ["lm", "sample", CKPT, "--length", HUGE],
    ["segment", "train", "--batch-size", "0"],
    ["segment", "evaluate", CKPT, "--scenes", HUGE],
    ["segment", "predict", CKPT, "image.png", "--out", "o.png", "--min-score", "2"],
    ["segment", "scene", "--size", "0", "--out", "s.png"],
    ["style", "content.png", "style.png", "--out", "o.png", "--size", HUGE],
    ["texture", "style.png", "--out", "o.png", "--iterations", HUGE],
    ["quantize", "run", "--calibration", HUGE, "--out", "q"],
    ["quantize", "run", "--weights", "ternary", "--threshold", "1.5", "--out", "q"],
    ["quantize", "run", "--weights", "binary", "--epochs", HUGE, "--out", "q"],
    ["compress", "run", "--prune", "1.5", "--out", "c"],
    ["attack", "run", "--eps", "-0.1"],
    ["rl", "train", "--steps", HUGE],
    ["rl", "evaluate", "run", "--episodes", "0"],
    ["rl", "play", "run", "--gif", "g.gif", "--max-steps", "0"],
]


def leaf_commands(parser, prefix=()) -> list[tuple]:
    """Every command line's leading words that run something ("train", "lm sample")."""
    leaves = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                leaves += leaf_commands(sub, (*prefix, name)) or [(*prefix, name)]
    return leaves


def test_every_subcommand_has_an_out_of_range_case():
    tried = {tuple(argv[:2]) for argv in OUT_OF_RANGE} | {(argv[0],) for argv in OUT_OF_RANGE}
    assert [leaf for leaf in leaf_commands(build_parser()) if leaf not in tried] == []


@pytest.mark.parametrize("argv", OUT_OF_RANGE, ids=lambda argv: " ".join(argv)[:60])
def test_out_of_range_values_are_one_line_errors(argv, tmp_path, monkeypatch, user_error):
    monkeypatch.chdir(tmp_path)
    user_error(argv)
    assert os.listdir(tmp_path) == []  # refused before anything was written


# ------------------------------------------------------- options read back from a file


def rewrite_config(path, change) -> None:
    """Apply ``change(config)`` to the config stored in a checkpoint's header, in place."""
    with safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata()
    header = json.loads(metadata["visiongrad"])
    change(header["config"])
    save_file(load_file(str(path)), str(path),
              metadata={**metadata, "visiongrad": json.dumps(header)})


def copy_run(trained, tmp_path):
    out, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return copy


@pytest.mark.parametrize("key, value, shown", [
    ("batch_size", 0, "batch_size must be an integer from 1"),
    ("seed", -1, "seed must be an integer from 0"),
    ("lr", "fast", "lr must be a positive number, got 'fast'"),
    ("weight_decay", None, "weight_decay must be a non-negative number, got None"),
    ("epochs", "3", "epochs must be an integer from 1"),
])
def test_resume_refuses_stored_options_out_of_range(key, value, shown, trained, tmp_path,
                                                    user_error):
    run = copy_run(trained, tmp_path)
    rewrite_config(run / "checkpoint.safetensors",
                   lambda config: config["options"].__setitem__(key, value))
    before = (run / "checkpoint.safetensors").read_bytes()
    user_error(["train", "--resume", str(run)], "cannot resume from", shown)
    assert (run / "checkpoint.safetensors").read_bytes() == before


@pytest.mark.parametrize("change, shown", [
    (lambda normalize: normalize.__setitem__("mean", [0.1, 0.2]),
     "normalisation mean must be 1 finite numbers"),
    (lambda normalize: normalize.__setitem__("std", [0.0]),
     "normalisation std must be positive"),
    (lambda normalize: normalize.__setitem__("std", ["x"]),
     "normalisation std must be 1 finite numbers"),
    (lambda normalize: normalize.__setitem__("scale", -1), "normalisation scale"),
])
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_checkpoint_whose_normalisation_does_not_fit_is_refused(
        command, change, shown, trained, tiny_fashion, tmp_path, user_error):
    run = copy_run(trained, tmp_path)
    rewrite_config(run / "checkpoint.safetensors", lambda config: change(config["normalize"]))
    extra = ["--limit", "2"] if command == "predict" else []
    user_error([command, str(run / "checkpoint.safetensors"), "--dataset", "fashion-mnist",
                "--data-dir", str(tiny_fashion), *extra], str(run), shown)


def test_a_config_file_with_a_5000_digit_integer_is_one_line(tmp_path, user_error):
    config = tmp_path / "config.json"
    config.write_text('{"epochs": ' + "9" * 5000 + "}")
    user_error(["train", "--config", str(config), "--out", str(tmp_path / "run")],
               f"config {config} is not valid JSON")
    config.write_text('{"epochs": ' + "9" * 4000 + "}")  # converts, then is out of range
    user_error(["train", "--config", str(config), "--out", str(tmp_path / "run")],
               "--epochs: must be a positive integer")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ while writing


def failing_writes(monkeypatch, code: int, after: int = 0) -> None:
    """Checkpoint writes fail with ``code`` (ENOSPC, EROFS) after ``after`` good ones."""
    write = checkpoint_module.atomic_write_bytes
    calls = []

    def full(path, data):
        calls.append(path)
        if len(calls) > after:
            raise OSError(code, os.strerror(code), str(path))
        write(path, data)

    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes", full)


def train_options(data_dir) -> list[str]:
    return ["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
            str(data_dir), "--batch-size", "16"]


def fails_in_one_line(capsys, argv, *fragments) -> str:
    """``main(argv)`` exits 1 with a ``visiongrad: error:`` line holding every fragment
    last on stderr (after the progress bars of the epochs run), no traceback."""
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("visiongrad: error: ") and "Traceback" not in err, err
    assert err.count("visiongrad: error:") == 1
    for fragment in fragments:
        assert fragment in line
    return line


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_mid_training_is_one_line_and_keeps_the_checkpoint(
        code, tiny_fashion, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    failing_writes(monkeypatch, code, after=1)
    line = fails_in_one_line(capsys, [*train_options(tiny_fashion), "--epochs", "2", "--out",
                                      str(out)], os.strerror(code), "checkpoint.safetensors")
    assert "Errno" not in line
    assert load_checkpoint(out / "checkpoint.safetensors")["state"]["epoch"] == 1

    monkeypatch.undo()
    failing_writes(monkeypatch, code)
    before = (out / "checkpoint.safetensors").read_bytes()
    fails_in_one_line(capsys, ["train", "--resume", str(out), "--epochs", "3"],
                      os.strerror(code))
    assert (out / "checkpoint.safetensors").read_bytes() == before


def test_a_run_stopped_in_its_first_epoch_writes_its_metrics_and_report(
        tiny_fashion, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*train_options(tiny_fashion), "--batch-size", "4", "--lr", "1000",
                 "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "training stopped early" in printed and "no accuracy.png: history has" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stop_reason"].startswith("stopped at epoch 1")
    assert metrics["epochs"] == 0 and metrics["history"]["val_accuracy"] == []
    assert "stopped early" in (out / "report.html").read_text()
    assert (out / "loss.png").is_file() and not (out / "accuracy.png").exists()


# ------------------------------------------------------------------ output folders


def _claim(barrier, base, results) -> None:
    barrier.wait()
    with contextlib.redirect_stdout(io.StringIO()):
        results.put(str(output_folder(base, fresh=True)))


def test_runs_started_at_the_same_instant_with_one_out_get_their_own_folders(tmp_path):
    """Four processes released together, twenty times: before, 3 of 20 rounds shared."""
    context = multiprocessing.get_context("fork")
    for round_ in range(20):
        base, barrier, results = str(tmp_path / f"run{round_}"), context.Barrier(4), \
            context.Queue()
        workers = [context.Process(target=_claim, args=(barrier, base, results))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        folders = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join()
        assert len(set(folders)) == 4, folders
        assert all(os.path.isfile(os.path.join(folder, ".visiongrad-output"))
                   for folder in folders)


def test_an_empty_out_is_refused_and_writes_nothing(tmp_path, monkeypatch, user_error):
    monkeypatch.chdir(tmp_path)
    user_error(["demo", "--quick", "--out", ""], "--out", "non-empty")
    with pytest.raises(Exception, match="must have a name"):
        output_folder("")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ unsafe weights


def test_texture_with_an_unsafe_weights_file_is_one_line(tmp_path, user_error):
    evil = tmp_path / "evil.pth"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(io.BytesIO, protocol=2))
    style = tmp_path / "style.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(style)
    user_error(["texture", str(style), "--network", "vgg16", "--weights", str(evil),
                "--out", str(tmp_path / "t.png")], "refusing to load global")
    assert not (tmp_path / "t.png").exists()
