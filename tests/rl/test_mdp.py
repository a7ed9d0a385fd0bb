"""The exact MDP tools: Bellman equations, the linear solve against iteration, value and
policy iteration agreeing, and FrozenLake's computed success rate against 10,000 episodes."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
rl = pytest.importorskip("visiongrad.rl")


@pytest.fixture(scope="module")
def frozen_lake():
    return rl.MDP.from_env(gym.make("FrozenLake-v1"), gamma=0.99)


def random_mdp(seed, n_states=6, n_actions=3, gamma=0.9):
    rng = np.random.default_rng(seed)
    P = rng.random((n_states, n_actions, n_states))
    P /= P.sum(axis=2, keepdims=True)
    return rl.MDP(P, rng.normal(size=(n_states, n_actions)), gamma)


def test_from_env_reads_frozen_lakes_table(frozen_lake):
    assert frozen_lake.P.shape == (16, 4, 16) and frozen_lake.R.shape == (16, 4)
    # state 14 (left of the goal), action right (2): slippery, so 1/3 each of right (goal,
    # reward 1, terminated), up (10) and down (stays at 14)
    assert frozen_lake.R[14, 2] == pytest.approx(1 / 3)
    assert frozen_lake.P[14, 2, 10] == pytest.approx(1 / 3)
    assert frozen_lake.P[14, 2, 14] == pytest.approx(1 / 3)
    assert frozen_lake.P[14, 2].sum() == pytest.approx(2 / 3)  # 1/3 terminates
    assert frozen_lake.P[5].sum() == 0 and frozen_lake.R[5].sum() == 0  # a hole ends at once


def test_from_env_refuses_an_env_without_a_table():
    with pytest.raises(ValueError, match="CartPole-v1 has no transition table"):
        rl.MDP.from_env(gym.make("CartPole-v1"), gamma=0.9)


@pytest.mark.parametrize("P, R, message", [
    (np.ones((2, 1, 2)), np.zeros((2, 1)), "sum to at most 1"),
    (np.zeros((2, 1, 3)), np.zeros((2, 1)), "must be"),
])
def test_mdp_refuses_bad_tables(P, R, message):
    with pytest.raises(ValueError, match=message):
        rl.MDP(P, R, 0.9)


def test_policy_evaluation_satisfies_the_bellman_expectation_equation():
    mdp = random_mdp(0)
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=6)
    V = rl.policy_evaluation(mdp, pi)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    np.testing.assert_allclose(V, (pi * mdp.R).sum(1) + mdp.gamma * P_pi @ V, atol=1e-12)
    Q = rl.q_from_v(mdp, V)
    np.testing.assert_allclose((pi * Q).sum(1), V, atol=1e-12)  # V = sum_a pi Q


@pytest.mark.parametrize("make", ["frozen_lake", "grid_world"])
def test_iterative_evaluation_equals_the_linear_solve(make, frozen_lake):
    mdp = frozen_lake if make == "frozen_lake" else rl.grid_world()
    uniform = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
    solved = rl.policy_evaluation(mdp, uniform)
    iterated = rl.policy_evaluation(mdp, uniform, method="iterative", tol=1e-13)
    np.testing.assert_allclose(iterated, solved, rtol=0, atol=1e-10)


def test_grid_world_random_policy_values_are_sutton_and_bartos():
    V = rl.policy_evaluation(rl.grid_world(), np.full((16, 4), 0.25)).reshape(4, 4)
    expected = [[0, -14, -20, -22], [-14, -18, -20, -20],
                [-20, -20, -18, -14], [-22, -20, -14, 0]]
    np.testing.assert_allclose(V, expected, atol=1e-9)


@pytest.mark.parametrize("make", ["frozen_lake", "grid_world", "random"])
def test_value_and_policy_iteration_agree_and_are_optimal(make, frozen_lake):
    mdp = {"frozen_lake": frozen_lake, "grid_world": rl.grid_world(),
           "random": random_mdp(3)}[make]
    V_vi, policy_vi = rl.value_iteration(mdp, tol=1e-10)
    V_pi, policy_pi = rl.policy_iteration(mdp)
    np.testing.assert_array_equal(policy_vi, policy_pi)
    np.testing.assert_allclose(V_vi, V_pi, atol=1e-8)
    # the Bellman optimality equation, and the greedy policy's own value is V*
    np.testing.assert_allclose(rl.q_from_v(mdp, V_pi).max(axis=1), V_pi, atol=1e-12)
    np.testing.assert_allclose(rl.policy_evaluation(mdp, policy_vi), V_pi, atol=1e-8)


def test_grid_world_optimal_values_are_minus_the_distance_to_a_corner():
    V, _ = rl.value_iteration(rl.grid_world())
    rows, cols = np.divmod(np.arange(16), 4)
    distance = np.minimum(rows + cols, 6 - rows - cols)
    np.testing.assert_allclose(V, -distance, atol=1e-9)


def test_policy_evaluation_refuses_bad_policies(frozen_lake):
    with pytest.raises(ValueError, match=r"action indices must be integers in \[0, 4\)"):
        rl.policy_evaluation(frozen_lake, np.full(16, 4))
    with pytest.raises(ValueError, match="method must be"):
        rl.policy_evaluation(frozen_lake, np.zeros(16, int), method="guess")


def test_frozen_lake_success_rate_matches_the_computed_value(frozen_lake):
    """The greedy optimal policy's probability of reaching the goal within the 100-step
    limit (gamma = 1, 100 backups) against 10,000 episodes on the real environment."""
    _, policy = rl.value_iteration(frozen_lake)
    computed = rl.policy_evaluation(frozen_lake.with_gamma(1.0), policy,
                                    method="iterative", max_iterations=100)[0]
    env = gym.make("FrozenLake-v1")
    episodes, successes = 10_000, 0
    state, _ = env.reset(seed=0)
    for _ in range(episodes):
        state, _ = env.reset()
        done = False
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            done = terminated or truncated
        successes += reward == 1.0
    measured = successes / episodes
    sampling_error = np.sqrt(computed * (1 - computed) / episodes)
    assert computed >= 0.70
    assert abs(measured - computed) < 4 * sampling_error, (measured, computed)
