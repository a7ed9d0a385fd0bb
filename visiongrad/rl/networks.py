"""The agents' networks, ordinary ``visiongrad.nn`` modules: an MLP for state vectors, the
MinAtar convolutional torso for (C, 10, 10) frames, a dueling Q head, and the orthogonal
initialisation that Stable-Baselines3's actor-critics use."""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from .. import random as vg_random

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def orthogonal_(weight, gain: float = 1.0):
    """Fill a (out, in, ...) weight with a (semi-)orthogonal matrix times ``gain``: the QR
    decomposition of a Gaussian matrix, signs fixed by R's diagonal (torch.nn.init's
    orthogonal_)."""
    rows = weight.shape[0]
    cols = int(np.prod(weight.shape[1:]))
    gaussian = vg_random.get_generator().standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q *= np.sign(np.diag(r))
    matrix = q if rows >= cols else q.T
    weight.data[...] = (gain * matrix).reshape(weight.shape).astype(weight.data.dtype)
    return weight


def mlp(in_features: int, hidden: tuple[int, ...], out_features: int,
        activation: str = "relu") -> nn.Sequential:
    """Linear layers of widths ``hidden`` with ``activation`` between them, then a linear
    output layer of ``out_features``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers, width = [], in_features
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def init_orthogonal(network: nn.Sequential, output_gain: float) -> nn.Sequential:
    """Stable-Baselines3's actor-critic initialisation: hidden layers orthogonal with gain
    sqrt(2), the output layer with ``output_gain`` (0.01 for a policy, 1 for a value),
    biases zero."""
    layers = [layer for layer in network if isinstance(layer, (nn.Linear, nn.Conv2d))]
    for index, layer in enumerate(layers):
        orthogonal_(layer.weight, output_gain if index == len(layers) - 1 else math.sqrt(2))
        layer.bias.data[...] = 0.0
    return network


class MinAtarTorso(nn.Module):
    """The MinAtar paper's convolutional torso: Conv2d(C, 16, 3) -> ReLU -> Flatten ->
    Linear(16 * 8 * 8, hidden) -> ReLU. Shapes: (N, C, 10, 10) -> (N, hidden)."""

    def __init__(self, in_channels: int, hidden: int = 128, size: int = 10):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(in_channels, 16, 3), nn.ReLU(), nn.Flatten(),
                                    nn.Linear(16 * (size - 2) ** 2, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x):
        return self.layers(x)


class DuelingHead(nn.Module):
    """Q(s, a) = V(s) + A(s, a) - mean_a A(s, a) from features (N, D) -> (N, n_actions)."""

    def __init__(self, in_features: int, n_actions: int):
        super().__init__()
        self.value = nn.Linear(in_features, 1)
        self.advantage = nn.Linear(in_features, n_actions)

    def forward(self, features):
        advantage = self.advantage(features)
        return self.value(features) + advantage - advantage.mean(axis=1, keepdims=True)


def q_network(observation_shape: tuple[int, ...], n_actions: int, hidden=(64, 64),
              dueling: bool = False) -> nn.Module:
    """An MLP (state vectors) or MinAtar torso (frames) with a plain or dueling Q head."""
    if len(observation_shape) == 3:
        torso = MinAtarTorso(observation_shape[0], hidden[-1], observation_shape[1])
        head = DuelingHead(torso.out_features, n_actions) if dueling else nn.Linear(
            torso.out_features, n_actions)
        return nn.Sequential(torso, head)
    if not dueling:
        return mlp(observation_shape[0], hidden, n_actions)
    torso = mlp(observation_shape[0], hidden[:-1], hidden[-1])
    return nn.Sequential(torso, nn.ReLU(), DuelingHead(hidden[-1], n_actions))
