"""``visiongrad demo``."""

import json

from visiongrad.cli import main
from visiongrad.cli.demo import DEMO_NETWORKS
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


def test_demo_quick_says_which_model_it_saved(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    accuracy = {name: result["accuracy"] for name, result in metrics["models"].items()}
    best = max(accuracy, key=accuracy.get)
    best_network = max(DEMO_NETWORKS, key=accuracy.get)
    saved = load_checkpoint(tmp_path / "demo" / "checkpoint.safetensors")["config"]["model"]
    assert saved == DEMO_NETWORKS[best_network][0]  # the checkpoint is the best network
    line = next(line for line in printed.splitlines() if line.startswith("best: "))
    if best == best_network:
        assert line.startswith(f"best: {best} (saved as checkpoint.safetensors)")
    else:  # a classic model won: the line must not claim it was saved
        assert line.startswith(f"best: {best} (a classic model, not saved; the checkpoint "
                               f"holds the best network, {best_network})")
    page = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert f"visiongrad demo: {best_network}, the best network (saved)" in page
    assert f"<td>model</td><td>{saved}</td>" in page
    # scored again from the checkpoint, on the quick demo's own test slice
    assert (f"<td>test accuracy (100 images)</td><td>{accuracy[best_network]:.4f}</td>"
            in page)
