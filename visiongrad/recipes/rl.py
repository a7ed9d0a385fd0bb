"""The reinforcement-learning recipe: an agent trained on a Gymnasium environment, with
checkpoints, its return curve and a report; ``visiongrad rl`` and ``benchmarks/rl.py``
call it.

A run folder holds ``checkpoint.safetensors`` (atomic; the agent's networks, optimizer,
counters, returns, exploration and sampling generators, the replay buffer, and the
config), ``returns.png``, ``metrics.json`` and ``report.html``. A resumed run restores
all of that and continues to ``steps`` in all; the episode in progress when the checkpoint
was written is started afresh (reset with ``seed`` plus the episodes finished).

Hyperparameters default to rl-baselines3-zoo's tuned settings where it has them
(:data:`PRESETS`), else to the agent's own defaults (Stable-Baselines3's); any of them can
be set in ``Config.hyperparameters``.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import nn
from .. import random as vg_random
from ..train import plots
from ..train.checkpoint import (
    atomic_write_bytes,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
)
from ..train.progress import Progress
from ..train.report import write_report

CHECKPOINT_NAME = "checkpoint.safetensors"
DEFAULT_STEPS = {"dqn": 50_000, "reinforce": 200_000, "a2c": 500_000, "ppo": 100_000,
                 "q-learning": 200_000, "sarsa": 200_000, "value-iteration": 0}

#: rl-baselines3-zoo's hyperparameters (hyperparams/*.yml) in this package's names, with
#: its ``n_timesteps`` as ``steps``; ``anneal`` stands for its ``lin_`` schedules.
PRESETS = {
    ("dqn", "CartPole-v1"): dict(
        steps=50_000, lr=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
        gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
        exploration_fraction=0.16, exploration_final_eps=0.04, hidden=(256, 256)),
    ("dqn", "Acrobot-v1"): dict(
        steps=100_000, lr=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=0,
        gamma=0.99, target_update_interval=250, train_freq=4, gradient_steps=-1,
        exploration_fraction=0.12, exploration_final_eps=0.1, hidden=(256, 256)),
    ("ppo", "CartPole-v1"): dict(
        steps=100_000, n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
        n_epochs=20, ent_coef=0.0, lr=1e-3, clip_range=0.2, anneal=True),
    ("ppo", "Acrobot-v1"): dict(
        steps=1_000_000, n_envs=16, n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4,
        ent_coef=0.0),
    ("a2c", "CartPole-v1"): dict(steps=500_000, n_envs=8, ent_coef=0.0),
    ("a2c", "Acrobot-v1"): dict(steps=500_000, n_envs=16, ent_coef=0.0),
    ("q-learning", "FrozenLake-v1"): dict(steps=200_000, lr=0.02, gamma=0.999,
                                          exploration_fraction=0.5),
    ("q-learning", "Taxi-v4"): dict(steps=200_000, lr=0.5, gamma=0.99,
                                    exploration_fraction=0.5),
    # After the MinAtar paper's DQN (its network, batch, buffer, target interval and epsilon
    # over the first 100k frames; Adam for its RMSProp), 500k of its 5M frames
    ("dqn", "MinAtar/Breakout-v1"): dict(
        steps=500_000, lr=2.5e-4, batch_size=32, buffer_size=100_000, learning_starts=5000,
        gamma=0.99, target_update_interval=1000, train_freq=1, gradient_steps=1,
        exploration_fraction=0.2, exploration_final_eps=0.1, hidden=(128,)),
}

#: Hyperparameters that count something, so must be whole numbers.
INTEGER_NAMES = ("batch_size", "buffer_size", "n_envs", "n_steps", "n_epochs", "train_freq",
                 "gradient_steps", "target_update_interval", "learning_starts",
                 "episodes_per_update", "hidden")
#: Options that the recipe turns into the agent's arguments rather than passing on.
EXPLORATION_KEYS = ("exploration_fraction", "exploration_initial_eps", "exploration_final_eps")


@dataclass
class Config:
    """One run: ``algo`` on ``env`` for ``steps`` environment steps from ``seed``.

    ``hyperparameters`` override the preset (or the agent's defaults): any argument of the
    agent's class, plus ``exploration_fraction``, ``exploration_initial_eps`` and
    ``exploration_final_eps`` for the epsilon-greedy ones. ``out`` is the run folder
    (nothing written when None); ``resume`` continues the run found there.
    """

    env: str = "CartPole-v1"
    algo: str = "ppo"
    steps: int | None = None
    seed: int = 0
    hyperparameters: dict = field(default_factory=dict)
    out: str | None = None
    resume: bool = False
    progress: bool = False
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        from ..rl import ALGORITHMS
        from ..rl.envs import check_env_id

        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {', '.join(ALGORITHMS)}, got {self.algo!r}")
        check_env_id(self.env)
        if self.steps is None:
            self.steps = int(self.preset().get("steps", DEFAULT_STEPS[self.algo]))
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {self.steps!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not self.checkpoint_seconds > 0:
            raise ValueError(f"checkpoint_seconds must be positive, got "
                             f"{self.checkpoint_seconds!r}")
        known = set(inspect.signature(ALGORITHMS[self.algo]).parameters) - {"env_id", "seed"}
        if "epsilon" in known:
            known = (known - {"epsilon"}) | set(EXPLORATION_KEYS)
        for name, value in self.hyperparameters.items():
            if name not in known:
                raise ValueError(f"{self.algo} has no hyperparameter {name!r} (it has "
                                 f"{', '.join(sorted(known))})")
            numbers = value if isinstance(value, (tuple, list)) else [value]
            if not numbers or not all(isinstance(v, (bool, int, float)) and math.isfinite(v)
                                      for v in numbers):
                raise ValueError(f"hyperparameter {name} must be a finite number, got {value!r}")
            if name in INTEGER_NAMES and not all(float(v).is_integer() for v in numbers):
                raise ValueError(f"hyperparameter {name} must be a whole number, got {value!r}")
            if name in ("lr", "batch_size", "buffer_size", "n_envs", "n_steps", "n_epochs",
                        "train_freq", "target_update_interval", "episodes_per_update",
                        "max_grad_norm", "clip_range") and not min(numbers) > 0:
                raise ValueError(f"hyperparameter {name} must be positive, got {value!r}")
            if name in ("gamma", "gae_lambda", "tau", *EXPLORATION_KEYS) \
                    and not 0 <= min(numbers) <= max(numbers) <= 1:
                raise ValueError(f"hyperparameter {name} must be in [0, 1], got {value!r}")

    def preset(self) -> dict:
        return dict(PRESETS.get((self.algo, self.env), {}))

    def agent_arguments(self) -> dict:
        """The agent's keyword arguments: preset, then overrides, epsilon made a schedule."""
        from ..rl import LinearSchedule

        arguments = {**self.preset(), **self.hyperparameters}
        arguments.pop("steps", None)
        exploration = {key: arguments.pop(key) for key in EXPLORATION_KEYS if key in arguments}
        if self.algo in ("dqn", "q-learning", "sarsa"):
            duration = int(exploration.get("exploration_fraction", 0.1) * self.steps)
            arguments["epsilon"] = LinearSchedule(
                exploration.get("exploration_initial_eps", 1.0),
                exploration.get("exploration_final_eps", 0.05), duration)
        for name in INTEGER_NAMES:
            if isinstance(arguments.get(name), (list, tuple)):
                arguments[name] = tuple(int(value) for value in arguments[name])
            elif name in arguments:
                arguments[name] = int(arguments[name])
        return arguments


def make_agent(config: Config):
    """The untrained agent of ``config`` (its seed applied)."""
    from ..rl import ALGORITHMS

    return ALGORITHMS[config.algo](config.env, seed=config.seed, **config.agent_arguments())


def _bundle(agent) -> nn.Module:
    """The agent's networks as one module (the checkpoint's model)."""
    bundle = nn.Module()
    for name, module in agent.modules().items():
        setattr(bundle, name, module)
    return bundle


def save_agent(path, agent, config: Config) -> str:
    """Write the agent and its config to a checkpoint, atomically."""
    return save_checkpoint(path, _bundle(agent), agent.optimizer, config=asdict(config),
                           history={"returns": agent.episode_returns,
                                    "ends": agent.episode_ends},
                           state=agent.state_dict())


def load_agent(path):
    """(agent, config) from a checkpoint written by :func:`save_agent`; the random streams
    are restored, so training continues where it stopped."""
    contents = load_checkpoint(path)
    saved = dict(contents["config"])
    saved["hyperparameters"] = dict(saved.get("hyperparameters") or {})
    config = Config(**saved)
    agent = make_agent(config)
    load_model_state(_bundle(agent), contents["model"], source=str(path))
    if agent.optimizer is not None and contents["optimizer"] is not None:
        agent.optimizer.load_state_dict(contents["optimizer"])
    agent.load_state_dict(contents["state"])
    vg_random.set_state(contents["rng"])
    return agent, config


def plot_returns(agent, path, title: str) -> str:
    """Each training episode's return against the step it ended at, with its running
    average (TensorBoard's smoothing)."""
    figure, axes = plots._new_figure()
    if agent.episode_returns:
        axes.plot(agent.episode_ends, agent.episode_returns, alpha=0.3, label="episode")
        axes.plot(agent.episode_ends, plots.smooth(agent.episode_returns, 0.95),
                  label="smoothed")
        axes.legend()
    axes.set_xlabel("environment step")
    axes.set_ylabel("return")
    axes.set_title(title)
    return plots._save(figure, path)


def summary(agent, seconds: float) -> dict:
    return {"steps": agent.steps, "episodes": len(agent.episode_returns),
            "mean return of the last 100 episodes": agent.recent_mean_return(100),
            "seconds": seconds, "steps per second": agent.steps / seconds if seconds else 0.0}


def write_outputs(folder: Path, agent, config: Config, seconds: float,
                  commands=()) -> dict:
    """Checkpoint, return curve, metrics and report of a run; returns the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    save_agent(folder / CHECKPOINT_NAME, agent, config)
    title = f"{config.algo} on {config.env} (seed {config.seed})"
    plot_returns(agent, folder / "returns.png", title)
    results = summary(agent, seconds)
    metrics = {**results, "returns": agent.episode_returns, "ends": agent.episode_ends}
    atomic_write_bytes(folder / "metrics.json",
                       (json.dumps(metrics, indent=1) + "\n").encode("utf-8"))
    write_report(folder / "report.html", title=title, summary=results,
                 config=asdict(config), commands=list(commands),
                 figures=[("Return per episode", folder / "returns.png")])
    return results


def run(config: Config, commands=()):
    """Train (or, with ``config.resume``, continue) the run of ``config``.

    Writes a checkpoint every ``config.checkpoint_seconds`` and at the end when
    ``config.out`` is set; when ``config.progress``, prints a progress line every
    :data:`~visiongrad.train.progress.PROGRESS_SECONDS` and at the end (steps done of all,
    the mean return of the last 20 episodes, the whole run's elapsed time and ETA).
    Returns ``(agent, summary)``.
    """
    folder = None if config.out is None else Path(config.out)
    if config.resume:
        if folder is None or not (folder / CHECKPOINT_NAME).is_file():
            raise FileNotFoundError(f"no run to resume: {folder}/{CHECKPOINT_NAME} not found")
        agent, saved = load_agent(folder / CHECKPOINT_NAME)
        saved.steps, saved.progress = config.steps, config.progress
        config = saved
    else:
        agent = make_agent(config)
    total = max(config.steps, 1)  # a planner (value iteration) takes no step
    progress = Progress(total, done=min(agent.steps, total),
                        write=print if config.progress else None)
    start = last_save = time.perf_counter()

    def report(agent):
        nonlocal last_save
        line = f"{config.algo} {config.env}: step {min(agent.steps, config.steps)}/{config.steps}"
        if hasattr(agent, "mdp"):  # a planner (value iteration) takes no step
            line = (f"{config.algo} {config.env}: solved from the environment's transition "
                    f"table ({agent.mdp.n_states} states, {agent.mdp.n_actions} actions)")
        elif agent.episode_returns:  # a planner (value iteration) runs no episode
            line += f", mean return {agent.recent_mean_return(20):.1f}"
        progress.update(agent.steps, line)
        if folder is not None and time.perf_counter() - last_save > config.checkpoint_seconds:
            save_agent(folder / CHECKPOINT_NAME, agent, config)
            last_save = time.perf_counter()

    agent.learn(config.steps, report)
    seconds = time.perf_counter() - start
    if folder is None:
        return agent, summary(agent, seconds)
    return agent, write_outputs(folder, agent, config, seconds, commands)
