"""The recipe: Config validation, checkpoint round trip, resume, seeding, and the package's
import without its extra."""

import importlib
import sys

import numpy as np
import pytest

pytest.importorskip("gymnasium")
from visiongrad.recipes import rl as recipe  # noqa: E402

TINY_DQN = dict(learning_starts=100, hidden=[16], train_freq=4, gradient_steps=1,
                target_update_interval=50, batch_size=32)


def tiny(tmp_path, algo="dqn", steps=400, **hyperparameters):
    return recipe.Config(env="CartPole-v1", algo=algo, steps=steps, seed=1,
                         hyperparameters={**TINY_DQN, **hyperparameters} if algo == "dqn"
                         else hyperparameters, out=str(tmp_path))


def test_importing_rl_without_gymnasium_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.startswith("visiongrad.rl")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(ImportError, match=r"pip install visiongrad\[rl\]"):
        importlib.import_module("visiongrad.rl")


@pytest.mark.parametrize("field, value, message", [
    ("algo", "dqm", "algo must be one of"),
    ("steps", -1, "steps must be a non-negative integer, got -1"),
    ("seed", 1.5, "seed must be a non-negative integer, got 1.5"),
    ("hyperparameters", {"batch_size": 0}, "batch_size must be positive, got 0"),
    ("hyperparameters", {"tau": 2.0}, "tau must be in [0, 1], got 2.0"),
    ("hyperparameters", {"lr": float("nan")}, "lr must be a finite number"),
    ("hyperparameters", {"hidden": "big"}, "hidden must be a finite number"),
    ("hyperparameters", {"hidden": []}, "hidden must be a finite number, got []"),
    ("hyperparameters", {"batch_size": 32.5}, "batch_size must be a whole number, got 32.5"),
    ("env", "Cartpole-v1", "unknown environment 'Cartpole-v1'"),
])
def test_config_names_the_bad_field_and_value(field, value, message):
    arguments = {"algo": "dqn", field: value}
    with pytest.raises(ValueError) as error:
        recipe.Config(**arguments)
    assert message in str(error.value)


def test_presets_are_zoos_and_overrides_win():
    config = recipe.Config(env="CartPole-v1", algo="dqn",
                           hyperparameters={"exploration_final_eps": 0.1})
    arguments = config.agent_arguments()
    assert config.steps == 50_000 and arguments["train_freq"] == 256
    assert arguments["epsilon"](0) == 1.0 and arguments["epsilon"](8000) == 0.1


def test_checkpoint_round_trip_gives_the_same_greedy_returns(tmp_path):
    agent, _ = recipe.run(tiny(tmp_path))
    loaded, config = recipe.load_agent(tmp_path / recipe.CHECKPOINT_NAME)
    assert config.algo == "dqn" and loaded.steps == agent.steps
    np.testing.assert_array_equal(loaded.evaluate(3, seed=7), agent.evaluate(3, seed=7))
    for name, module in agent.modules().items():
        for key, value in module.state_dict().items():
            np.testing.assert_array_equal(loaded.modules()[name].state_dict()[key], value)


@pytest.mark.parametrize("algo", ["dqn", "ppo", "q-learning"])
def test_resume_restores_everything_and_is_reproducible(tmp_path, algo):
    extra = {"n_steps": 16, "batch_size": 32, "n_epochs": 1, "n_envs": 2} \
        if algo == "ppo" else {}
    env = "FrozenLake-v1" if algo == "q-learning" else "CartPole-v1"
    config = tiny(tmp_path, algo, 400, **extra)
    config.env = env
    first, _ = recipe.run(config)
    saved_returns = list(first.episode_returns)
    results = []
    for attempt in range(2):
        folder = tmp_path / f"copy{attempt}"
        folder.mkdir()
        (folder / recipe.CHECKPOINT_NAME).write_bytes(
            (tmp_path / recipe.CHECKPOINT_NAME).read_bytes())
        resumed, _ = recipe.run(recipe.Config(env=env, algo=algo, steps=800, out=str(folder),
                                              resume=True))
        assert resumed.steps >= 800
        assert resumed.episode_returns[:len(saved_returns)] == saved_returns
        if algo == "dqn":
            assert len(resumed.replay) == resumed.steps  # the buffer came back, then grew
            assert resumed.optimizer.state_dict()["state"][0]["step"] == resumed.updates
        results.append(resumed.episode_returns)
    assert results[0] == results[1]


def test_one_seed_gives_the_same_run(tmp_path):
    runs = [recipe.run(tiny(tmp_path / str(i), "ppo", 256, n_steps=32, n_envs=2,
                            batch_size=32, n_epochs=2))[0] for i in range(2)]
    assert runs[0].episode_returns == runs[1].episode_returns
    for a, b in zip(runs[0].policy.parameters(), runs[1].policy.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
