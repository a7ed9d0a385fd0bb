"""On-policy actor-critics on a batch of environments: A2C and PPO.

Both collect ``n_steps`` steps from each of ``n_envs`` copies of the environment (one
batch through Gymnasium's vector API), estimate advantages with GAE(lambda) (lambda = 1:
n-step returns) and update the actor pi_theta(a|s) (categorical logits) and the critic
V_phi(s):

    A2C  L = -mean(log pi(a|s) A) + c_v mean((V(s) - G)^2) - c_H H[pi]     (one step)
    PPO  L = -mean(min(rho A, clip(rho, 1-c, 1+c) A)) + c_v mean((V - G)^2) - c_H H[pi]
         over ``n_epochs`` passes of shuffled minibatches, A normalised per minibatch

with G = A + V(s). Defaults and the order of computation are Stable-Baselines3's
(separate actor and critic MLPs, orthogonal initialisation, gradients clipped to
``max_grad_norm``), so that the same hyperparameters mean the same run.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..autograd import Tensor, no_grad
from .agent import Agent
from .envs import discrete_actions, make_vector_env, observation_shape
from .losses import (
    clipped_surrogate_loss,
    entropy,
    generalized_advantages,
    log_prob,
    policy_gradient_loss,
    value_loss,
)
from .networks import MinAtarTorso, init_orthogonal, mlp


class ActorCritic(nn.Module):
    """A policy network (logits) and a value network, not shared.

    State vectors: two MLPs of widths ``hidden`` with ``activation``; frames: a MinAtar
    torso under each head. Shapes: observations (N, ...) -> logits (N, A), values (N,).

    Examples
    --------
    >>> from visiongrad.rl import ActorCritic
    >>> _ = vg.manual_seed(0)
    >>> net = ActorCritic((4,), n_actions=2)
    >>> states = np.zeros((3, 4), np.float32)
    >>> actions, log_probs, values = net.step(states, np.random.default_rng(0))
    >>> actions.shape, log_probs.shape, values.shape, net.greedy(states[0]) in (0, 1)
    ((3,), (3,), (3,), True)
    """

    def __init__(self, observation_shape: tuple[int, ...], n_actions: int, hidden=(64, 64),
                 activation: str = "tanh"):
        super().__init__()
        if len(observation_shape) == 3:
            def network(out):
                torso = MinAtarTorso(observation_shape[0], hidden[-1], observation_shape[1])
                return nn.Sequential(torso, nn.Linear(torso.out_features, out))
        else:
            def network(out):
                return mlp(observation_shape[0], tuple(hidden), out, activation)
        self.actor = init_orthogonal(_flat(network(n_actions)), 0.01)
        self.critic = init_orthogonal(_flat(network(1)), 1.0)

    def forward(self, observations):
        return self.actor(observations), self.critic(observations).squeeze(1)

    def step(self, observations, rng):
        """Sampled actions (N,), their log-probabilities and the values, without a graph."""
        with no_grad():
            logits, values = self(Tensor(np.asarray(observations, dtype=np.float32)))
        logits = logits.data - logits.data.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        draws = rng.random((len(probabilities), 1))
        actions = np.minimum((probabilities.cumsum(axis=1) < draws).sum(axis=1),
                             probabilities.shape[1] - 1)
        chosen = probabilities[np.arange(len(actions)), actions]
        return actions, np.log(chosen), values.data

    def greedy(self, observation) -> int:
        """The most probable action for one observation."""
        with no_grad():
            logits = self.actor(Tensor(np.asarray(observation, np.float32)[None]))
        return int(logits.data[0].argmax())

    def value(self, observations) -> np.ndarray:
        with no_grad():
            return self.critic(Tensor(np.asarray(observations, dtype=np.float32))).data[:, 0]


def _flat(network: nn.Sequential) -> nn.Sequential:
    """A torso-and-head Sequential unpacked into one list of layers (for the init)."""
    layers = []
    for layer in network:
        layers += list(layer.layers) if isinstance(layer, MinAtarTorso) else [layer]
    return nn.Sequential(*layers)


class OnPolicyAgent(Agent):
    """Rollouts of ``n_steps`` x ``n_envs`` and their GAE advantages; the update is the
    subclass's :meth:`train_on`."""

    def __init__(self, env_id: str, n_envs: int, n_steps: int, gamma: float,
                 gae_lambda: float, ent_coef: float, vf_coef: float, max_grad_norm: float,
                 hidden, activation: str, seed: int):
        super().__init__(env_id, seed)
        self.envs = make_vector_env(env_id, n_envs)
        n_actions = discrete_actions(self.envs, self.algorithm)
        self.policy = ActorCritic(observation_shape(self.envs), n_actions, hidden, activation)
        self.n_envs, self.n_steps, self.gamma, self.gae_lambda = n_envs, n_steps, gamma, gae_lambda
        self.ent_coef, self.vf_coef, self.max_grad_norm = ent_coef, vf_coef, max_grad_norm
        self.total_steps = None
        self.observations, self.running_returns = None, np.zeros(n_envs)

    def modules(self) -> dict:
        return {"policy": self.policy}

    def act(self, observation) -> int:
        return self.policy.greedy(observation)

    def learn(self, total_steps: int, callback=None):
        self.total_steps = total_steps
        return super().learn(total_steps, callback)

    def progress_remaining(self) -> float:
        """1 at the start of training, 0 at ``total_steps`` (for annealed schedules)."""
        return 1.0 - self.steps / self.total_steps if self.total_steps else 1.0

    def collect_rollout(self) -> dict:
        """Step every environment ``n_steps`` times; return (T, N, ...) arrays and the
        advantages and returns."""
        if self.observations is None:
            self.observations, _ = self.envs.reset(seed=self.first_reset_seed())
        T, N = self.n_steps, self.n_envs
        rollout = {"observations": np.zeros((T, N, *self.observations.shape[1:]), np.float32),
                   "actions": np.zeros((T, N), np.int64), "rewards": np.zeros((T, N)),
                   "values": np.zeros((T, N)), "next_values": np.zeros((T, N)),
                   "log_probs": np.zeros((T, N)), "terminated": np.zeros((T, N)),
                   "ends": np.zeros((T, N))}
        for t in range(T):
            actions, log_probs, values = self.policy.step(self.observations, self.rng)
            next_observations, rewards, terminated, truncated, info = self.envs.step(actions)
            self.steps += N
            ends = terminated | truncated
            for name, value in (("observations", self.observations), ("actions", actions),
                                ("rewards", rewards), ("values", values),
                                ("log_probs", log_probs), ("terminated", terminated),
                                ("ends", ends)):
                rollout[name][t] = value
            if truncated.any():  # bootstrap a time limit from the episode's last observation
                last = np.stack(info["final_obs"][truncated])
                rollout["next_values"][t, truncated] = self.policy.value(last)
            self.running_returns += rewards
            for index in np.flatnonzero(ends):
                self.finish_episode(self.running_returns[index])
                self.running_returns[index] = 0.0
            self.observations = next_observations
        following = np.concatenate([rollout["values"][1:], self.policy.value(
            self.observations)[None]])
        rollout["next_values"] = np.where(rollout["ends"], rollout["next_values"], following)
        rollout["advantages"] = generalized_advantages(
            rollout["rewards"], rollout["values"], rollout["next_values"],
            rollout["terminated"], rollout["ends"], self.gamma, self.gae_lambda)
        rollout["returns"] = rollout["advantages"] + rollout["values"]
        return {name: array.reshape(T * N, *array.shape[2:]) for name, array in rollout.items()}

    def _learn_some(self) -> None:
        self.train_on(self.collect_rollout())

    def losses(self, batch: dict, normalize: bool):
        """(policy loss term inputs) logits, values and the log-probabilities of the taken
        actions for a batch, with its advantages (normalised if asked)."""
        logits, values = self.policy(Tensor(batch["observations"]))
        advantages = batch["advantages"]
        if normalize and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        return logits, values, log_prob(logits, batch["actions"]), advantages

    def gradient_step(self, loss) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.optimizer.step()

    def state_dict(self) -> dict:
        return {**super().state_dict(), "total_steps": self.total_steps}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.total_steps = state.get("total_steps")
        self.observations, self.running_returns = None, np.zeros(self.n_envs)


