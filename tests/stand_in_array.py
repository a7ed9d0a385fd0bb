"""A stand-in for another array library (CuPy's place), to test the array-module seam on
the CPU without one.

``StandInArray`` holds a NumPy array but is not a ``numpy.ndarray``; ``namespace`` is
NumPy's API over it (``namespace.exp(a)``, ``namespace.add.at(...)``,
``namespace.lib.stride_tricks.as_strided(...)``), counting every call in ``CALLS``. Like
CuPy it refuses what a device array cannot do: NumPy's own functions cannot take it (no
implicit conversion, ``__array__`` raises; NumPy's ufuncs defer), it has no ``ctypes``
(no raw pointer for a compiled kernel), and ``get()`` is the only way to the host.
``register()`` makes it the device "standin" of ``visiongrad.backend``.
"""

from __future__ import annotations

import operator
import types
from collections import Counter

import numpy as np

from visiongrad import backend

DEVICE = "standin"
CALLS: Counter = Counter()
"""How many times each function of the namespace and each array method was called."""


def unwrap(value):
    """NumPy arrays inside stand-ins (also inside lists, tuples and slices of indices)."""
    if isinstance(value, StandInArray):
        return value._array
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(item) for item in value)
    return value


def wrap(value):
    """NumPy arrays (also in tuples and lists) as stand-ins; numbers stay as they are."""
    if isinstance(value, np.ndarray):
        return StandInArray(value)
    if isinstance(value, (list, tuple)):
        return type(value)(wrap(item) for item in value)
    return value


class _Function:
    """A NumPy function over stand-ins: unwraps the arguments (``out=`` too), wraps the
    result, counts the call; attributes (``add.at``, ``add.reduce``) are wrapped alike."""

    def __init__(self, function, name: str):
        self._function, self._name = function, name

    def __call__(self, *args, **kwargs):
        CALLS[self._name] += 1
        kwargs = {key: unwrap(value) for key, value in kwargs.items()}
        return wrap(self._function(*unwrap(args), **kwargs))

    def __getattr__(self, name):
        return _wrapped(getattr(self._function, name), f"{self._name}.{name}")


def _wrapped(attribute, name: str):
    if isinstance(attribute, types.ModuleType):
        return Namespace(attribute, name)
    if isinstance(attribute, type) or not callable(attribute):
        return attribute  # dtypes, classes (errstate), constants
    return _Function(attribute, name)


class Namespace:
    """NumPy's API (a module of it) over stand-in arrays."""

    def __init__(self, module, name: str = "namespace"):
        self._module, self._name = module, name

    def __getattr__(self, name):
        return _wrapped(getattr(self._module, name), f"{self._name}.{name}")


namespace = Namespace(np)


class StandInArray:
    """An array of the stand-in library: a NumPy array inside, not one outside."""

    __slots__ = ("_array",)
    __array_ufunc__ = None  # NumPy's ufuncs refuse it; ndarray + stand-in uses ours

    def __init__(self, array: np.ndarray):
        self._array = array

    def __array__(self, *args, **kwargs):
        raise TypeError("a stand-in array is not converted to NumPy implicitly; use .get()")

    def get(self) -> np.ndarray:
        """A host (NumPy) copy, as CuPy's ``get``."""
        CALLS["get"] += 1
        return self._array.copy()

    def __getattr__(self, name):
        if name in ("ctypes", "__array_interface__", "__array_struct__"):
            raise AttributeError(f"a stand-in array has no {name} (no raw host pointer)")
        attribute = getattr(self._array, name)
        if callable(attribute):
            return _Function(attribute, f"ndarray.{name}")
        return wrap(attribute)  # .T, .real; shape, dtype, strides and flags as they are

    def __getitem__(self, index):
        return wrap(self._array[unwrap(index)])

    def __setitem__(self, index, value):
        self._array[unwrap(index)] = unwrap(value)

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self):
        return (wrap(row) for row in self._array)

    def __bool__(self) -> bool:
        return bool(self._array)

    def __float__(self) -> float:
        return float(self._array)

    def __int__(self) -> int:
        return int(self._array)

    def __index__(self) -> int:
        return operator.index(self._array)

    def __repr__(self) -> str:
        return f"StandInArray({self._array!r})"

    __hash__ = None  # type: ignore[assignment]


def _binary(op):
    def method(self, other):
        return wrap(op(self._array, unwrap(other)))
    return method


def _reflected(op):
    def method(self, other):
        return wrap(op(unwrap(other), self._array))
    return method


def _in_place(op):
    def method(self, other):
        op(self._array, unwrap(other))  # the NumPy array changes in place; so does self
        return self
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
              "or", "xor", "lshift", "rshift"):
    _op = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    setattr(StandInArray, f"__{_name}__", _binary(_op))
    setattr(StandInArray, f"__r{_name}__", _reflected(_op))
    setattr(StandInArray, f"__i{_name}__", _in_place(getattr(operator, f"i{_name}")))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(StandInArray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(StandInArray, f"__{_name}__",
            (lambda op: lambda self: wrap(op(self._array)))(getattr(operator, _name)))


def register() -> None:
    """Make the stand-in the device ``DEVICE`` of ``visiongrad.backend``."""
    backend.register_device(DEVICE, StandInArray, namespace)


def unregister() -> None:
    backend.unregister_device(DEVICE)
