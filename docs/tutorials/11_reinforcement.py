# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reinforcement learning
#
# An agent in state $s$ takes action $a$, receives reward $r$ and moves to $s'$; it wants
# the policy $\pi(a \mid s)$ that maximises the expected discounted return
# $G_t = \sum_k \gamma^k r_{t+k}$. This tutorial goes from exact solutions of a known
# Markov decision process (MDP) to learning from experience: the Bellman equation solved
# by a matrix inverse, value iteration on FrozenLake, tabular Q-learning on the same lake,
# and a policy gradient (REINFORCE) network on CartPole.
#
# `SMALL = True` runs Q-learning for 50,000 steps and REINFORCE for 30,000 (about 20 s in
# all); that is already enough for Q-learning's greedy policy to reach the goal as often
# as value iteration's (75% of episodes) and for REINFORCE's to balance the pole for the
# full 500 steps. `SMALL = False` runs 150,000 and 60,000 steps (about a minute), with the
# same end results and longer, steadier learning curves.

# %%
SMALL = True
Q_STEPS, PG_STEPS = (50_000, 30_000) if SMALL else (150_000, 60_000)

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np

from visiongrad import rl

# %% [markdown]
# ## 1. The Bellman equation, solved by a matrix inverse
#
# A finite MDP is a transition tensor $P[s, a, s']$ and an expected reward $R[s, a]$.
# Under a policy $\pi$ they become a Markov chain $P_\pi[s, s'] = \sum_a \pi(a \mid s)
# P[s, a, s']$ with reward $R_\pi[s] = \sum_a \pi(a \mid s) R[s, a]$, and the value of
# each state satisfies the Bellman expectation equation
#
# $$V_\pi = R_\pi + \gamma P_\pi V_\pi \quad\Longrightarrow\quad
#   V_\pi = (I - \gamma P_\pi)^{-1} R_\pi .$$
#
# The lecture's grid world: 4x4 cells, every move costs 1, the two grey corners end the
# episode. The uniformly random policy's values, by the inverse:

# %%
grid = rl.grid_world()  # 16 states, 4 actions (left, down, right, up), gamma = 1
uniform = np.full((grid.n_states, grid.n_actions), 0.25)
P_pi = np.einsum("sa,sat->st", uniform, grid.P)
R_pi = (uniform * grid.R).sum(axis=1)
V_random = np.linalg.inv(np.eye(grid.n_states) - grid.gamma * P_pi) @ R_pi
print(V_random.reshape(4, 4).round(1))
print("same as rl.policy_evaluation:",
      np.allclose(V_random, rl.policy_evaluation(grid, uniform)))

# %% [markdown]
# Acting greedily on those values already gives the optimal policy here: from each cell
# go to the neighbour with the highest $R + \gamma V$ (`q_from_v`, then `greedy_policy`).
# Its values are minus the number of steps to the nearest exit.

# %%
greedy = rl.greedy_policy(rl.q_from_v(grid, V_random))
V_greedy = rl.policy_evaluation(grid, greedy)
arrows = np.array(["\u2190", "\u2193", "\u2192", "\u2191"])
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, values, title in [(axes[0], V_random, "random policy"),
                          (axes[1], V_greedy, "greedy on its values")]:
    ax.imshow(values.reshape(4, 4), cmap="viridis")
    for s in range(16):
        row, col = divmod(s, 4)
        mark = "" if s in (0, 15) else arrows[greedy[s]] if values is V_greedy else ""
        ax.text(col, row, f"{values[s]:.0f}\n{mark}", ha="center", va="center", color="w")
    ax.set_title(f"V: {title}")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. Value iteration on FrozenLake
#
# FrozenLake is a 4x4 lake: start top left, reach the goal bottom right (reward 1) without
# falling into a hole; the ice is slippery, so each move goes in the intended direction
# only a third of the time. Gymnasium publishes its transition table, so the MDP is known
# exactly. Value iteration applies the Bellman *optimality* backup until it stops
# changing:
#
# $$V_{k+1}(s) = \max_a \Big[ R(s, a) + \gamma \sum_{s'} P(s, a, s') V_k(s') \Big].$$

# %%
lake = rl.MDP.from_env(gym.make("FrozenLake-v1"), gamma=0.99)
V = np.zeros(lake.n_states)
changes = []
for _ in range(1000):
    V_next = (lake.R + lake.gamma * lake.P @ V).max(axis=1)
    changes.append(np.abs(V_next - V).max())
    V = V_next
    if changes[-1] < 1e-10:
        break
