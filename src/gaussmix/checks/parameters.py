"""Declarative checks of constructor parameters and of per-sample inputs.

Each rule says what is wrong and what to do instead; estimators run them in ``fit``
(``__init__`` only stores its arguments, as scikit-learn requires).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from ..engine.data.values import check_magnitude as check_values

__all__ = [
    "Rule",
    "integer",
    "real",
    "one_of",
    "boolean",
    "optional_array",
    "validate_parameters",
    "check_sample_weight",
    "check_initial_array",
    "check_magnitude",
]


@dataclass(frozen=True)
class Rule:
    """A named constraint on one parameter value.

    ``accepts`` may answer with a NumPy bool: comparing a NumPy scalar gives one.
    """

    accepts: Callable[[object], bool | np.bool_]
    expected: str | Callable[[], str]

    def check(self, name: str, value: object) -> None:
        """Raise a ValueError (or TypeError for a wrong type) if ``value`` is not accepted."""
        if not self.accepts(value):
            expected = self.expected() if callable(self.expected) else self.expected
            raise ValueError(f"Invalid {name}={value!r}: expected {expected}.")


def is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    """Whether ``value`` is an integer (not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[float | np.integer[Any] | np.floating[Any]]:
    """Whether ``value`` is a real number (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(minimum: int) -> Rule:
    """An integer ``>= minimum``."""
    return Rule(lambda v: is_int(v) and v >= minimum, f"an integer >= {minimum}")


def real(minimum: float) -> Rule:
    """A finite real ``>= minimum``."""
    return Rule(
        lambda v: is_real(v) and np.isfinite(v) and v >= minimum, f"a finite number >= {minimum}"
    )


def one_of(options: Iterable[str] | Callable[[], Iterable[str]]) -> Rule:
    """One of the given strings; a callable gives them anew at every check (a registry)."""
    if callable(options):
        current = options
    else:
        fixed = tuple(options)

        def current():
            return fixed

    return Rule(
        lambda v: isinstance(v, str) and v in tuple(current()),
        lambda: "one of " + ", ".join(map(repr, current())),
    )


def boolean() -> Rule:
    """True or False."""
    return Rule(lambda v: isinstance(v, (bool, np.bool_)), "True or False")


def optional_array() -> Rule:
    """None or something array-like (checked in detail where its shape is known)."""
    return Rule(
        lambda v: v is None or isinstance(v, (np.ndarray, list, tuple)),
        "None or an array",
    )


def seed_like() -> Rule:
    """None, an integer, or a NumPy RandomState."""
    return Rule(
        lambda v: v is None or is_int(v) or isinstance(v, np.random.RandomState),
        "None, an integer or a numpy.random.RandomState",
    )


def validate_parameters(params: Mapping[str, object], rules: Mapping[str, Rule]) -> None:
    """Check every parameter that has a rule."""
    for name, rule in rules.items():
        rule.check(name, params[name])


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray:
    """Validate ``sample_weight``: None or n_samples finite, non-negative numbers, not all zero."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "sample_weight must be numbers, one per row of X; got a value that is not numeric."
        ) from exc
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {weights.shape} but X has {n_samples} rows; "
            f"pass one weight per row, shape ({n_samples},)."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinity; pass finite weights.")
    if np.any(weights < 0):
        raise ValueError("sample_weight contains negative values; weights must be >= 0.")
    if not np.any(weights > 0):
        raise ValueError(
            "sample_weight is zero for every row; at least one row needs a positive weight."
        )
    return weights.astype(dtype, copy=False)


def check_initial_array(name: str, value, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Convert a user-given initial parameter to a finite float array of the expected shape."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}.") from exc
    if array.shape != tuple(expected_shape):
        raise ValueError(
            f"{name} has shape {array.shape}; expected {tuple(expected_shape)} "
            "(n_components and n_features must match the data and n_components)."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; pass finite values.")
    return array


def check_magnitude(X: np.ndarray, feature_names=None) -> None:
    """Refuse data whose second moments would overflow X's floating-point type.

    The check every data source makes (`gaussmix.engine.data.values.check_magnitude`),
    here for rows held in memory; ``feature_names`` name the offending column.
    """
    check_values(X, feature_names=feature_names)
