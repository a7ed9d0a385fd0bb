"""The command as a whole: usage errors, ``python -m visiongrad``, ``--config``."""

import gzip
import json
import subprocess
import sys

import pytest

from visiongrad.cli import main


def test_usage_errors_are_one_line_exit_1(user_error, capsys):
    user_error([], "the following arguments are required: COMMAND")
    user_error(["train", "--epochs", "many"],
               "--epochs: must be a positive integer, got 'many'", "--help")
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


BAD_OPTIONS = [
    (["train", "--epochs", "0"], "--epochs", "positive integer"),
    (["train", "--epochs", "-1"], "--epochs"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--lr", "nan"], "--lr"),
    (["search", "--trials", "0"], "--trials"),
    (["search", "--stages", "0"], "--stages"),
    (["predict", "x.safetensors", "--dataset", "fashion-mnist", "--limit", "-5"], "--limit"),
    (["summary", "fc", "--input-shape", "1", "100000", "100000"], "the limit is"),
    (["summary", "fc", "--input-shape", "0", "1", "1"], "--input-shape"),
]


@pytest.mark.parametrize("argv", BAD_OPTIONS, ids=lambda a: " ".join(a[0][:3]))
def test_bad_option_values_are_one_line_errors(argv, user_error):
    user_error(argv[0], *argv[1:])


def test_val_fraction_and_datasets_too_small_for_validation(tiny_fashion, user_error):
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion), "--model", "fc"]
    user_error(["train", *data, "--val-fraction", "0.00001"], "validation")
    user_error(["train", *data, "--val-fraction", "1.5"], "--val-fraction")


def test_config_that_is_a_folder_or_not_utf8(tmp_path, user_error):
    user_error(["train", "--config", str(tmp_path)], "is a folder")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"model": "caf\xe9"}')
    user_error(["train", "--config", str(latin)], "not UTF-8")


def test_out_below_a_file_and_empty_idx(tiny_fashion, tmp_path, user_error):
    afile = tmp_path / "afile"
    afile.write_text("x")
    user_error(["train", "--model", "fc", "--dataset", "fashion-mnist", "--data-dir",
                str(tiny_fashion), "--out", str(afile / "sub")], "cannot create output folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    for split in ("train", "t10k"):
        for kind, dims in (("images", [0, 28, 28]), ("labels", [0])):
            header = bytes([0, 0, 8, len(dims)]) + b"".join(n.to_bytes(4, "big") for n in dims)
            with gzip.open(empty / f"{split}-{kind}-idx{len(dims)}-ubyte.gz", "wb") as handle:
                handle.write(header)
    user_error(["train", "--model", "fc", "--dataset", "fashion-mnist", "--data-dir",
                str(empty)])  # one line whether the reader or load_split refuses it


def test_help_lists_models_and_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "vgg_small" in text and "three_layer_convnet" in text
    assert "(default: 64)" in text and "adamw" in text and "lbfgs" in text


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    @settings(max_examples=40, deadline=None)
    @given(option=st.sampled_from(["--epochs", "--batch-size", "--seed", "--lr",
                                   "--val-fraction", "--weight-decay"]),
           value=st.one_of(st.integers(max_value=0).map(str),
                           st.sampled_from(["nan", "inf", "-inf", "1e999", "", "x", "0x1"]),
                           st.text(max_size=6).filter(lambda t: not t.startswith("-"))))
    def test_fuzzed_option_values_never_trace(option, value):
        import contextlib
        import io
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(["train", option, value, "--dataset", "no-such-dataset"])
            except SystemExit as exit_info:  # pragma: no cover - would be a bug
                code = exit_info.code
        lines = err.getvalue().strip().splitlines()
        assert code == 1 and len(lines) == 1 and lines[0].startswith("visiongrad: error: ")
