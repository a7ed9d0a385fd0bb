"""REINFORCE with a learned baseline (Williams, 1992).

After each batch of ``episodes_per_update`` whole episodes, with G_t the discounted return
from step t and b(s_t) = V_phi(s_t) a learned baseline:

    grad J ~ mean_t grad log pi(a_t|s_t) (G_t - b(s_t))
    L = -mean_t log pi(a_t|s_t) A_t + c_v mean_t (V(s_t) - G_t)^2,   A_t = G_t - V(s_t)

The baseline cuts the estimate's variance without biasing it (it does not depend on the
action); advantages are normalised over the batch.
"""

from __future__ import annotations

import numpy as np

from .. import optim
from ..autograd import Tensor
from .actor_critic import ActorCritic
from .agent import Agent
from .envs import discrete_actions, make_env, observation_shape
from .losses import discounted_returns, log_prob, policy_gradient_loss, value_loss


class REINFORCE(Agent):
    """Monte Carlo policy gradient with a value baseline, Adam on actor and critic.

    Examples
    --------
    >>> from visiongrad.rl import REINFORCE
    >>> agent = REINFORCE('CartPole-v1', seed=0)
    >>> _ = agent.learn(total_steps=100)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "reinforce"

    def __init__(self, env_id: str, lr: float = 1e-3, gamma: float = 0.99,
                 episodes_per_update: int = 4, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, hidden=(64, 64), activation: str = "tanh",
                 seed: int = 0):
        super().__init__(env_id, seed)
        self.env = make_env(env_id)
        n_actions = discrete_actions(self.env, self.algorithm)
        self.policy = ActorCritic(observation_shape(self.env), n_actions, hidden, activation)
        self.optimizer = optim.Adam(self.policy.parameters(), lr=lr)
        self.gamma, self.episodes_per_update = gamma, episodes_per_update
        self.vf_coef, self.max_grad_norm = vf_coef, max_grad_norm
        self.started = False

    def modules(self) -> dict:
        return {"policy": self.policy}

    def act(self, observation) -> int:
        return self.policy.greedy(observation)

    def run_episode(self):
        """One episode with sampled actions: observations, actions and returns G_t."""
        seed = None if self.started else self.first_reset_seed()
        observation, _ = self.env.reset(seed=seed)
        self.started = True
        observations, actions, rewards, done = [], [], [], False
        while not done:
            action = int(self.policy.step(observation[None], self.rng)[0][0])
            observations.append(observation)
            actions.append(action)
            observation, reward, terminated, truncated, _ = self.env.step(action)
            rewards.append(reward)
            self.steps += 1
            done = terminated or truncated
        self.finish_episode(sum(rewards))
        return observations, actions, discounted_returns(rewards, self.gamma)

    def _learn_some(self) -> None:
        """A batch of episodes, then one gradient step."""
        episodes = [self.run_episode() for _ in range(self.episodes_per_update)]
        observations = np.asarray([o for episode in episodes for o in episode[0]], np.float32)
        actions = np.concatenate([episode[1] for episode in episodes]).astype(np.int64)
        returns = np.concatenate([episode[2] for episode in episodes])
        logits, values = self.policy(Tensor(observations))
        advantages = returns - values.data
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        loss = (policy_gradient_loss(log_prob(logits, actions), advantages)
                + self.vf_coef * value_loss(values, returns))
        self.optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.optimizer.step()

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.started = False
