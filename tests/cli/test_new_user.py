"""What a new user met (issue 29): a resumed cosine run trained at lr 0, a resume to fewer
epochs than the run had, evaluate scoring a checkpoint on another dataset than its own,
run folders refused where checkpoints are taken, a closed stdout stopping the work."""

import json

import pytest

from visiongrad.cli import main
from visiongrad.train import load_checkpoint


def data_options(data_dir) -> list[str]:
    return ["--model", "two_layer", "--dataset", "fashion-mnist", "--data-dir", str(data_dir),
            "--batch-size", "16", "--schedule", "cosine"]


def test_an_extended_cosine_run_trains_its_new_epochs_at_a_fresh_runs_rates(
        tiny_fashion, tmp_path):
    options = ["train", *data_options(tiny_fashion)]
    assert main([*options, "--epochs", "2", "--out", str(tmp_path / "short")]) == 0
    assert main(["train", "--resume", str(tmp_path / "short"), "--epochs", "4"]) == 0
    assert main([*options, "--epochs", "4", "--out", str(tmp_path / "fresh")]) == 0
    resumed, fresh = (json.loads((tmp_path / name / "metrics.json").read_text())["history"]
                      for name in ("short", "fresh"))
    assert resumed["lr"][2] > 0
    assert resumed["lr"][2:] == pytest.approx(fresh["lr"][2:])


def test_resuming_to_fewer_epochs_than_the_run_has_is_refused(tiny_fashion, tmp_path,
                                                              capsys):
    out = tmp_path / "run"
    assert main(["train", *data_options(tiny_fashion), "--epochs", "2", "--out",
                 str(out)]) == 0
    before = (out / "metrics.json").read_text()
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"visiongrad: error: cannot resume {out / 'checkpoint.safetensors'} for 1 epoch "
                   f"in all: it has trained 2 already (give --epochs 2 or more)"]
    assert (out / "metrics.json").read_text() == before
    assert load_checkpoint(out / "checkpoint.safetensors")["state"]["epoch"] == 2


def test_evaluate_scores_a_checkpoint_on_its_own_dataset_by_default(trained, tiny_fashion,
                                                                    capsys):
    out, checkpoint = trained
    capsys.readouterr()
    assert main(["evaluate", checkpoint]) == 0  # the run's dataset and data folder
    assert "two_layer on fashion-mnist test (20 images)" in capsys.readouterr().out


def test_evaluate_refuses_a_dataset_whose_classes_are_not_the_checkpoints(trained,
                                                                          user_error):
    _, checkpoint = trained
    user_error(["evaluate", checkpoint, "--dataset", "digits"], "digits",
               "classes", "fashion-mnist")


@pytest.mark.parametrize("command", [["evaluate"], ["predict", "--limit", "2"],
                                     ["export"]])
def test_a_run_folder_is_taken_wherever_a_checkpoint_is(command, trained, tiny_fashion,
                                                        tmp_path, capsys):
    out, _ = trained
    extra = ([str(tmp_path / "weights.safetensors")] if command == ["export"] else
             ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)])
    assert main([command[0], str(out), *command[1:], *extra]) == 0
    assert "two_layer" in capsys.readouterr().out or command == ["predict", "--limit", "2"]


class ClosedPipe:
    """A stdout whose reader has gone (``visiongrad train | head -1`` after one line)."""

    def __init__(self):
        self.lines = 0

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_does_not_stop_training(tiny_fashion, tmp_path, monkeypatch,
                                                capsys):
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    out = tmp_path / "run"
    assert main(["train", *data_options(tiny_fashion), "--epochs", "1", "--out",
                 str(out)]) == 0
    assert load_checkpoint(out / "checkpoint.safetensors")["state"]["epoch"] == 1
    assert (out / "report.html").is_file()
    assert "Traceback" not in capsys.readouterr().err


def test_a_quick_demo_never_writes_into_an_earlier_demos_folder(tmp_path, capsys):
    earlier = tmp_path / "demo"
    earlier.mkdir()
    (earlier / ".visiongrad-output").write_text("written by visiongrad\n")
    (earlier / "checkpoint.safetensors").write_bytes(b"the full demo's checkpoint")
    assert main(["demo", "--quick", "--out", str(earlier)]) == 0
    assert f"{earlier} is taken; writing to {earlier}-2 instead" in capsys.readouterr().out
    assert (earlier / "checkpoint.safetensors").read_bytes() == b"the full demo's checkpoint"
    assert sorted(path.name for path in earlier.iterdir()) == [".visiongrad-output",
                                                               "checkpoint.safetensors"]
    assert (tmp_path / "demo-2" / "checkpoint.safetensors").is_file()


def interrupt_in_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C as the given epoch (1-based) starts."""
    from visiongrad.train.trainer import Trainer

    train_epoch = Trainer._train_epoch

    def interrupted(self, loader):
        if self.epoch + 1 == epoch:
            raise KeyboardInterrupt
        return train_epoch(self, loader)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupted)


def test_ctrl_c_says_what_was_kept_and_how_to_resume(tiny_fashion, tmp_path, monkeypatch,
                                                     capsys):
    out = tmp_path / "run"
    interrupt_in_epoch(monkeypatch, 2)
    assert main(["train", *data_options(tiny_fashion), "--epochs", "3", "--out",
                 str(out)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"visiongrad: interrupted; {out} holds epoch 1 of 3; resume with visiongrad train "
        f"--resume {out}")
    metrics = json.loads((out / "metrics.json").read_text())  # the finished epoch's
    assert metrics["epochs"] == 1 and len(metrics["history"]["val_accuracy"]) == 1
    assert (out / "loss.png").is_file() and (out / "accuracy.png").is_file()
    monkeypatch.undo()
    assert main(["train", "--resume", str(out)]) == 0
    assert load_checkpoint(out / "checkpoint.safetensors")["state"]["epoch"] == 3


def test_ctrl_c_in_the_first_epoch_leaves_no_folder_to_push_the_next_run_aside(
        tiny_fashion, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    interrupt_in_epoch(monkeypatch, 1)
    assert main(["train", *data_options(tiny_fashion), "--epochs", "1", "--out",
                 str(out)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"visiongrad: interrupted; no epoch had finished; {out} is removed")
    assert not out.exists()
