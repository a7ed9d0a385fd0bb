"""The agents' losses, composed of visiongrad's differentiable ops, and their targets.

Notation: B transitions or steps, A actions; ``logits`` (B, A) of a categorical policy
pi(a|s) = softmax(logits)_a; targets and advantages are constants (NumPy arrays).

    TD (DQN)             L = mean_i w_i huber(Q(s_i, a_i) - y_i)
                         y = r + gamma (1 - terminated) Q_target(s', argmax_a' Q_?(s', a'))
    policy gradient      L = -mean_t log pi(a_t|s_t) A_t        (REINFORCE: A_t = G_t - b(s_t))
    clipped surrogate    L = -mean_t min(rho_t A_t, clip(rho_t, 1 - c, 1 + c) A_t),
                         rho_t = pi(a_t|s_t) / pi_old(a_t|s_t)   (PPO)
    value                L = mean_t (V(s_t) - G_t)^2
    entropy              H = -mean_t sum_a pi(a|s_t) log pi(a|s_t)   (a bonus: subtract it)
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import Tensor


def dqn_targets(rewards, next_q_target, terminated, gamma: float,
                next_q_online=None) -> np.ndarray:
    """y (B,) = r + gamma (1 - terminated) Q_target(s', a*).

    a* = argmax_a' Q_target(s', a') (DQN), or argmax_a' Q_online(s', a') when
    ``next_q_online`` (B, A) is given (Double DQN). ``terminated`` is 1 only where the
    environment ended; a truncated transition (time limit) is 0 there and bootstraps.
    """
    next_q_target = np.asarray(next_q_target)
    chooser = next_q_target if next_q_online is None else np.asarray(next_q_online)
    best = chooser.argmax(axis=1)
    next_value = next_q_target[np.arange(len(best)), best]
    return (np.asarray(rewards) + gamma * (1.0 - np.asarray(terminated)) * next_value
            ).astype(next_q_target.dtype)


def chosen(values: Tensor, actions) -> Tensor:
    """values[i, actions[i]]: (B, A), (B,) -> (B,)."""
    return F.gather(values, 1, np.asarray(actions)[:, None]).squeeze(1)


def td_loss(q_values: Tensor, actions, targets, weights=None) -> Tensor:
    """Huber loss (delta 1, PyTorch's smooth L1) between Q(s, a) and the targets,
    averaged with importance ``weights`` (B,) when given (prioritised replay)."""
    q_taken = chosen(q_values, actions)
    targets = Tensor(np.asarray(targets, dtype=q_taken.data.dtype))
    if weights is None:
        return F.smooth_l1_loss(q_taken, targets)
    weights = Tensor(np.asarray(weights, dtype=q_taken.data.dtype))
    return (weights * F.smooth_l1_loss(q_taken, targets, reduction="none")).mean()


def log_prob(logits: Tensor, actions) -> Tensor:
    """log pi(a|s) (B,) of a categorical policy."""
    return chosen(F.log_softmax(logits, 1), actions)


def entropy(logits: Tensor) -> Tensor:
    """Mean entropy -sum_a pi log pi of the categorical policies (a scalar)."""
    log_pi = F.log_softmax(logits, 1)
    return -(log_pi.exp() * log_pi).sum(axis=1).mean()


def policy_gradient_loss(log_probs: Tensor, advantages) -> Tensor:
    """-mean(log pi(a_t|s_t) A_t): its gradient is the policy-gradient estimate."""
    return -(log_probs * Tensor(np.asarray(advantages, dtype=log_probs.data.dtype))).mean()


def clipped_surrogate_loss(log_probs: Tensor, old_log_probs, advantages,
                           clip_range: float) -> Tensor:
    """PPO's -mean(min(rho A, clip(rho, 1 - c, 1 + c) A)), rho = exp(log pi - log pi_old)."""
    dtype = log_probs.data.dtype
    advantages = Tensor(np.asarray(advantages, dtype=dtype))
    ratio = (log_probs - Tensor(np.asarray(old_log_probs, dtype=dtype))).exp()
    clipped = ratio.clamp(1.0 - clip_range, 1.0 + clip_range)
    return -F.minimum(ratio * advantages, clipped * advantages).mean()


def value_loss(values: Tensor, returns) -> Tensor:
    """mean (V(s_t) - G_t)^2."""
    return F.mse_loss(values, Tensor(np.asarray(returns, dtype=values.data.dtype)))


def discounted_returns(rewards, gamma: float) -> np.ndarray:
    """G_t = r_t + gamma G_{t+1} over one episode's rewards (T,)."""
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def generalized_advantages(rewards, values, next_values, terminated, episode_ends,
                           gamma: float, lam: float) -> np.ndarray:
    """GAE(lambda) advantages (T, N) of N environments stepped T times.

        delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t)
        A_t = delta_t + gamma lambda (1 - end_t) A_{t+1}

    ``next_values`` (T, N) is V of the observation each step reached (the episode's last
    observation where it ended, so a truncation bootstraps from it); ``episode_ends``
    (T, N) is 1 where an episode ended for any reason. lam = 1 gives the n-step returns
    minus V (A2C's); returns are ``advantages + values``.
    """
    rewards, values = np.asarray(rewards), np.asarray(values)
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    carry = 1.0 - np.asarray(episode_ends, dtype=np.float64)
    advantages = np.zeros_like(deltas)
    running = np.zeros(deltas.shape[1:])
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + gamma * lam * carry[t] * running
        advantages[t] = running
    return advantages