class A2C(OnPolicyAgent):
    """Advantage actor-critic (synchronous A3C), Stable-Baselines3's defaults: RMSProp
    (alpha 0.99, eps 1e-5), 5 steps, lambda 1 (n-step returns), no normalisation.

    Examples
    --------
    >>> from visiongrad.rl import A2C
    >>> agent = A2C('CartPole-v1', seed=0)
    >>> _ = agent.learn(total_steps=100)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "a2c"

    def __init__(self, env_id: str, lr: float = 7e-4, n_envs: int = 8, n_steps: int = 5,
                 gamma: float = 0.99, gae_lambda: float = 1.0, ent_coef: float = 0.0,
                 vf_coef: float = 0.5, max_grad_norm: float = 0.5, normalize_advantage=False,
                 hidden=(64, 64), activation: str = "tanh", seed: int = 0):
        super().__init__(env_id, n_envs, n_steps, gamma, gae_lambda, ent_coef, vf_coef,
                         max_grad_norm, hidden, activation, seed)
        self.optimizer = optim.RMSProp(self.policy.parameters(), lr=lr, alpha=0.99, eps=1e-5)
        self.normalize_advantage = normalize_advantage

    def train_on(self, rollout: dict) -> None:
        logits, values, log_probs, advantages = self.losses(rollout, self.normalize_advantage)
        loss = (policy_gradient_loss(log_probs, advantages)
                + self.vf_coef * value_loss(values, rollout["returns"]))
        if self.ent_coef:
            loss = loss - self.ent_coef * entropy(logits)
        self.gradient_step(loss)


class PPO(OnPolicyAgent):
    """Proximal policy optimisation with the clipped surrogate (Schulman et al., 2017),
    Stable-Baselines3's defaults; ``anneal`` scales the learning rate and the clip range
    by the fraction of training remaining (rl-baselines3-zoo's ``lin_`` schedules).

    Examples
    --------
    >>> from visiongrad.rl import PPO
    >>> agent = PPO('CartPole-v1', n_steps=64, batch_size=32, n_epochs=1, seed=0)
    >>> _ = agent.learn(total_steps=64)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "ppo"

    def __init__(self, env_id: str, lr: float = 3e-4, n_envs: int = 1, n_steps: int = 2048,
                 batch_size: int = 64, n_epochs: int = 10, gamma: float = 0.99,
                 gae_lambda: float = 0.95, clip_range: float = 0.2, ent_coef: float = 0.0,
                 vf_coef: float = 0.5, max_grad_norm: float = 0.5, anneal: bool = False,
                 hidden=(64, 64), activation: str = "tanh", seed: int = 0):
        super().__init__(env_id, n_envs, n_steps, gamma, gae_lambda, ent_coef, vf_coef,
                         max_grad_norm, hidden, activation, seed)
        self.optimizer = optim.Adam(self.policy.parameters(), lr=lr, eps=1e-5)
        self.lr, self.batch_size, self.n_epochs = lr, batch_size, n_epochs
        self.clip_range, self.anneal = clip_range, anneal

    def train_on(self, rollout: dict) -> None:
        scale = self.progress_remaining() if self.anneal else 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * scale
        clip_range = self.clip_range * scale
        size = len(rollout["actions"])
        for _ in range(self.n_epochs):
            order = self.rng.permutation(size)
            for start in range(0, size, self.batch_size):
                batch = {name: array[order[start:start + self.batch_size]]
                         for name, array in rollout.items()}
                logits, values, log_probs, advantages = self.losses(batch, True)
                loss = (clipped_surrogate_loss(log_probs, batch["log_probs"], advantages,
                                               clip_range)
                        + self.vf_coef * value_loss(values, batch["returns"]))
                if self.ent_coef:
                    loss = loss - self.ent_coef * entropy(logits)
                self.gradient_step(loss)
