"""``visiongrad compress``, and ``evaluate``/``predict`` of the ``.vgz`` it writes."""

import json
import re

from visiongrad.cli import main
from visiongrad.compress import read_vgz


def test_compress_writes_a_vgz_that_evaluate_and_predict_read(trained, tiny_fashion, tmp_path,
                                                              capsys):
    run, _ = trained
    out = tmp_path / "run2"
    assert main(["compress", str(run), "--prune", "0.8", "--cluster-bits", "3", "--huffman",
                 "--retrain-epochs", "1", "--prune-steps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "weights% (P)" in printed and "compress rate (P+Q+H)" in printed
    assert re.search(r"accuracy \d\.\d{4} before, \d\.\d{4} pruned, (\d\.\d{4}) after",
                     printed)
    state, config = read_vgz(out / "model.vgz")
    assert config["model"] == "two_layer" and "options" not in config
    weights = state["1.weight"]
    assert (weights == 0).mean() > 0.75 and len(set(weights.ravel()) - {0.0}) <= 7
    report = json.loads((out / "compression.json").read_text())
    assert report["file_bytes"] == (out / "model.vgz").stat().st_size
    after = re.search(r"(\d\.\d{4}) after", printed).group(1)

    # the run's own dataset was used (the run's options name it and its folder)
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    assert main(["evaluate", str(out / "model.vgz"), *data]) == 0
    assert f"accuracy {after}" in capsys.readouterr().out
    assert main(["predict", str(out / "model.vgz"), *data, "--limit", "3"]) == 0
    assert "fashion-mnist/test/2" in capsys.readouterr().out


def test_bad_options_and_files_are_one_line_errors(trained, tmp_path, user_error):
    run, _ = trained
    user_error(["compress", str(run), "--prune", "1.5", "--out", str(tmp_path / "o")],
               "prune must be in [0, 1), got 1.5")
    user_error(["compress", str(run), "--cluster-bits", "0", "--out", str(tmp_path / "o")],
               "cluster_bits must be in [1, 16]")
    user_error(["compress", str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
               "not found")
    crafted = tmp_path / "crafted.vgz"
    crafted.write_bytes(b"VGZ1" + (10 ** 6).to_bytes(4, "little") + b"x" * 30)
    user_error(["evaluate", str(crafted)], str(crafted), "header claims")
