"""Every long command reports its progress in one format (visiongrad.train.progress): what
it is doing, how far of a total ("epoch 1/2", "stage 1/2, trial 1/2", "model 1/2",
"step 5/5"), and the whole run's elapsed time and what is left of it. Tiny runs, as a user
would start them, in a temporary folder."""

from __future__ import annotations

import re

import pytest

from visiongrad.cli import main

TIMING = r"\[\d[^\]]* elapsed, about \d[^\]]* left\]$"  # the bracket of a line before the end
DONE = r"\[\d[^\]]* in all\]$"  # the bracket of the last line


def lines_of(text: str, pattern: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(pattern, line)]


def assert_progress(text: str, first: str, last: str) -> None:
    """A line ``first`` with an estimate of what is left, and a last line ``last`` saying
    how long the whole run took."""
    assert lines_of(text, f"^{first}.*{TIMING}"), text
    assert lines_of(text, f"^{last}.*{DONE}"), text


def test_train_shows_the_whole_runs_eta(tiny_fashion, tmp_path, capsys):
    assert main(["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--epochs", "2", "--batch-size", "16",
                 "--out", str(tmp_path / "run")]) == 0
    assert_progress(capsys.readouterr().out, "epoch 1/2: loss", "epoch 2/2: loss")


@pytest.mark.parametrize("method, first, last", [
    ("random", r"stage 1/2, trial 1/2: lr \d", r"stage 2/2, trial 2/2: lr \d"),
    ("halving", r"stage 1/2, trial 1/3: lr \d", r"stage 2/2, trial 1/1: lr \d.*3 epochs")])
def test_search_says_which_trial_of_which_stage(tiny_fashion, tmp_path, capsys, method,
                                                first, last):
    assert main(["search", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--method", method, "--trials", "3" if method == "halving"
                 else "2", "--stages", "2", "--epochs", "1", "--batch-size", "20",
                 "--out", str(tmp_path / "search")]) == 0
    out = capsys.readouterr().out
    assert lines_of(out, f"^{first}.*" + r"\[\d[^\]]* elapsed\]$"), out  # no estimate yet
    assert lines_of(out, f"^{last}.*{TIMING}"), out


def test_summary_all_reports_each_model_on_stderr(monkeypatch, capsys):
    from visiongrad import models

    monkeypatch.setattr(models, "ZOO", {name: models.ZOO[name] for name in ("resnet20",
                                                                             "resnet32")})
    assert main(["summary", "--all"]) == 0
    captured = capsys.readouterr()
    assert lines_of(captured.err, r"^measuring model 1/2: resnet20 \[[^\]]* elapsed\]$")
    assert lines_of(captured.err, rf"^measuring model 2/2: resnet32 {TIMING}")
    assert "measuring" not in captured.out and "resnet32" in captured.out  # the table alone


def test_lm_train_shows_steps_of_the_budget(tmp_path, capsys):
    text = tmp_path / "play.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 60, encoding="utf-8")
    assert main(["lm", "train", "--text", str(text), "--steps", "5", "--hidden", "16",
                 "--embedding", "8", "--seq-len", "16", "--batch-size", "4",
                 "--out", str(tmp_path / "lm")]) == 0
    assert_progress(capsys.readouterr().out, r"step 1/5: loss \d", r"step 5/5: loss \d")


def test_rl_train_shows_steps_done_of_all(tmp_path, capsys):
    pytest.importorskip("gymnasium", reason="the rl extra is not installed")
    assert main(["rl", "train", "--env", "CartPole-v1", "--algo", "dqn", "--steps", "300",
                 "--set", "learning_starts=100", "--set", "hidden=[16]",
                 "--out", str(tmp_path / "rl")]) == 0
    assert_progress(capsys.readouterr().out, r"dqn CartPole-v1: step \d+/300",
                    r"dqn CartPole-v1: step 300/300")


def test_compress_reports_each_retraining_epoch(trained, tmp_path, capsys):
    assert main(["compress", str(trained[0]), "--prune", "0.8", "--prune-steps", "2",
                 "--retrain-epochs", "1", "--out", str(tmp_path / "small")]) == 0
    assert_progress(capsys.readouterr().out,
                    r"pruning step 1/2 \(sparsity 0\.\d+\): retraining epoch 1/1",
                    "weight sharing: retraining epoch 1/1")


SCENES = ["--scenes", "4", "--test-scenes", "2", "--size", "32", "--batch-size", "4",
          "--epochs", "2"]


