"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``state_dict``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping

from ..autograd import Tensor, no_grad
from ..backend import xp


def check_range(name: str, value: float, low: float = 0.0, high: float | None = None,
                 high_inclusive: bool = False) -> None:
    """Raise ``ValueError`` unless low <= value (< or <=) high, naming the value."""
    if high is None:
        if not value >= low:
            word = "non-negative" if low == 0 else f"at least {low}"
            raise ValueError(f"{name} must be {word}, got {value}")
        return
    inside = low <= value <= high if high_inclusive else low <= value < high
    if not inside:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}, got {value}")


def _copy_state(value, dtype=None):
    """A deep copy of an optimizer state value; floating arrays are cast to ``dtype``."""
    if isinstance(value, Mapping):
        return {key: _copy_state(item, dtype) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(item, dtype) for item in value)
    if isinstance(value, xp.ndarray):
        array = xp.array(value, copy=True)
        return array.astype(dtype) if dtype is not None and array.dtype.kind == "f" else array
    return copy.deepcopy(value)


class Optimizer:
    """Base class: holds parameter groups and per-parameter state, and runs ``step``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The parameters to optimize, or groups ``{"params": [...], "lr": ..., ...}`` whose
        own hyperparameters override the defaults (e.g. a smaller ``lr`` for a
        pretrained backbone).
    defaults : dict
        The hyperparameters of a group that does not set them.

    Notes
    -----
    State (momentum buffers, moment estimates) is keyed by parameter identity (``id``),
    never by name, so two layers' parameters never share state. ``state_dict()`` numbers
    the parameters in group order, as PyTorch does: ``{"state": {0: {...}, ...},
    "param_groups": [{"lr": ..., "params": [0, 1, ...]}, ...]}``.

    Subclasses implement ``update(x, g, state, group)``: change the parameter's array
    ``x`` in place given its gradient ``g`` (same dtype), its ``state`` dict and ``group``.
    """

    def __init__(self, params, defaults: Mapping):
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of tensors or of parameter groups, "
                            "got a single Tensor (wrap it in a list)")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Mapping) -> None:
        """Add a group of parameters, with hyperparameters defaulting to ``defaults``."""
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError("a parameter group must be a dict with a 'params' key")
        group = dict(group)  # never write into the caller's dict
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got "
                                f"{type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("optimizer can only optimize leaf tensors (parameters), "
                                 "not results of operations")
        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("a parameter appears more than once in the parameter groups")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.check_group(group)
        self.param_groups.append(group)

    def check_group(self, group: dict) -> None:
        """Validate a group's hyperparameters (``ValueError`` naming the bad one)."""
        check_range("lr", group["lr"])

    def parameters(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        """Clear (set to ``None``) the gradient of every parameter."""
        for param in self.parameters():
            param.grad = None

    def step(self, closure: Callable | None = None):
        """Update every parameter that has a gradient; return ``closure()`` if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs first,
        with gradient recording on, and is what ``LBFGS`` requires.
        """
        loss = closure() if closure is not None else None
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad = xp.asarray(param.grad, dtype=param.data.dtype)
                    self.update(param.data, grad, self.state.setdefault(id(param), {}), group)
        return loss

    def update(self, x, g, state: dict, group: dict) -> None:
        raise NotImplementedError

    # ----- state -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}``, deep copies, parameters
        numbered in group order (as PyTorch); a resumed optimizer continues exactly."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items()
                      if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[key]: _copy_state(value) for key, value in self.state.items()
                 if key in index}
        return {"state": state, "param_groups": groups, "type": type(self).__name__}

    def _check_loaded_kind(self, state_dict) -> None:
        """Refuse a state saved by another kind of optimizer, naming both.

        ``state_dict["type"]`` is checked when present (PyTorch ignores the extra key);
        a state without it (PyTorch's, or older) must hold this optimizer's hyperparameters
        in every group.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or not isinstance(
                state_dict.get("param_groups"), list) or not isinstance(
                state_dict.get("state"), Mapping):
            raise ValueError(f"{name}.load_state_dict needs a dict with 'state' (a dict) and "
                             "'param_groups' (a list)")
        saved = state_dict.get("type")
        if saved is not None and saved != name:
            raise ValueError(f"the loaded optimizer state is from {saved}; this optimizer is "
                             f"{name} (build a {saved} to resume, or start {name} afresh)")
        for i, group in enumerate(state_dict["param_groups"]):
            if not isinstance(group, Mapping) or not isinstance(group.get("params"), list):
                raise ValueError(f"loaded parameter group {i} is not a dict with a 'params' "
                                 "list")
            lacking = sorted(set(self.defaults) - set(group))
            if lacking:
                raise ValueError(f"the loaded optimizer state does not fit {name}: its "
                                 f"parameter group {i} lacks {name}'s hyperparameters "
                                 f"{lacking} (it was saved by another optimizer)")

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (deep copied; floating
        arrays take their parameter's dtype).

        Raises
        ------
        ValueError
            If the state is from another kind of optimizer (naming both), the number of
            groups or of parameters in a group differs, or a state array does not fit its
            parameter.
        """
        self._check_loaded_kind(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state has {len(saved_groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {i} has {len(group['params'])} parameters, "
                                 f"the loaded state's has {len(saved['params'])}")
            by_index.update(zip(saved["params"], group["params"], strict=True))
        state = {}
        for index, value in state_dict["state"].items():
            param = by_index.get(int(index))
            if param is None:
                raise ValueError(f"loaded state refers to parameter {index}, which no "
                                 "parameter group holds")
            state[id(param)] = _copy_state(value, param.data.dtype)
        groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            restored = {key: tuple(value) if isinstance(group.get(key), tuple) else value
                        for key, value in copy.deepcopy(saved).items()}
            restored["params"] = group["params"]
            groups.append(restored)
        self.param_groups, self.state = groups, state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items())
                      if key != "params"]
        return "\n".join(lines + [")"])


def with_weight_decay(g, x, weight_decay: float):
    """g + weight_decay * x (L2 regularisation folded into the gradient), as a new array."""
    return g + weight_decay * x if weight_decay else g


def parameter_list(parameters: Iterable | Tensor) -> list[Tensor]:
    """A list of tensors from a tensor, an iterable of them, or a module (its parameters),
    each once (by identity)."""
    if isinstance(parameters, Tensor):
        candidates: Iterable = [parameters]
    elif hasattr(parameters, "parameters") and callable(parameters.parameters):
        candidates = parameters.parameters()
    else:
        candidates = parameters
    unique: dict[int, Tensor] = {}
    for param in candidates:
        if not isinstance(param, Tensor):
            raise TypeError(f"expected Tensors, got {type(param).__name__}")
        unique.setdefault(id(param), param)
    return list(unique.values())
