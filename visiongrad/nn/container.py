"""The containers: ``Sequential`` (modules called in turn) and ``ModuleList`` (a list of
registered modules), as in ``torch.nn``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .activation import LeakyReLU, ReLU
from .fusion import fusion_applies, run_layers
from .module import Module
from .norm import _BatchNorm


class Sequential(Module):
    """Modules called one after another, each on the previous one's output.

    ``Sequential(a, b, c)`` names its children ``"0"``, ``"1"``, ``"2"``;
    ``Sequential(OrderedDict(conv=..., relu=...))`` uses the given names. Indexing with an
    integer gives a layer, with a slice a new ``Sequential`` sharing the layers.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> model(vg.zeros(5, 4)).shape
    (5, 2)
    >>> model[1:]
    Sequential(
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            items = list(modules[0].items())
        else:
            items = [(str(i), module) for i, module in enumerate(modules)]
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes Modules, got {type(module).__name__} "
                                f"at position {name}")
            self.add_module(name, module)

    def forward(self, x):
        if fusion_applies():  # inference: conv-BN-ReLU runs in one pass each (nn/fusion.py)
            return run_layers(self._modules.values(), x)
        return run_in_turn(list(self._modules.values()), x)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_checked_index(index, len(items), "Sequential")][1]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self


def run_in_turn(modules: list, x):
    """The ``modules`` called one after another on ``x``, as ``Sequential`` runs them while
    a graph is recorded: a batch norm and the ``ReLU`` or ``LeakyReLU`` after it as one op
    (``runs_with_relu``)."""
    fused = None  # the ReLU run with the batch norm before it
    for index, module in enumerate(modules):
        following = modules[index + 1] if index + 1 < len(modules) else None
        if module is fused:
            continue
        if runs_with_relu(module, following):
            x, fused = module.forward_relu(x, relu=following), following
        else:
            x = module(x)
    return x


def runs_with_relu(module: Module, following: Module | None) -> bool:
    """Whether ``Sequential`` runs ``module`` and the ``following`` one together: a batch
    norm and a ``ReLU``, or a ``LeakyReLU`` of slope >= 0 (``forward_relu``: one op unless
    a hook or a replaced forward needs them apart). relu(batch_norm(x)) in one op saves
    two passes over the activations (``ops/norm_relu.py``); the values are the same."""
    return isinstance(module, _BatchNorm) and (
        type(following) is ReLU or type(following) is LeakyReLU
        and isinstance(following.negative_slope, (int, float))
        and 0 <= following.negative_slope < float("inf"))


def _checked_index(index: int, length: int, owner: str) -> int:
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {owner} of length {length}")
    return index % length


class ModuleList(Module):
    """A list of modules, registered as children ``"0"``, ``"1"``, ... (no ``forward``).

    Examples
    --------
    >>> blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    >>> len(blocks), [name for name, _ in blocks.named_parameters()][:3]
    (3, ['0.weight', '0.bias', '1.weight'])
    """

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_checked_index(index, len(modules), "ModuleList")]

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self