V_star, policy_star = rl.value_iteration(lake)
print(f"{len(changes)} backups; same as rl.value_iteration: {np.allclose(V, V_star)}")

layout = gym.make("FrozenLake-v1").unwrapped.desc.astype(str)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
axes[0].semilogy(changes)
axes[0].set_xlabel("backup")
axes[0].set_ylabel("max |V_{k+1} - V_k|")
axes[0].set_title("value iteration converges geometrically")
axes[1].imshow(V_star.reshape(4, 4), cmap="viridis")
for s in range(16):
    row, col = divmod(s, 4)
    cell = layout[row, col]
    label = cell if cell in "HG" else arrows[policy_star[s]]
    axes[1].text(col, row, f"{label}\n{V_star[s]:.2f}", ha="center", va="center", color="w")
axes[1].set_title("V* and the optimal policy (H: hole, G: goal)")
axes[1].axis("off")
plt.show()


# %% [markdown]
# The optimal policy looks strange (it often points away from the goal) because on
# slippery ice the safest move is the one whose sideways slips cannot reach a hole. Its
# success rate, measured by playing it:

# %%
def success_rate(policy, episodes=1000):
    env = gym.make("FrozenLake-v1")
    wins = 0.0
    for episode in range(episodes):
        state, _ = env.reset(seed=episode)
        done = False
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            done = terminated or truncated
        wins += reward
    return wins / episodes


print(f"value iteration's policy reaches the goal in {success_rate(policy_star):.1%} "
      "of episodes")

# %% [markdown]
# ## 3. Q-learning: the same lake, without the table
#
# Without $P$ and $R$ the agent learns action values from its own transitions
# $(s, a, r, s')$, moving $Q(s, a)$ toward the one-sample Bellman target:
#
# $$Q(s, a) \leftarrow Q(s, a) + \alpha \big[ r + \gamma \max_{a'} Q(s', a') - Q(s, a)
#   \big],$$
#
# while acting $\epsilon$-greedily (a random action with probability $\epsilon$, decayed
# from 1 to 0.05) so that it keeps exploring.

# %%
agent = rl.QLearning("FrozenLake-v1", lr=0.1, gamma=0.99, seed=0,
                     epsilon=rl.LinearSchedule(1.0, 0.05, Q_STEPS // 2))
agent.learn(total_steps=Q_STEPS)
returns = np.array(agent.episode_returns)
window = 200
plt.plot(np.convolve(returns, np.ones(window) / window, mode="valid"))
plt.xlabel("training episode")
plt.ylabel(f"success rate (mean of {window} episodes)")
plt.title("Q-learning on FrozenLake (exploring as it goes)")
plt.show()
q_policy = rl.greedy_policy(agent.Q)
print(f"greedy Q-learning policy: {success_rate(q_policy):.1%} success; it agrees with "
      f"value iteration's on {np.mean(q_policy == policy_star):.0%} of the states")

# %% [markdown]
# ## 4. Policy gradients: REINFORCE on CartPole
#
# CartPole's state is four real numbers (cart position and velocity, pole angle and
# angular velocity), too many for a table, so a network $\pi_\theta(a \mid s)$ outputs
# the action probabilities directly. The policy gradient theorem gives
#
# $$\nabla_\theta J = \mathbb{E}\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)
#   \,\big(G_t - b(s_t)\big)\Big],$$
#
# estimated from whole episodes: make the actions that led to a better-than-expected
# return more likely. The baseline $b(s)$, a second head that regresses $G_t$, changes
# nothing in expectation and lowers the variance. The reward is 1 per step the pole
# stays up, at most 500.

# %%
agent = rl.REINFORCE("CartPole-v1", lr=1e-2, seed=0)
agent.learn(total_steps=PG_STEPS)
plt.plot(agent.episode_ends, agent.episode_returns, ".", alpha=0.4, label="episode")
window = 20
plt.plot(agent.episode_ends[window - 1:],
         np.convolve(agent.episode_returns, np.ones(window) / window, mode="valid"),
         label=f"mean of {window}")
plt.xlabel("environment step")
plt.ylabel("return (steps balanced)")
plt.title("REINFORCE with a baseline on CartPole")
plt.legend()
plt.show()
print(f"greedy policy over 10 episodes: mean return {agent.evaluate(episodes=10).mean():.0f}"
      " of 500")

# %% [markdown]
# The same agents, and DQN, A2C and PPO, train from the command line:
# `visiongrad rl train --algo reinforce --env CartPole-v1 --steps 60000 --set lr=1e-2`.
