"""Gymnasium environments by id, with one clear error for an id that does not exist.

MinAtar's games (``MinAtar/Breakout-v1``, ...) are registered on first use when the
``minatar`` package is installed; their (10, 10, C) boolean frames are seen by the agents
as float32 (C, 10, 10) images, NCHW as every image in visiongrad.
"""

from __future__ import annotations

import difflib

import gymnasium as gym
import numpy as np


class EnvError(ValueError):
    """An environment id, space or option that the asked algorithm cannot use.

    Examples
    --------
    >>> from visiongrad.rl import EnvError
    >>> from visiongrad.rl import QLearning
    >>> try:
    ...     QLearning('CartPole-v1')
    ... except EnvError as error:
    ...     print(type(error).__name__)
    EnvError
    """


def _register_minatar() -> None:
    if any(name.startswith("MinAtar/") for name in gym.registry):
        return
    try:
        import minatar.gym
    except ImportError:
        return
    minatar.gym.register_envs()


class ChannelsFirst(gym.ObservationWrapper):
    """(H, W, C) frames -> float32 (C, H, W)."""

    def __init__(self, env):
        super().__init__(env)
        height, width, channels = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0.0, 1.0, (channels, height, width),
                                                np.float32)

    def observation(self, observation):
        return np.ascontiguousarray(np.moveaxis(observation, -1, 0), dtype=np.float32)


def check_env_id(env_id: str) -> None:
    """Raise :class:`EnvError` naming ``env_id`` and its close matches if it is not
    registered (or needs an extra that is missing)."""
    if env_id.startswith("MinAtar/"):
        _register_minatar()
        if not any(name.startswith("MinAtar/") for name in gym.registry):
            raise EnvError(f"{env_id} needs the minatar package: pip install visiongrad[rl]")
    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=4, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise EnvError(f"unknown environment {env_id!r}{hint}")


def make_env(env_id: str, render_mode: str | None = None, **kwargs):
    """``gym.make(env_id)``, with MinAtar frames as float32 (C, H, W).

    Examples
    --------
    >>> from visiongrad.rl import make_env
    >>> env = make_env('CartPole-v1')
    >>> observation, info = env.reset(seed=0)
    >>> observation.shape, int(env.action_space.n)
    ((4,), 2)
    """
    check_env_id(env_id)
    env = gym.make(env_id, render_mode=render_mode, **kwargs)
    if env_id.startswith("MinAtar/"):
        env = ChannelsFirst(env)
    return env


def make_vector_env(env_id: str, n_envs: int):
    """``n_envs`` copies stepped as one batch (Gymnasium's SyncVectorEnv). A finished
    episode's last observation is in ``info["final_obs"]`` and the returned observation is
    already the next episode's first (autoreset in the same step, as Stable-Baselines3).

    Examples
    --------
    >>> from visiongrad.rl import make_vector_env
    >>> envs = make_vector_env('CartPole-v1', n_envs=3)
    >>> observations, info = envs.reset(seed=0)
    >>> observations.shape
    (3, 4)
    """
    check_env_id(env_id)
    return gym.vector.SyncVectorEnv([lambda: make_env(env_id) for _ in range(n_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def discrete_actions(env, algorithm: str) -> int:
    """The number of actions of a Discrete action space; :class:`EnvError` otherwise."""
    space = getattr(env, "single_action_space", env.action_space)
    if not isinstance(space, gym.spaces.Discrete):
        raise EnvError(f"{algorithm} needs a discrete action space; "
                       f"{env.spec.id if env.spec else env} has {space}")
    return int(space.n)


def observation_shape(env) -> tuple[int, ...]:
    space = getattr(env, "single_observation_space", env.observation_space)
    return tuple(space.shape)
