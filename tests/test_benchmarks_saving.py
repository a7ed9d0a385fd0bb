"""The benchmarks write into the tree (benchmarks/results/, docs/images/) only when asked
with --write: run as benchmarks/README.md names them, they print and change no file."""

import argparse
import json
from pathlib import Path

import pytest

from benchmarks import saving

SCRIPTS = sorted(path for path in Path(saving.__file__).parent.glob("*.py")
                 if path.stem not in {"__init__", "readme", "saving", "fcn_errors"})


def test_destination_is_out_then_write_then_nothing(tmp_path):
    default = tmp_path / "default.json"
    assert saving.destination(argparse.Namespace(write=False), default) is None
    assert saving.destination(argparse.Namespace(write=True), default) == default
    given = argparse.Namespace(write=False, out=str(tmp_path / "mine.json"))
    assert saving.destination(given, default) == tmp_path / "mine.json"


def test_save_json_prints_unless_given_a_path(tmp_path, capsys):
    saving.save_json(None, {"ratio": 0.5})
    printed = capsys.readouterr().out
    assert json.loads(printed.split("(not written")[0]) == {"ratio": 0.5}
    assert not any(tmp_path.iterdir())
    saving.save_json(tmp_path / "deep" / "r.json", {"ratio": 0.5})
    assert json.loads((tmp_path / "deep" / "r.json").read_text()) == {"ratio": 0.5}
    assert f"results: {tmp_path / 'deep' / 'r.json'}" in capsys.readouterr().out


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_every_benchmark_that_writes_takes_write(script):
    text = script.read_text(encoding="utf-8")
    assert "add_write_option(" in text or '"--write"' in text, \
        f"{script.name} must write its results only with --write"


def test_ops_benchmark_writes_only_with_write(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from benchmarks import ops

    monkeypatch.setattr(ops, "RESULTS", tmp_path / "results")
    argv = ["--only", "relu", "--repeats", "1", "--warmup", "0"]
    ops.main(argv)
    assert not (tmp_path / "results").exists()
    assert "relu" in capsys.readouterr().out
    ops.main([*argv, "--write"])
    written = json.loads((tmp_path / "results" / "ops.json").read_text())
    assert {row["op"] for row in written["rows"]} == {"relu 128x32x28x28 (VGG)"}


def test_distill_keeps_one_entry_per_experiment(tmp_path):
    from benchmarks.distill import kept_experiments

    def experiment(hidden, label):
        return {"label": label, "command": {
            "dataset": "fashion-mnist", "teacher": "vgg_small", "teacher_epochs": 5,
            "student_hidden": hidden, "epochs": 15, "subset": None}}
    path = tmp_path / "distill.json"
    assert kept_experiments(None, experiment(50, "new")) == []
    assert kept_experiments(path, experiment(50, "new")) == []
    path.write_text(json.dumps({"experiments": [experiment(50, "old"),
                                                experiment(256, "other")]}))
    kept = kept_experiments(path, experiment(50, "new"))
    assert [entry["label"] for entry in kept] == ["other"]
