"""``visiongrad evaluate``."""

from visiongrad.cli import main


def test_evaluate_prints_accuracy_and_writes_confusion(trained, tiny_fashion, tmp_path, capsys):
    _, checkpoint = trained
    assert main(["evaluate", checkpoint, "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--out", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "(20 images)" in out
    assert "Ankle boot" in out  # the per-class table names the classes
    assert (tmp_path / "eval" / "confusion_matrix.png").stat().st_size > 5_000


def test_checkpoint_of_another_architecture(trained, tiny_fashion, user_error):
    _, checkpoint = trained
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    user_error(["evaluate", checkpoint, "--model", "three_layer_convnet", *data],
                      "does not fit a three_layer_convnet model", "missing keys")


def test_not_a_checkpoint(tmp_path, user_error):
    user_error(["evaluate", str(tmp_path / "none.safetensors")], "not found")
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\x00" * 64)
    user_error(["predict", str(fake), "x.png"], "not a safetensors file")