def test_detect_train_shows_the_whole_runs_eta(tmp_path, capsys):
    assert main(["detect", "train", "--model", "ssd", *SCENES,
                 "--out", str(tmp_path / "ssd")]) == 0
    assert_progress(capsys.readouterr().out, "epoch 1/2: loss", "epoch 2/2: loss")


def test_segment_train_shows_pretraining_and_training(tmp_path, capsys):
    assert main(["segment", "train", *SCENES, "--pretrain", "8", "--pretrain-epochs", "2",
                 "--out", str(tmp_path / "fcn")]) == 0
    out = capsys.readouterr().out
    assert_progress(out, "pretraining epoch 1/2: loss", "pretraining epoch 2/2: loss")
    assert_progress(out, "epoch 1/2: loss", "epoch 2/2: loss")


def test_caption_train_shows_both_stages(tmp_path, capsys):
    assert main(["caption", "train", "--scenes", "30", "--val-scenes", "4", "--test-scenes",
                 "4", "--encoder-epochs", "2", "--epochs", "2", "--hidden", "12", "--wordvec",
                 "8", "--batch-size", "15", "--out", str(tmp_path / "captions")]) == 0
    out = capsys.readouterr().out
    assert_progress(out, "encoder epoch 1/2: coverage loss", "encoder epoch 2/2: coverage loss")
    assert_progress(out, "captioner epoch 1/2: loss", "captioner epoch 2/2: loss")


def test_generate_train_shows_the_whole_runs_eta(tmp_path, capsys):
    assert main(["generate", "train", "--model", "vae", "--train-images", "128",
                 "--test-images", "20", "--latent-dim", "2", "--batch-size", "64",
                 "--samples", "4", "--epochs", "2", "--out", str(tmp_path / "vae")]) == 0
    assert_progress(capsys.readouterr().out, "epoch 1/2: ", "epoch 2/2: ")


def test_finetune_shows_the_whole_runs_eta(trained, tmp_path, capsys):
    assert main(["finetune", str(trained[0]), "--dataset", "digits", "--labels-per-class", "3",
                 "--epochs", "2", "--batch-size", "8", "--out", str(tmp_path / "tuned")]) == 0
    assert_progress(capsys.readouterr().out, "epoch 1/2: loss", "epoch 2/2: loss")


def test_attack_reports_each_pass_over_the_images(trained, tiny_fashion, tmp_path, capsys):
    assert main(["attack", str(trained[0]), "--method", "pgd", "--steps", "2", "--images", "20",
                 "--epsilons", "0", "0.1", "--data-dir", str(tiny_fashion),
                 "--out", str(tmp_path / "attack")]) == 0
    out = capsys.readouterr().out
    assert_progress(out, r"pgd at eps 0\.1: accuracy \d", r"accuracy curve 2/2: eps 0\.1, ")
    assert lines_of(out, rf"^accuracy curve 1/2: eps 0, accuracy \d.*{TIMING}")


def test_an_ensemble_says_which_member_is_training(tiny_fashion, tmp_path, capsys):
    assert main(["train", "--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--epochs", "1", "--batch-size", "16", "--seed", "3",
                 "--ensemble", "2", "--out", str(tmp_path / "ensemble")]) == 0
    out = capsys.readouterr().out
    assert lines_of(out, r"^member 1/2: seed 3 \[[^\]]* elapsed\]$"), out
    assert lines_of(out, rf"^member 2/2: seed 4 {TIMING}"), out


def test_trials_on_ray_are_reported_as_they_come_back(capsys):
    """The Ray path of the search's progress, with a stand-in for Ray's runner (the rows
    come back one by one, as RayTrials gathers them)."""
    from visiongrad.cli.search import reporting
    from visiongrad.train.ray_trials import RayTrials
    from visiongrad.train.search import run_trial, search

    class InTurn(RayTrials):
        def __call__(self, objective, settings, on_row=None):
            rows = []
            for setting in settings:
                rows.append(run_trial(objective, setting))
                on_row(len(rows), len(settings))
            return rows

    results = search(lambda lr: -lr, {"lr": (1e-3, 1e-1)}, trials=2, stages=2,
                     run_trials=reporting(InTurn(), [(2, 1), (2, 1)]))
    assert len(results) == 4
    out = capsys.readouterr().out
    assert lines_of(out, rf"^stage 1/2, trial 1/2 back from Ray {TIMING}"), out
    assert lines_of(out, rf"^stage 2/2, trial 2/2 back from Ray {DONE}"), out
