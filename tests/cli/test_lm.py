"""``visiongrad lm train|sample`` on a tiny text: the run folder, sampling, resume, errors."""

import json

import pytest
from safetensors import safe_open

from visiongrad import nn
from visiongrad.cli import main
from visiongrad.train.checkpoint import save_checkpoint

TEXT = "To be, or not to be, that is the question.\n" * 60
TINY = ["--steps", "5", "--hidden", "16", "--layers", "2", "--dropout", "0.1",
        "--embedding", "8", "--seq-len", "16", "--batch-size", "4"]


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    text = folder / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    assert main(["lm", "train", "--text", str(text), *TINY, "--out", str(folder / "run")]) == 0
    return folder / "run", text


def test_train_writes_checkpoint_metrics_and_curve(lm_run):
    run, _ = lm_run
    assert (run / "loss_vs_time.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 5
    final = metrics["final"]
    assert final["val_bits_per_char"] == pytest.approx(final["val_loss"] / 0.6931471805599453)
    assert metrics["evaluations"]["val_loss"][-1] == final["val_loss"]
    with safe_open(str(run / "checkpoint.safetensors"), "np") as handle:
        header = json.loads(handle.metadata()["visiongrad"])
    assert header["config"]["kind"] == "char_lm"
    assert header["config"]["model"]["vocabulary"] == "".join(sorted(set(TEXT)))


def test_sample_is_seeded_and_starts_with_the_prime(lm_run, capsys):
    run, _ = lm_run
    capsys.readouterr()
    argv = ["lm", "sample", str(run / "checkpoint.safetensors"), "--prime", "To be",
            "--length", "30", "--temperature", "0.7", "--seed", "4"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("To be") and len(first.rstrip("\n")) >= 35
    assert main(["lm", "sample", str(run), "--length", "0", "--prime", "not"]) == 0
    assert capsys.readouterr().out == "not\n"


def test_resume_continues_the_run(lm_run, tmp_path):
    run, _ = lm_run
    copy = tmp_path / "run"
    copy.mkdir()
    for path in run.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    assert main(["lm", "train", "--resume", str(copy), "--steps", "3"]) == 0
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["steps"] == 8 and metrics["evaluations"]["step"] == [5, 8]


def test_bad_input_is_one_line(lm_run, tmp_path, user_error):
    run, text = lm_run
    empty, latin = tmp_path / "empty.txt", tmp_path / "latin.txt"
    empty.write_bytes(b"")
    latin.write_bytes("Ophélie".encode("latin-1") * 100)
    out = str(tmp_path / "out")
    user_error(["lm", "train", "--text", str(empty), *TINY, "--out", out], "empty")
    user_error(["lm", "train", "--text", str(latin), *TINY, "--out", out], "not UTF-8")
    user_error(["lm", "train", "--text", str(tmp_path / "none.txt"), *TINY, "--out", out],
               "no such")
    user_error(["lm", "train", "--text", str(text), *TINY, "--cell", "lstmx", "--out", out],
               "lstmx")
    user_error(["lm", "train", "--text", str(text), "--steps", "0"], "--steps")
    user_error(["lm", "train", "--text", str(text), "--dropout", "1"], "--dropout")
    user_error(["lm", "sample", str(run), "--prime", "Zounds"], "'Z'", "vocabulary")
    user_error(["lm", "sample", str(run), "--temperature", "0"], "--temperature")
    user_error(["lm", "sample", str(run), "--temperature", "-1"], "--temperature")
    user_error(["lm", "sample", str(run), "--length", "-1"], "--length")
    user_error(["lm", "sample", str(text)], "not a safetensors file")
    user_error(["lm", "sample", str(tmp_path / "missing")], "not found")
    other = save_checkpoint(tmp_path / "other", nn.Linear(2, 2), config={"model": "fc"})
    user_error(["lm", "sample", other], "not a language model checkpoint")
    assert not (tmp_path / "out").exists()


def test_a_text_of_every_code_point_is_one_line_not_gigabytes(tmp_path, user_error):
    """Issue 28 item 9: the vocabulary is counted and bounded before a model is built."""
    text = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    path = tmp_path / "all.txt"
    path.write_text(text, encoding="utf-8")
    user_error(["lm", "train", "--text", str(path), "--minutes", "0.05", "--out",
                str(tmp_path / "lm")], "distinct characters", "10000")
