"""Reinforcement learning: exact MDP solvers, tabular Q-learning and SARSA, and deep RL
(replay, DQN, REINFORCE, A2C, PPO) on Gymnasium's environments.

>>> import gymnasium as gym
>>> from visiongrad import rl
>>> m = rl.MDP.from_env(gym.make("FrozenLake-v1"), gamma=0.99)
>>> V, policy = rl.value_iteration(m, tol=1e-10)

Needs the ``rl`` extra (gymnasium; minatar for the pixel games): ``pip install
visiongrad[rl]``.
"""

try:
    import gymnasium  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised by a test that hides gymnasium
    raise ImportError("visiongrad.rl needs gymnasium: pip install visiongrad[rl]") from error

from .mdp import (
    MDP,
    greedy_policy,
    grid_world,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    value_iteration,
)
from .schedules import ExponentialSchedule, LinearSchedule
from .tabular import SARSA, QLearning

__all__ = ["SARSA", "ExponentialSchedule", "LinearSchedule", "QLearning"]
__all__ += ["MDP", "greedy_policy", "grid_world", "policy_evaluation", "policy_iteration",
           "q_from_v", "value_iteration"]
