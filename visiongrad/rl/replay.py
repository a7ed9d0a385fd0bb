"""Experience replay: preallocated arrays, uniform sampling, prioritised as an option.

A transition is (observation, action, reward, next_observation, terminated). Only
``terminated`` (the environment ended) stops the bootstrap; a time-limit truncation is
stored as not terminated with the episode's true last observation as ``next_observation``,
so its target still bootstraps, as Gymnasium defines the two.
"""

from __future__ import annotations

import numpy as np


class ReplayBuffer:
    """A ring buffer of the last ``capacity`` transitions, sampled uniformly.

    Parameters
    ----------
    capacity : int
    observation_shape : tuple of int
    rng : numpy.random.Generator
        The sampling stream (the agent's, so one seed fixes the run).
    observation_dtype : dtype
        float32 for state vectors; MinAtar frames are stored as bool-valued float32 too.

    Examples
    --------
    >>> from visiongrad.rl import ReplayBuffer
    >>> buffer = ReplayBuffer(100, (2,), rng=np.random.default_rng(0))
    >>> for t in range(5):
    ...     _ = buffer.add(np.full(2, t), action=t % 2, reward=1.0,
    ...                    next_observation=np.full(2, t + 1), terminated=False)
    >>> batch = buffer.sample(3)
    >>> batch['observations'].shape, batch['actions'].shape, batch['rewards']
    ((3, 2), (3,), array([1., 1., 1.], dtype=float32))
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], rng,
                 observation_dtype=np.float32):
        if capacity <= 0:
            raise ValueError(f"ReplayBuffer: capacity must be positive, got {capacity}")
        self.capacity, self.rng = int(capacity), rng
        self.observations = np.zeros((capacity, *observation_shape), observation_dtype)
        self.next_observations = np.zeros((capacity, *observation_shape), observation_dtype)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.position, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, observation, action: int, reward: float, next_observation,
            terminated: bool) -> int:
        """Store one transition, overwriting the oldest when full; return its slot."""
        slot = self.position
        self.observations[slot] = observation
        self.next_observations[slot] = next_observation
        self.actions[slot], self.rewards[slot] = action, reward
        self.terminated[slot] = terminated
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return slot

    def indices(self, batch_size: int) -> np.ndarray:
        return self.rng.integers(0, self.size, size=batch_size)

    def sample(self, batch_size: int) -> dict:
        """A batch: dict of arrays ``observations`` (B, ...), ``actions`` (B,), ``rewards``
        (B,), ``next_observations`` (B, ...), ``terminated`` (B,), ``indices`` (B,) and
        ``weights`` (B,) (importance weights; ones when uniform)."""
        if self.size == 0:
            raise ValueError("ReplayBuffer: cannot sample from an empty buffer")
        index = self.indices(batch_size)
        return {"observations": self.observations[index], "actions": self.actions[index],
                "rewards": self.rewards[index],
                "next_observations": self.next_observations[index],
                "terminated": self.terminated[index], "indices": index,
                "weights": self.weights(index)}

    def weights(self, index: np.ndarray) -> np.ndarray:
        return np.ones(len(index), np.float32)

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        """Uniform sampling ignores TD errors."""

    FIELDS = ("observations", "next_observations", "actions", "rewards", "terminated")

    def state_dict(self) -> dict:
        return {**{name: getattr(self, name)[:self.size].copy() for name in self.FIELDS},
                "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.size = len(state["actions"])
        for name in self.FIELDS:
            getattr(self, name)[:self.size] = state[name]
        self.position = int(state["position"])


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritised replay (Schaul et al., 2016).

    P(i) = p_i^alpha / sum_k p_k^alpha with p_i = |delta_i| + eps (new transitions get the
    largest priority so far); each sample's loss is weighted by w_i = (N P(i))^-beta / max w.
    Sampling inverts the cumulative sum of priorities (O(N) per batch; a sum tree would be
    O(B log N), which matters only for buffers far larger than these agents use).

    Examples
    --------
    >>> from visiongrad.rl import PrioritizedReplayBuffer
    >>> buffer = PrioritizedReplayBuffer(100, (2,), rng=np.random.default_rng(0))
    >>> for t in range(5):
    ...     _ = buffer.add(np.full(2, t), action=0, reward=0.0,
    ...                    next_observation=np.full(2, t), terminated=False)
    >>> batch = buffer.sample(4)
    >>> buffer.update_priorities(batch['indices'], np.ones(4))
    >>> batch['weights'].shape
    (4,)
    """

    def __init__(self, capacity: int, observation_shape: tuple[int, ...], rng,
                 observation_dtype=np.float32, alpha: float = 0.6, beta: float = 0.4,
                 eps: float = 1e-6):
        super().__init__(capacity, observation_shape, rng, observation_dtype)
        self.alpha, self.beta, self.eps = alpha, beta, eps
        self.priorities = np.zeros(capacity, np.float64)
        self.max_priority = 1.0

    def add(self, observation, action, reward, next_observation, terminated) -> int:
        slot = super().add(observation, action, reward, next_observation, terminated)
        self.priorities[slot] = self.max_priority ** self.alpha
        return slot

    def indices(self, batch_size: int) -> np.ndarray:
        cumulative = np.cumsum(self.priorities[:self.size])
        points = self.rng.random(batch_size) * cumulative[-1]
        return np.minimum(np.searchsorted(cumulative, points, side="right"), self.size - 1)

    def weights(self, index: np.ndarray) -> np.ndarray:
        probabilities = self.priorities[index] / self.priorities[:self.size].sum()
        weights = (self.size * probabilities) ** -self.beta
        return (weights / weights.max()).astype(np.float32)

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        priority = np.abs(td_errors) + self.eps
        self.priorities[index] = priority ** self.alpha
        self.max_priority = max(self.max_priority, float(priority.max()))

    FIELDS = (*ReplayBuffer.FIELDS, "priorities")
