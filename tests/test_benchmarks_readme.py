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


def test_the_rl_seeds_table_joins_files_of_one_agent_and_counts_seeds_at_the_bar(
        tmp_path, monkeypatch):
    def result(seeds_returns):
        return json.dumps({"algo": "dqn", "env": "CartPole-v1", "steps": 50000, "runs": [
            {"seed": seed, "visiongrad": {"return_mean": value}}
            for seed, value in seeds_returns]})
    (tmp_path / "rl_dqn_CartPole-v1.json").write_text(result([(0, 477.7)]))
    (tmp_path / "rl_dqn_CartPole-v1_seeds.json").write_text(result([(2, 120.0), (1, 500.0)]))
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    lines = readme.rl_seeds_table()
    assert lines[2:] == ["| dqn | CartPole-v1 | 50,000 | 0: 477.7, 1: 500.0, 2: 120.0 | "
                         "2 of 3 (>= 475) |"]


def test_without_a_fixed_bar_the_rl_seeds_table_compares_with_stable_baselines3(
        tmp_path, monkeypatch):
    (tmp_path / "rl_dqn_MinAtar_Breakout-v1.json").write_text(json.dumps(
        {"algo": "dqn", "env": "MinAtar/Breakout-v1", "steps": 30000, "runs": [
            {"seed": 0, "visiongrad": {"return_mean": 5.5}, "sb3": {"return_mean": 5.4}},
            {"seed": 1, "visiongrad": {"return_mean": 5.0}, "sb3": {"return_mean": 6.0}},
            {"seed": 2, "visiongrad": {"return_mean": 5.0}}]}))
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    assert readme.rl_seeds_table()[2:] == [
        "| dqn | MinAtar/Breakout-v1 | 30,000 | 0: 5.5, 1: 5.0, 2: 5.0 | "
        "1 of 2 (>= Stable-Baselines3's) |"]


def test_the_rl_versus_table_compares_minatars_means_over_seeds_that_ran_both(
        tmp_path, monkeypatch):
    (tmp_path / "rl_dqn_MinAtar_Breakout-v1.json").write_text(json.dumps(
        {"algo": "dqn", "env": "MinAtar/Breakout-v1", "steps": 30000, "runs": [
            {"seed": 1, "visiongrad": {"return_mean": 5.0}, "sb3": {"return_mean": 6.0}},
            {"seed": 0, "visiongrad": {"return_mean": 6.0}, "sb3": {"return_mean": 5.0}},
            {"seed": 2, "visiongrad": {"return_mean": 4.0}}]}))
    (tmp_path / "rl_dqn_MinAtar_Breakout-v1_more.json").write_text(json.dumps(
        {"algo": "dqn", "env": "MinAtar/Breakout-v1", "steps": 30000, "runs": [
            {"seed": 3, "visiongrad": {"return_mean": 4.0}, "sb3": {"return_mean": 4.0}}]}))
    (tmp_path / "rl_dqn_CartPole-v1.json").write_text(json.dumps(  # its bar is 475
        {"algo": "dqn", "env": "CartPole-v1", "steps": 50000, "runs": [
            {"seed": 0, "visiongrad": {"return_mean": 490.0}, "sb3": {"return_mean": 500.0}}]}))
    monkeypatch.setattr(readme, "RESULTS", tmp_path)
    assert readme.rl_versus_table()[2:] == [
        "| dqn | MinAtar/Breakout-v1 | 30,000 | 0, 1, 3 | 5.00 ± 0.82 | 5.00 ± 0.82 | "
        "2 of 3 | yes |"]
    (tmp_path / "rl_dqn_MinAtar_Breakout-v1_more.json").write_text(json.dumps(
        {"algo": "dqn", "env": "MinAtar/Breakout-v1", "steps": 30000, "runs": [
            {"seed": 3, "visiongrad": {"return_mean": 3.9}, "sb3": {"return_mean": 4.0}}]}))
    assert readme.rl_versus_table()[2:][0].endswith("| 1 of 3 | no |")
