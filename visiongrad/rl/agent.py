"""What every learner shares: its environment, one seed for all its random streams, the
step and episode counters, the returns so far, greedy evaluation, and its state for a
checkpoint."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import random as vg_random
from .envs import make_env


class Agent:
    """A learner on the Gymnasium environment ``env_id``.

    One ``seed`` fixes the run: the environment's first reset, the exploration and
    sampling generator ``self.rng``, and the networks' initialisation (visiongrad's
    generator is reseeded here). Subclasses implement :meth:`act` (the greedy action of
    one observation), :meth:`_learn_some` (advance training by at least one step and
    return) and, when they hold arrays beyond their networks, :meth:`state_dict`.

    Attributes
    ----------
    steps : int
        Environment steps taken (over all copies of a vector environment).
    episode_returns, episode_ends : list
        Each finished training episode's undiscounted return and the step it ended at.

    Examples
    --------
    >>> from visiongrad.rl import Agent
    >>> from visiongrad.rl import QLearning
    >>> agent = QLearning('FrozenLake-v1', seed=0)
    >>> isinstance(agent, Agent), agent.algorithm
    (True, 'q-learning')
    """

    algorithm = "agent"

    def __init__(self, env_id: str, seed: int = 0):
        self.env_id, self.seed = env_id, int(seed)
        vg_random.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0
        self.episode_returns: list[float] = []
        self.episode_ends: list[int] = []
        self.optimizer = None

    # ----- what a subclass provides -----
    def act(self, observation) -> int:
        """The greedy action for one observation."""
        raise NotImplementedError

    def _learn_some(self) -> None:
        raise NotImplementedError

    def modules(self) -> dict:
        """The networks by name (saved as the checkpoint's model)."""
        return {}

    # ----- training -----
    def learn(self, total_steps: int, callback: Callable[[Agent], None] | None = None):
        """Train until ``total_steps`` environment steps have been taken in all (counting
        those of earlier calls, so a resumed run continues to the same total); call
        ``callback(self)`` after each chunk of work. Returns ``self``."""
        while self.steps < total_steps:
            self._learn_some()
            if callback is not None:
                callback(self)
        return self

    def first_reset_seed(self) -> int:
        """The seed of the first reset of a (re)started run: ``seed``, then ``seed`` plus
        the episodes already finished, so a resumed run starts a fresh, reproducible one."""
        return self.seed + len(self.episode_returns)

    def finish_episode(self, episode_return: float) -> None:
        self.episode_returns.append(float(episode_return))
        self.episode_ends.append(self.steps)

    def recent_mean_return(self, episodes: int = 100) -> float:
        """Mean return of the last ``episodes`` training episodes (NaN before the first)."""
        recent = self.episode_returns[-episodes:]
        return float(np.mean(recent)) if recent else float("nan")

    # ----- evaluation -----
    def evaluate(self, episodes: int = 100, seed: int = 0, max_steps: int | None = None):
        """Returns (episodes,) of the greedy policy, episode ``i`` reset with ``seed + i``."""
        env = make_env(self.env_id)
        returns = np.zeros(episodes)
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            done, length = False, 0
            while not done and (max_steps is None or length < max_steps):
                observation, reward, terminated, truncated, _ = env.step(self.act(observation))
                returns[episode] += reward
                done, length = terminated or truncated, length + 1
        env.close()
        return returns

    # ----- checkpoint state -----
    def state_dict(self) -> dict:
        """Counters, the returns so far and the exploration generator's state (the
        networks and the optimizer are saved beside it by the checkpoint)."""
        return {"steps": self.steps, "episode_returns": list(self.episode_returns),
                "episode_ends": list(self.episode_ends),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.episode_returns = [float(value) for value in state["episode_returns"]]
        self.episode_ends = [int(value) for value in state["episode_ends"]]
        self.rng.bit_generator.state = state["rng"]
