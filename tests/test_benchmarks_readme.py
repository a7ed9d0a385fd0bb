"""benchmarks/README.md is what ``python -m benchmarks.readme`` writes from the results."""

import json

import pytest

from benchmarks import readme


def test_the_benchmarks_readme_is_generated_from_the_current_results():
    assert readme.README.read_text(encoding="utf-8") == readme.render(
        readme.TEMPLATE.read_text(encoding="utf-8")), "run python -m benchmarks.readme"


def test_every_results_file_feeds_the_page():
    readme.render(readme.TEMPLATE.read_text(encoding="utf-8"))
    unread = sorted(path.name for path in readme.RESULTS.glob("*.json")
                    if path.stem not in readme.READ)
    assert not unread, f"results on no page: {unread}"


def test_a_placeholder_takes_its_figure_from_the_json(tmp_path, monkeypatch):
    (tmp_path / "speed.json").write_text(json.dumps(
        {"runs": {"fashion-mnist/train": {"median_s": 0.6887}}, "rows": [{"ratio": 0.912}]}))
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    text = readme.render("load {{speed:runs[fashion-mnist/train].median_s|ms}} ms, "
                         "ratio {{speed:rows.0.ratio|.2f}}")
    assert text.endswith("load 688.7 ms, ratio 0.91\n")


def test_an_unknown_table_or_figure_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "speed.json").write_text(json.dumps({"ratio": 0.9}))
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    with pytest.raises(KeyError, match="nonsense"):
        readme.render("{{table nonsense}}")
    with pytest.raises(KeyError):
        readme.render("{{speed:missing}}")
