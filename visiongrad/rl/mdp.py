"""Markov decision processes solved exactly: policy evaluation, value and policy iteration.

A finite MDP is (S, A, P, R, gamma). Here ``P[s, a, s']`` is the probability that taking
action ``a`` in state ``s`` moves to ``s'`` *and the episode goes on*; the probability that
it ends there (Gymnasium's ``terminated``) is ``1 - P[s, a].sum()``. Nothing is
bootstrapped through a termination, so a terminal state needs no special row and
``gamma = 1`` is exact for episodic tasks whose policy ends with probability one.
``R[s, a]`` is the expected reward of the transition.

The Bellman equations, for a policy pi (S, A) of action probabilities:

    V_pi = R_pi + gamma P_pi V_pi,   so   V_pi = (I - gamma P_pi)^-1 R_pi
    Q_pi(s, a) = R(s, a) + gamma sum_s' P(s, a, s') V_pi(s')
    V*(s) = max_a [R(s, a) + gamma sum_s' P(s, a, s') V*(s')]      (optimality)

where ``P_pi[s, s'] = sum_a pi(a|s) P(s, a, s')`` and ``R_pi[s] = sum_a pi(a|s) R(s, a)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The four moves of :func:`grid_world`, in Gymnasium's FrozenLake order.
GRID_MOVES = {"left": (0, -1), "down": (1, 0), "right": (0, 1), "up": (-1, 0)}


@dataclass(frozen=True)
class MDP:
    """A finite Markov decision process.

    Parameters
    ----------
    P : ndarray (S, A, S)
        ``P[s, a, s']``: probability of moving to ``s'`` without the episode ending. Each
        row sums to at most 1; the missing mass is the probability of termination.
    R : ndarray (S, A)
        Expected reward of taking ``a`` in ``s``.
    gamma : float
        Discount in [0, 1].

    Examples
    --------
    >>> from visiongrad.rl import MDP
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = 1.0; P[1, 0, 1] = 1.0
    >>> mdp = MDP(P, R=np.array([[1.0], [0.0]]), gamma=0.9)
    >>> mdp.P.shape
    (2, 1, 2)
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float

    def __post_init__(self):
        P, R = np.asarray(self.P, dtype=np.float64), np.asarray(self.R, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or R.shape != P.shape[:2]:
            raise ValueError(f"MDP: P must be (S, A, S) and R (S, A), got P {P.shape} and "
                             f"R {R.shape}")
        row_sums = P.sum(axis=2)
        if (P < 0).any() or (row_sums > 1 + 1e-9).any():
            raise ValueError("MDP: each P[s, a] must be non-negative and sum to at most 1, "
                             f"got sums up to {row_sums.max():.6g}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"MDP: gamma must be in [0, 1], got {self.gamma}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    @classmethod
    def from_env(cls, env, gamma: float) -> MDP:
        """The MDP of a Gymnasium toy-text environment from its own table ``env.unwrapped.P``
        (``P[s][a]`` is a list of ``(probability, next_state, reward, terminated)``):
        FrozenLake, Taxi, CliffWalking."""
        table = getattr(env.unwrapped, "P", None)
        if not isinstance(table, dict):
            raise ValueError(f"MDP.from_env: {env.spec.id if env.spec else env} has no "
                             "transition table env.unwrapped.P (only toy-text environments do)")
        n_states, n_actions = env.observation_space.n, env.action_space.n
        P = np.zeros((n_states, n_actions, n_states))
        R = np.zeros((n_states, n_actions))
        for state, moves in table.items():
            for action, outcomes in moves.items():
                for probability, next_state, reward, terminated in outcomes:
                    R[state, action] += probability * reward
                    if not terminated:
                        P[state, action, next_state] += probability
        return cls(P, R, gamma)

    def with_gamma(self, gamma: float) -> MDP:
        """The same dynamics with another discount."""
        return MDP(self.P, self.R, gamma)


def grid_world(shape: tuple[int, int] = (4, 4), terminals=((0, 0), (3, 3)),
               reward: float = -1.0, gamma: float = 1.0) -> MDP:
    """The lecture's grid world (Sutton and Barto's example 4.1).

    Every move (left, down, right, up; one into a wall stays put) costs ``reward`` and the
    episode ends on entering a terminal cell; a terminal cell's own actions end at once with
    reward 0. States are cells in row-major order.

    Examples
    --------
    >>> from visiongrad.rl import grid_world
    >>> mdp = grid_world()
    >>> mdp.P.shape, mdp.R.shape, mdp.gamma
    ((16, 4, 16), (16, 4), 1.0)
    """
    rows, cols = shape
    n_states = rows * cols
    P = np.zeros((n_states, len(GRID_MOVES), n_states))
    R = np.full((n_states, len(GRID_MOVES)), float(reward))
    terminal_states = {r * cols + c for r, c in terminals}
    for state in range(n_states):
        if state in terminal_states:
            R[state] = 0.0
            continue
        r, c = divmod(state, cols)
        for action, (dr, dc) in enumerate(GRID_MOVES.values()):
            nr, nc = min(max(r + dr, 0), rows - 1), min(max(c + dc, 0), cols - 1)
            next_state = nr * cols + nc
            if next_state not in terminal_states:
                P[state, action, next_state] = 1.0
    return MDP(P, R, gamma)


def _as_distribution(mdp: MDP, policy) -> np.ndarray:
    """A policy as (S, A) probabilities, from (S,) action indices or (S, A) probabilities."""
    policy = np.asarray(policy)
    if policy.shape == (mdp.n_states,):
        if not np.issubdtype(policy.dtype, np.integer) or policy.min() < 0 \
                or policy.max() >= mdp.n_actions:
            raise ValueError(f"policy: action indices must be integers in [0, {mdp.n_actions})")
        return np.eye(mdp.n_actions)[policy]
    if policy.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"policy must be ({mdp.n_states},) action indices or "
                         f"({mdp.n_states}, {mdp.n_actions}) probabilities, got {policy.shape}")
    return policy.astype(np.float64)


def policy_evaluation(mdp: MDP, policy, *, method: str = "solve", tol: float = 1e-10,
                      max_iterations: int | None = None) -> np.ndarray:
    """V_pi (S,) of a policy: ``(S,)`` action indices or ``(S, A)`` probabilities.

    ``method="solve"``: the linear system (I - gamma P_pi) V = R_pi. ``"iterative"``: the
    Bellman backup V <- R_pi + gamma P_pi V from V = 0 until max |dV| < ``tol``, or for
    exactly ``max_iterations`` backups (the expected return within that horizon).

    Examples
    --------
    >>> from visiongrad.rl import policy_evaluation
    >>> from visiongrad.rl import grid_world
    >>> mdp = grid_world()
    >>> uniform = np.full((16, 4), 0.25)
    >>> policy_evaluation(mdp, uniform).reshape(4, 4).round(0)
    array([[  0., -14., -20., -22.],
           [-14., -18., -20., -20.],
           [-20., -20., -18., -14.],
           [-22., -20., -14.,   0.]])
    """
    pi = _as_distribution(mdp, policy)
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    R_pi = (pi * mdp.R).sum(axis=1)
    if method == "solve":
        try:
            return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, R_pi)
        except np.linalg.LinAlgError:
            raise ValueError("policy_evaluation: I - gamma P_pi is singular (with gamma = 1 "
                             "the policy never ends from some state)") from None
    if method != "iterative":
        raise ValueError(f"policy_evaluation: method must be 'solve' or 'iterative', got "
                         f"{method!r}")
    V = np.zeros(mdp.n_states)
    limit = 10**7 if max_iterations is None else max_iterations
    for _ in range(limit):
        V_next = R_pi + mdp.gamma * P_pi @ V
        change, V = np.abs(V_next - V).max(), V_next
        if max_iterations is None and change < tol:
            return V
    if max_iterations is None:
        raise RuntimeError(f"policy_evaluation did not converge in {limit} backups")
    return V


def q_from_v(mdp: MDP, V) -> np.ndarray:
    """Q (S, A): Q(s, a) = R(s, a) + gamma sum_s' P(s, a, s') V(s').

    Examples
    --------
    >>> from visiongrad.rl import q_from_v
    >>> from visiongrad.rl import grid_world, value_iteration
    >>> mdp = grid_world()
    >>> Q = q_from_v(mdp, value_iteration(mdp)[0])
    >>> Q.shape, Q[1]
    ((16, 4), array([-1., -3., -3., -2.]))
    """
    return mdp.R + mdp.gamma * mdp.P @ np.asarray(V, dtype=np.float64)


def greedy_policy(Q, atol: float = 1e-9) -> np.ndarray:
    """(S,) the lowest-index action within ``atol`` of each row's maximum of Q (S, A), so
    that values equal up to rounding give the same policy.

    Examples
    --------
    >>> from visiongrad.rl import greedy_policy
    >>> greedy_policy(np.array([[1.0, 2.0], [3.0, 3.0 + 1e-12]]))
    array([1, 0])
    """
    Q = np.asarray(Q)
    return (Q >= Q.max(axis=1, keepdims=True) - atol).argmax(axis=1)


def value_iteration(mdp: MDP, tol: float = 1e-10, max_iterations: int = 10**6):
    """Optimal values and a greedy policy: V <- max_a Q(s, a) until max |dV| < ``tol``.

    Returns
    -------
    V : ndarray (S,)
    policy : ndarray (S,) of action indices, :func:`greedy_policy` of Q(V).

    Examples
    --------
    >>> from visiongrad.rl import value_iteration
    >>> from visiongrad.rl import grid_world
    >>> V, policy = value_iteration(grid_world())
    >>> V.reshape(4, 4)
    array([[ 0., -1., -2., -3.],
           [-1., -2., -3., -2.],
           [-2., -3., -2., -1.],
           [-3., -2., -1.,  0.]])
    """
    V = np.zeros(mdp.n_states)
    for _ in range(max_iterations):
        V_next = q_from_v(mdp, V).max(axis=1)
        change, V = np.abs(V_next - V).max(), V_next
        if change < tol:
            return V, greedy_policy(q_from_v(mdp, V))
    raise RuntimeError(f"value_iteration did not converge to {tol} in {max_iterations} sweeps")


def policy_iteration(mdp: MDP, max_iterations: int = 1000):
    """Optimal values and policy by alternating exact evaluation and greedy improvement.

    Starts from the uniform random policy (which ends with probability one wherever any
    policy can, so gamma = 1 works); an action is replaced only by a strictly better one
    (beyond 1e-12), so the loop cannot cycle between equally good policies.

    Returns
    -------
    V : ndarray (S,)
    policy : ndarray (S,) of action indices, :func:`greedy_policy` of the optimal Q

    Examples
    --------
    >>> from visiongrad.rl import policy_iteration
    >>> from visiongrad.rl import grid_world, value_iteration
    >>> mdp = grid_world()
    >>> V, policy = policy_iteration(mdp)[:2]
    >>> bool(np.allclose(V, value_iteration(mdp)[0]))
    True
    """
    V = policy_evaluation(mdp, np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions))
    policy = q_from_v(mdp, V).argmax(axis=1)
    for _ in range(max_iterations):
        V = policy_evaluation(mdp, policy)
        Q = q_from_v(mdp, V)
        current = Q[np.arange(mdp.n_states), policy]
        better = Q.max(axis=1) > current + 1e-12
        if not better.any():
            return V, greedy_policy(Q)
        policy = np.where(better, Q.argmax(axis=1), policy)
    raise RuntimeError(f"policy_iteration did not converge in {max_iterations} iterations")
