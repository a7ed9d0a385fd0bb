"""``visiongrad rl``: train, evaluate and play on tiny budgets; one-line errors."""

import numpy as np
import pytest

from visiongrad.cli import main

pytest.importorskip("gymnasium")


def test_train_evaluate_play_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["rl", "train", "--env", "CartPole-v1", "--algo", "dqn", "--steps", "600",
                 "--set", "learning_starts=100", "--set", "hidden=[16]",
                 "--set", "gradient_steps=1",
                 "--out", str(run)]) == 0
    for name in ("checkpoint.safetensors", "returns.png", "metrics.json", "report.html"):
        assert (run / name).is_file(), name
    outputs = []
    for _ in range(2):
        capsys.readouterr()
        assert main(["rl", "evaluate", str(run), "--episodes", "3", "--seed", "5"]) == 0
        outputs.append(capsys.readouterr().out.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith("mean return ") and outputs[0].endswith(" over 3 episodes")
    assert " ± " in outputs[0]


def test_play_writes_a_gif_of_a_minatar_episode(tmp_path):
    from PIL import Image

    pytest.importorskip("minatar")
    run, gif = tmp_path / "run", tmp_path / "episode.gif"
    assert main(["rl", "train", "--env", "MinAtar/Breakout-v1", "--algo", "ppo", "--steps",
                 "64", "--set", "n_steps=32", "--set", "batch_size=32", "--set",
                 "n_epochs=1", "--out", str(run)]) == 0
    assert main(["rl", "play", str(run), "--gif", str(gif), "--max-steps", "20"]) == 0
    with Image.open(gif) as image:
        assert image.n_frames >= 2 and image.size == (160, 160)


def test_value_iteration_run_evaluates_near_its_exact_value(tmp_path, capsys):
    run = tmp_path / "vi"
    assert main(["rl", "train", "--env", "FrozenLake-v1", "--algo", "value-iteration",
                 "--out", str(run)]) == 0
    trained = capsys.readouterr()
    assert "nan" not in trained.out + trained.err  # a planner runs no episode to average
    assert "0 episodes, " in trained.out
    assert "step 0/0" not in trained.out and "(16 states, 4 actions)" in trained.out
    assert main(["rl", "evaluate", str(run), "--episodes", "400"]) == 0
    mean = float(capsys.readouterr().out.strip().splitlines()[-1].split()[2])
    assert abs(mean - 0.74) < 4 * np.sqrt(0.74 * 0.26 / 400)


@pytest.mark.parametrize("argv, fragments", [
    (["--env", "CartPol-v1"], ["unknown environment 'CartPol-v1'", "CartPole-v1"]),
    (["--env", "Pendulum-v1", "--algo", "dqn"], ["dqn needs a discrete action space"]),
    (["--env", "MountainCarContinuous-v0", "--algo", "q-learning"],
     ["q-learning needs a discrete action space"]),
    (["--algo", "dqn", "--set", "lr=-1"], ["hyperparameter lr must be positive, got -1"]),
    (["--algo", "dqn", "--set", "gamma=1.5"], ["gamma must be in [0, 1], got 1.5"]),
    (["--algo", "dqn", "--set", "learning_rate=1"], ["dqn has no hyperparameter "
                                                      "'learning_rate'"]),
    (["--set", "lr"], ["--set expects KEY=VALUE, got 'lr'"]),
    (["--set", "lr=fast"], ["--set lr: 'fast' is not a number"]),
    (["--algo", "dqm"], ["invalid choice: 'dqm'"]),
    (["--steps", "-3"], ["must be a non-negative integer, got '-3'"]),
])
def test_bad_training_input_is_one_line(argv, fragments, user_error, tmp_path):
    user_error(["rl", "train", *argv, "--out", str(tmp_path / "run")], *fragments)


def test_bad_evaluation_and_play_input_is_one_line(user_error, tmp_path):
    user_error(["rl", "evaluate", str(tmp_path / "nothing")], "no checkpoint at")
    user_error(["rl", "evaluate", str(tmp_path), "--episodes", "0"], "positive integer")
    existing = tmp_path / "mine.gif"
    existing.write_bytes(b"a user's file")
    user_error(["rl", "play", str(tmp_path), "--gif", str(existing)], "mine.gif exists")
    assert existing.read_bytes() == b"a user's file"


def test_a_missing_extra_is_named(user_error, monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium -> ImportError
    user_error(["rl", "train", "--out", str(tmp_path / "run")], "pip install visiongrad[rl]")
