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

from .actor_critic import A2C, PPO, ActorCritic
from .agent import Agent
from .dqn import DQN
from .envs import EnvError, make_env, make_vector_env
from .mdp import (
    MDP,
    greedy_policy,
    grid_world,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    value_iteration,
)
from .reinforce import REINFORCE
from .replay import PrioritizedReplayBuffer, ReplayBuffer
from .schedules import ExponentialSchedule, LinearSchedule
from .tabular import SARSA, QLearning, ValueIteration

ALGORITHMS = {agent.algorithm: agent for agent in
              (DQN, REINFORCE, A2C, PPO, QLearning, SARSA, ValueIteration)}
"""The agents by the name the command line and the recipe use.

Examples
--------
>>> ALGORITHMS["dqn"] is DQN, "q-learning" in ALGORITHMS
(True, True)
"""

__all__ = ["A2C", "ALGORITHMS", "DQN", "PPO", "REINFORCE", "SARSA", "ActorCritic", "Agent",
           "EnvError", "ExponentialSchedule", "LinearSchedule", "PrioritizedReplayBuffer",
           "QLearning", "ReplayBuffer", "ValueIteration", "make_env", "make_vector_env"]
__all__ += ["MDP", "greedy_policy", "grid_world", "policy_evaluation", "policy_iteration",
           "q_from_v", "value_iteration"]
