"""``visiongrad search``."""

import json

from visiongrad.cli import main


def test_search_writes_table_and_scatter(tiny_fashion, tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["search", "--model", "two_layer", "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_fashion), "--trials", "2", "--stages", "2",
                 "--epochs", "1", "--batch-size", "20", "--out", str(out)]) == 0
    assert "val accuracy" in capsys.readouterr().out
    results = json.loads((out / "search.json").read_text())
    assert len(results) == 4
    assert (out / "search.png").stat().st_size > 5_000
