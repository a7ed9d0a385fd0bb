"""The estimator conventions every classical model here follows, and input validation.

scikit-learn's rules, without depending on it: ``__init__`` only stores its arguments
(under the same names), ``fit`` returns ``self``, attributes learned by ``fit`` end in an
underscore, and ``get_params``/``set_params`` read and write the constructor arguments.

Input rule (all estimators): a 2-D array is ``(N, D)``, one sample per row. An array with
more axes, such as images ``(N, C, H, W)`` or ``(N, H, W)``, is flattened to
``(N, prod(rest))`` in C order, so a pixel's feature index is ``(c * H + h) * W + w``.
Integer and boolean inputs become float64; float32 and float64 keep their dtype. NaN or
infinity anywhere in the data is an error.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..data.errors import NotFittedError

__all__ = ["BaseEstimator", "ClassifierMixin", "NotFittedError", "as_2d", "check_labels"]


class BaseEstimator:
    """Base class: ``get_params``, ``set_params`` and a readable ``repr``.

    Subclasses list their hyperparameters as keyword arguments of ``__init__`` and store
    each one unchanged under the same attribute name.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind is not p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments as a dict (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseEstimator:
        """Set constructor arguments by name; return ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"valid parameters are {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; "
                                 "call fit(X, y) before using it")

    def _check_n_features(self, X: np.ndarray) -> None:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                             f"was fitted with {self.n_features_in_} features")


class ClassifierMixin:
    """``score(X, y)``: the mean accuracy of ``predict(X)`` against ``y``."""

    def score(self, X, y) -> float:
        """Mean accuracy, the fraction of samples with ``predict(X) == y``."""
        y = check_labels(y, len(as_2d(X)))
        return float(np.mean(self.predict(X) == y))


def as_2d(X, name: str = "X") -> np.ndarray:
    """Validate ``X`` and return it as a floating ``(N, D)`` array (see the module rule)."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"{name} must have shape (N, D) or (N, C, H, W); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    X = X.reshape(X.shape[0], -1)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return X


def check_labels(y, n_samples: int) -> np.ndarray:
    """Validate labels: one per sample, a 1-D array of integers."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y must be 1-D with one label per sample ({n_samples}), "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    return y


