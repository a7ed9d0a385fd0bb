"""``Parameter`` and ``Module`` (the containers are in ``nn/container.py``).

A ``Module`` registers what is assigned to its attributes: a ``Parameter`` becomes one of
its parameters, another ``Module`` one of its children, and an array registered with
``register_buffer`` one of its buffers (state that is saved but not trained, such as batch
normalisation's running statistics). Names follow PyTorch (``fc1.weight``,
``0.running_mean``), so a ``state_dict`` moves between PyTorch and visiongrad.
"""

from __future__ import annotations

import functools
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..backend import array_module, is_device, to_device, to_numpy


class Parameter(Tensor):
    """A tensor that a ``Module`` trains: assigning one to a module attribute registers it.

    Parameters
    ----------
    data : array_like or Tensor
        The initial value; NumPy arrays keep their dtype, Python numbers get the default.
    requires_grad : bool
        Whether it receives gradients (``False`` freezes it).

    Examples
    --------
    >>> weight = nn.Parameter(np.zeros(3))
    >>> weight
    Parameter containing:
    Tensor([0. 0. 0.], requires_grad=True)
    >>> layer = nn.Module()
    >>> layer.scale = nn.Parameter(np.ones(2))  # registered by the assignment
    >>> [name for name, _ in layer.named_parameters()]
    ['scale']
    """

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _array(value):
    """The array inside a tensor, or ``value`` itself."""
    return value.data if isinstance(value, Tensor) else value


def _as_array(value):
    """``value`` (a tensor, an array, a number) as an array of its own namespace."""
    value = _array(value)
    return array_module(value).asarray(value)


