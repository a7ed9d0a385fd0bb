"""The command as a whole: usage errors, ``python -m visiongrad``, ``--config``."""

import json
import subprocess
import sys

import pytest

from visiongrad.cli import main


def test_usage_errors_are_one_line_exit_1(user_error, capsys):
    user_error([], "the following arguments are required: COMMAND")
    user_error(["train", "--epochs", "many"], "invalid int value: 'many'", "--help")
    user_error(["trian"], "invalid choice: 'trian'")


def test_help_and_version_exit_0(capsys):
    import visiongrad
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"visiongrad {visiongrad.__version__}"


def test_python_dash_m_runs_the_command():
    ok = subprocess.run([sys.executable, "-m", "visiongrad", "summary", "two_layer"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Linear" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "visiongrad", "summary", "nonet"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    lines = bad.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "visiongrad: error: unknown model 'nonet' (choose from ")
    assert "two_layer" in lines[0]


def test_unknown_config_key_is_named(tmp_path, user_error):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": 1, "learning_rate": 0.1}))
    user_error(["train", "--config", str(config)], "'learning_rate'")


def test_config_file_problems(tmp_path, user_error):
    user_error(["train", "--config", str(tmp_path / "none.json")], "not found")
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 1")
    user_error(["train", "--config", str(broken)], "not valid JSON")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    user_error(["train", "--config", str(listed)], "JSON object")
