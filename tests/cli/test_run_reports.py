"""Every training command leaves its curves and ``report.html`` in its run folder (as
``train`` does), and ``visiongrad report RUN`` writes the page again from that folder."""

import json

import pytest

from visiongrad.cli import main
from visiongrad.train.checkpoint import load_checkpoint
from visiongrad.train.plots import plot_curves
from visiongrad.train.run_report import by_metric, load_record, write_run_record

TEXT = "To be, or not to be, that is the question.\n" * 60


def _report_again(folder, capsys):
    """``visiongrad report`` on ``folder`` after removing its page: the page's text."""
    (folder / "report.html").unlink()
    capsys.readouterr()
    assert main(["report", str(folder)]) == 0
    assert f"report: {folder / 'report.html'}" in capsys.readouterr().out
    return (folder / "report.html").read_text()


def _check_record_run(folder, capsys, metrics):
    """curves.png and report.html exist, the page and the record name ``metrics``, and
    ``report`` writes the same page again."""
    assert (folder / "curves.png").stat().st_size > 5_000
    page = (folder / "report.html").read_text()
    record = load_record(folder)
    assert set(record["curves"]) == set(metrics)
    for name in metrics:
        assert name in page
        assert len(record["curves"][name]) > 0
    again = _report_again(folder, capsys)
    for name in metrics:
        assert name in again
    assert again.count("<img") == page.count("<img")


def test_caption_train_writes_curves_and_report(tmp_path, capsys):
    out = tmp_path / "caption"
    assert main(["caption", "train", "--scenes", "20", "--val-scenes", "2", "--test-scenes",
                 "2", "--encoder-epochs", "2", "--epochs", "1", "--hidden", "8", "--wordvec",
                 "8", "--batch-size", "10", "--out", str(out)]) == 0
    _check_record_run(out, capsys, ["encoder coverage loss", "captioner loss"])
    assert load_record(out)["curves"]["encoder coverage loss"].__len__() == 2
    assert "test BLEU-4" in (out / "report.html").read_text()


@pytest.mark.parametrize("command, model", [("detect", "ssd"), ("segment", "fcn")])
def test_detect_and_segment_train_write_curves_and_report(command, model, tmp_path, capsys):
    out = tmp_path / command
    assert main([command, "train", "--model", model, "--scenes", "4", "--test-scenes", "2",
                 "--epochs", "2", "--size", "32", "--batch-size", "4",
                 "--out", str(out)]) == 0
    _check_record_run(out, capsys, ["training loss"])
    assert len(load_record(out)["curves"]["training loss"]) == 2
    page = (out / "report.html").read_text()
    assert ("test mIoU" if command == "segment" else "test AP50") in page


def test_generate_train_writes_curves_and_report(tmp_path, capsys):
    out = tmp_path / "vae"
    assert main(["generate", "train", "--model", "vae", "--train-images", "64",
                 "--test-images", "16", "--latent-dim", "2", "--batch-size", "32",
                 "--epochs", "2", "--samples", "4", "--out", str(out)]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    _check_record_run(out, capsys, list(by_metric(history)))
    assert {"nelbo", "kl"} <= set(load_record(out)["curves"])
    assert "samples" in (out / "report.html").read_text()  # the samples figure's heading


def test_lm_train_writes_curves_and_report(tmp_path, capsys):
    text = tmp_path / "play.txt"
    text.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "lm"
    assert main(["lm", "train", "--text", str(text), "--steps", "4", "--hidden", "8",
                 "--embedding", "4", "--seq-len", "8", "--batch-size", "4",
                 "--out", str(out)]) == 0
    _check_record_run(out, capsys, ["training loss (nats/char)", "validation loss (nats/char)",
                                    "validation bits per char", "validation perplexity"])
    assert load_record(out)["x_label"] == "step"


def test_finetune_writes_curves_and_report(trained, tmp_path, capsys):
    folder, _ = trained
    out = tmp_path / "digits"
    assert main(["finetune", str(folder), "--dataset", "digits", "--labels-per-class", "3",
                 "--epochs", "2", "--out", str(out)]) == 0
    for name in ("loss.png", "accuracy.png"):
        assert (out / name).stat().st_size > 5_000
    page = (out / "report.html").read_text()
    assert "last epoch&#x27;s training accuracy" in page and "digits" in page
    again = _report_again(out, capsys)
    assert "Confusion matrix" in again and "digits" in again


def test_search_keeps_best_model_options_and_report(tiny_fashion, tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["search", "--model", "two_layer", "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_fashion), "--trials", "2", "--stages", "1",
                 "--epochs", "1", "--batch-size", "20", "--out", str(out)]) == 0
    results = json.loads((out / "search.json").read_text())
    options = json.loads((out / "options.json").read_text())
    assert options["trials"] == 2 and options["method"] == "random"
    assert options["data_dir"] == str(tiny_fashion)
    stored = load_checkpoint(out / "checkpoint.safetensors")["config"]
    assert stored["options"]["lr"] == pytest.approx(results[0]["lr"])  # the best first
    assert stored["options"]["weight_decay"] == pytest.approx(results[0]["weight_decay"])
    assert (out / "loss.png").is_file() and (out / "accuracy.png").is_file()
    page = (out / "report.html").read_text()
    assert "Trials" in page and "Validation accuracy of every trial" in page
    again = _report_again(out, capsys)
    assert "Trials" in again and "Confusion matrix" in again
    assert main(["evaluate", str(out / "checkpoint.safetensors"), "--dataset",
                 "fashion-mnist", "--data-dir", str(tiny_fashion)]) == 0


def test_plot_curves_and_record_refusals(tmp_path):
    with pytest.raises(ValueError, match="no metric history"):
        plot_curves({"loss": []}, tmp_path / "c.png")
    assert by_metric([{"loss": 1.0}, {"loss": 0.5, "kl": 0.1}]) == {
        "loss": [1.0, 0.5], "kl": [None, 0.1]}
    write_run_record(tmp_path, title="t", curves={"loss": [1.0, float("nan"), 0.5]})
    assert load_record(tmp_path)["curves"]["loss"] == [1.0, None, 0.5]  # JSON has no NaN
    (tmp_path / "report.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a run record"):
        load_record(tmp_path)


def test_report_refuses_a_broken_record(tmp_path, user_error):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"")
    (tmp_path / "report.json").write_text("{")
    user_error(["report", str(tmp_path)], "report.json", "not a run record")