def _astype(array, dtype):
    return array.astype(dtype, copy=False)


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook.

    Examples
    --------
    >>> layer = nn.Linear(4, 2)
    >>> shapes = []
    >>> handle = layer.register_forward_hook(lambda m, inputs, out: shapes.append(out.shape))
    >>> _ = layer(vg.zeros(3, 4))
    >>> handle.remove()
    >>> _ = layer(vg.zeros(5, 4))  # no longer recorded
    >>> shapes
    [(3, 2)]
    """

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks, self.id = hooks, next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def shape_fits(saved_shape, shape) -> bool:
    """Whether a saved value of ``saved_shape`` loads into a state entry of ``shape``.

    Shapes must match, except that a one-element (1,) value loads into a 0-d entry (a
    scalar buffer such as ``num_batches_tracked``), as PyTorch allows for old checkpoints;
    earlier visiongrad checkpoints stored those scalars as (1,).
    """
    saved_shape, shape = tuple(saved_shape), tuple(shape)
    return saved_shape == shape or (shape == () and saved_shape == (1,))


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters, buffers and
    submodules as attributes, and implement ``forward``; calling the module runs
    ``forward`` (and any forward hooks).

    Attributes
    ----------
    training : bool
        ``True`` after ``train()`` (the default), ``False`` after ``eval()``; layers such
        as ``Dropout`` and ``BatchNorm2d`` behave differently in the two modes.

    Examples
    --------
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 2)
    ...
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> model = TwoLayer()
    >>> list(model.state_dict())
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> model(vg.zeros(5, 4)).shape
    (5, 2)
    >>> model.eval().training
    False
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward pass.

        A hook that returns a value replaces the output. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----- registration ----------------------------------------------------------------
    def _registries(self) -> dict:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 "before assigning parameters, buffers or submodules")
        return self.__dict__

    def __setattr__(self, name: str, value) -> None:
        registries = self.__dict__
        if isinstance(value, (Parameter, Module)):
            registries = self._registries()
            target = "_parameters" if isinstance(value, Parameter) else "_modules"
            for registry in {"_parameters", "_buffers", "_modules"} - {target}:
                registries[registry].pop(name, None)
            self.__dict__.pop(name, None)
            registries[target][name] = value  # a replaced entry keeps its place
        elif name in registries.get("_parameters", {}):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter "
                                f"{name!r} of {type(self).__name__} (use nn.Parameter or None)")
            registries["_parameters"][name] = None
        elif name in registries.get("_modules", {}):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule "
                                f"{name!r} of {type(self).__name__} (use a Module or None)")
            registries["_modules"][name] = None
        elif name in registries.get("_buffers", {}):
            registries["_buffers"][name] = None if value is None else _as_array(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: parameters, buffers and submodules live here
        registries = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in registries.get(registry, {}):
                return registries[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array, persistent: bool = True) -> None:
        """Register ``array`` (an array, a tensor's value, or ``None``) as a buffer.

        Buffers are state that is not trained (batch normalisation's running statistics):
        ``state_dict`` includes them unless ``persistent=False``. They are stored as
        arrays of the backend, never as tensors, so they never take part in a graph.
        """
        registries = self._registries()
        if not name or "." in name:
            raise ValueError(f"buffer name must be non-empty and contain no '.', got {name!r}")
        if name in registries["_parameters"] or name in registries["_modules"]:
            raise KeyError(f"{type(self).__name__} already has an attribute {name!r}")
        self.__dict__.pop(name, None)
        registries["_buffers"][name] = None if array is None else _as_array(array)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` registers an absent parameter)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}) needs a Parameter or None, "
                            f"got {type(param).__name__}")
        self._registries()["_parameters"][name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module or None, "
                            f"got {type(module).__name__}")
        self._registries()["_modules"][name] = module

    # ----- traversal -------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule (each once), with dotted names, depth first."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            for name, member in module.__dict__[registry].items():
                if member is None or id(member) in seen:
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self) -> Iterator[tuple[str, object]]:
        return self._named_members("_buffers")

    def buffers(self) -> Iterator:
        for _, buffer in self.named_buffers():
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule and then on this module (as PyTorch); return self."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    # ----- modes and gradients -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False`` is ``eval()``) here and in every submodule.

        As in PyTorch, each child's own ``train`` is called, so a layer may override it
        (a frozen batch norm stays in evaluation mode: ``models.transfer.freeze``).
        """
        object.__setattr__(self, "training", bool(mode))
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: dropout is off and batch norm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter, e.g. for fine-tuning; return self.

        A frozen parameter gets no gradient in ``backward`` and so no optimizer update.
        """
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def to(self, device_or_dtype) -> Module:
        """Move every parameter and buffer to a device, or convert the floating ones to a
        dtype, in place; return self.

        A device is "cpu" (NumPy), "cuda" (CuPy, where installed) or a name given to
        ``backend.register_device``; anything else is a dtype (``model.to(np.float64)``
        before a gradient check). Parameters stay the same objects (an optimizer built
        before keeps working); their gradients are cleared.
        """
        if isinstance(device_or_dtype, str) and is_device(device_or_dtype):
            convert, floating_only = functools.partial(to_device, device=device_or_dtype), False
        else:
            dtype = np.dtype(device_or_dtype)
            if dtype.kind != "f":
                raise ValueError(f"to() needs a device or a floating dtype, got {dtype}")
            convert, floating_only = functools.partial(_astype, dtype=dtype), True
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None and not (floating_only and param.dtype.kind != "f"):
                    param.data, param.grad = convert(param.data), None
            for name, buffer in module._buffers.items():
                if buffer is not None and not (floating_only and buffer.dtype.kind != "f"):
                    module._buffers[name] = convert(buffer)
        return self

    def zero_grad(self) -> None:
        """Clear (set to ``None``) the gradient of every parameter."""
        for param in self.parameters():
            param.grad = None

    # ----- state -----------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter and persistent buffer by dotted name, as copied arrays.

        NOTE: unlike PyTorch, whose ``state_dict`` shares memory with the module, the
        arrays here are copies: a saved state does not change as training goes on.
        A parameter shared by two layers appears under both names, as in PyTorch.
        """
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for module_name, module in self._named_modules_with_duplicates():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[prefix + name] = param.data.copy()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[prefix + name] = buffer.copy()
        return state

    def _named_modules_with_duplicates(self) -> Iterator[tuple[str, Module]]:
        stack = [("", self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def _state_targets(self) -> dict[str, tuple[Module, str, str]]:
        """dotted name -> (owning module, registry, attribute name) for the state_dict."""
        targets = {}
        for module_name, module in self._named_modules_with_duplicates():
            prefix = f"{module_name}." if module_name else ""
            for registry in ("_parameters", "_buffers"):
                for name, value in module.__dict__[registry].items():
                    if value is not None and name not in module._non_persistent:
                        targets[prefix + name] = (module, registry, name)
        return targets

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> dict[str, list[str]]:
        """Copy parameters and buffers from ``state_dict`` (arrays, tensors or anything
        ``numpy.asarray`` takes, such as ``torch_tensor.numpy()``) into this module.

        Values are copied into the existing arrays, keeping each parameter's dtype, so
        optimizers holding the parameters keep working. Nothing is changed when an error
        is raised.

        Parameters
        ----------
        state_dict : mapping of str to array
        strict : bool
            Require the keys to match exactly. Shapes must always match (except a (1,)
            value for a 0-d buffer, see :func:`shape_fits`).

        Returns
        -------
        dict
            ``{"missing_keys": [...], "unexpected_keys": [...]}``.

        Raises
        ------
        ValueError
            Listing the missing and unexpected keys (when ``strict``) and every shape
            mismatch with the name and both shapes.
        """
        targets = self._state_targets()
        missing = [name for name in targets if name not in state_dict]
        unexpected = [name for name in state_dict if name not in targets]
        values = {name: to_numpy(_array(state_dict[name])) for name in targets
                  if name in state_dict}
        mismatched = []
        for name, value in values.items():
            module, registry, attribute = targets[name]
            expected = module.__dict__[registry][attribute].shape
            if not shape_fits(value.shape, expected):
                mismatched.append(f"{name}: checkpoint shape {tuple(value.shape)}, "
                                  f"model shape {tuple(expected)}")
            elif value.shape != tuple(expected):
                values[name] = value.reshape(expected)
        problems = [f"shape mismatch for {line}" for line in mismatched]
        if strict:
            if missing:
                problems.append("missing keys: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"error loading state_dict into {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        for name, value in values.items():
            module, registry, attribute = targets[name]
            target = module.__dict__[registry][attribute]
            target = target.data if registry == "_parameters" else target
            target[...] = array_module(target).asarray(value)  # onto the module's device
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # ----- repr --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings shown inside its repr, e.g. ``in_features=4, ...``."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
