"""``visiongrad train --adversarial`` and ``visiongrad attack`` end to end on a tiny
dataset, their one-line errors, and the recipe's Config checks."""

import json

import pytest
from adversarial_helpers import write_tiny_fashion

from visiongrad.cli import main
from visiongrad.recipes import adversarial as recipe


@pytest.fixture(scope="module")
def adversarial_run(tmp_path_factory):
    data = write_tiny_fashion(tmp_path_factory.mktemp("fashion"))
    out = tmp_path_factory.mktemp("runs") / "pgd"
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(data),
                 "--model", "two_layer", "--epochs", "2", "--batch-size", "16",
                 "--adversarial", "pgd", "--eps", "0.1", "--steps", "2",
                 "--out", str(out)]) == 0
    return data, out


def one_error_line(capsys, argv, *fragments):
    capsys.readouterr()
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("visiongrad: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]


def test_train_records_the_adversarial_options(adversarial_run):
    _, out = adversarial_run
    options = json.loads((out / "metrics.json").read_text())["options"]
    assert (options["adversarial"], options["eps"], options["steps"]) == ("pgd", 0.1, 2)
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["epoch_loss"]) == 2
    robust = metrics["history"]["val_robust_accuracy"]  # the best epoch is the most robust
    assert len(robust) == 2 and metrics["best_val_accuracy"] == max(robust)
    assert metrics["best_epoch"] == 1 + robust.index(max(robust))


def test_attack_writes_its_report(adversarial_run, tmp_path, capsys):
    data, run = adversarial_run
    out = tmp_path / "attack"
    assert main(["attack", str(run), "--method", "pgd", "--eps", "0.1", "--steps", "3",
                 "--images", "20", "--epsilons", "0", "0.1", "0.3", "--data-dir", str(data),
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == 20 and metrics["curve"]["eps"] == [0, 0.1, 0.3]
    assert metrics["curve"]["accuracy"][0] == pytest.approx(metrics["clean_accuracy"])
    assert metrics["robust_accuracy"] <= metrics["clean_accuracy"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 2 and "Accuracy vs eps" in html
    for name in ("examples.png", "accuracy_vs_eps.png"):
        assert (out / name).stat().st_size > 1000
    assert "report:" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "fragments"), [
    (["--eps", "-1"], ["--eps", "must be a positive number"]),
    (["--method", "magic"], ["--method", "invalid choice"]),
    (["--epsilons", "-0.1"], ["epsilons must be numbers >= 0"]),
])
def test_attack_refuses_bad_options_in_one_line(adversarial_run, tmp_path, capsys, extra,
                                                fragments):
    _, run = adversarial_run
    one_error_line(capsys, ["attack", str(run), *extra, "--out", str(tmp_path / "a")],
                   *fragments)


def test_attack_refuses_a_missing_run(tmp_path, capsys):
    one_error_line(capsys, ["attack", str(tmp_path / "nothing")], "cannot read checkpoint")


def test_train_refuses_adversarial_ensembles(tmp_path, capsys):
    one_error_line(capsys, ["train", "--adversarial", "fgsm", "--ensemble", "2", "--out",
                            str(tmp_path / "r")], "--adversarial does not combine with")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("method", "magic", "method must be one of"),
    ("steps", 0, "steps must be a positive integer"),
    ("eps", -0.1, "eps must be a positive number"),
    ("epsilons", (), "epsilons must be numbers >= 0"),
])
def test_config_checks_its_fields(field, value, message):
    with pytest.raises(ValueError, match=message):
        recipe.Config(**{field: value})
