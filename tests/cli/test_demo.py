"""``visiongrad demo``."""

import json

from visiongrad.cli import main
from visiongrad.train.checkpoint import load_checkpoint


def test_demo_quick_writes_the_report_beside_a_users_folder(tmp_path, capsys):
    users = tmp_path / "demo"
    users.mkdir()
    (users / "metrics.json").write_text("the user's own file")
    assert main(["demo", "--quick", "--out", str(users)]) == 0
    printed = capsys.readouterr().out
    assert (users / "metrics.json").read_text() == "the user's own file"
    out = tmp_path / "demo-2"
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"kNN", "softmax", "two-layer net", "convnet"}
    assert metrics["sizes"] == {"train": 360, "validation": 40, "test": 100}
    table = printed[printed.index("model "):]
    for name, result in metrics["models"].items():
        assert 0.0 <= result["accuracy"] <= 1.0
        assert f"{name} " in table and f"{result['accuracy']:.4f}" in table
    assert metrics["best_model"] == max(metrics["models"],
                                        key=lambda name: metrics["models"][name]["accuracy"])
    for name in ("confusion_matrix.png", "convnet_filters.png", "loss_convnet.png",
                 "accuracy_convnet.png", "loss_two_layer_net.png"):
        assert (out / name).stat().st_size > 5_000
    config = load_checkpoint(out / "checkpoint.safetensors")["config"]
    assert config["model"] == metrics["models"][metrics["best_network"]]["params"]["model"]
