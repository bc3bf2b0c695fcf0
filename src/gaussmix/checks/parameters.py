"""Declarative checks of constructor parameters and of per-sample inputs.

Each rule says what is wrong and what to do instead; estimators run them in ``fit``
(``__init__`` only stores its arguments, as scikit-learn requires).
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from ..engine.data.values import check_magnitude as check_values
from .sklearn_wording import bad_shape, with_advice

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
    "non_numeric_columns",
    "numeric_columns_required",
    "missing_values_explained",
    "NAN_SENTENCE",
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


def check_initial_array(
    name: str, value, expected_shape: tuple[int, ...], sklearn_name: str | None = None
) -> np.ndarray:
    """Convert a user-given initial parameter to a finite float array of the expected shape.

    ``sklearn_name`` is what scikit-learn calls the parameter in its shape error
    (``"weights"``, ``"full precision"``, ...); its sentence then comes first.
    """
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}.") from exc
    if array.shape != tuple(expected_shape):
        advice = (
            f"{name} has shape {array.shape}; expected {tuple(expected_shape)} "
            "(n_components and n_features must match the data and n_components)."
        )
        if sklearn_name is not None:
            advice = with_advice(
                bad_shape(sklearn_name, tuple(expected_shape), array.shape), advice
            )
        raise ValueError(advice)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinity; pass finite values.")
    return array


def check_magnitude(X: np.ndarray, feature_names=None) -> None:
    """Refuse data whose second moments would overflow X's floating-point type.

    The check every data source makes (`gaussmix.engine.data.values.check_magnitude`),
    here for rows held in memory; ``feature_names`` name the offending column.
    """
    check_values(X, feature_names=feature_names)


def non_numeric_columns(X) -> list:
    """The columns of ``X`` that cannot be read as numbers: names of a DataFrame's,
    indices of a 2-d array's; empty for anything else."""
    if hasattr(X, "columns") and hasattr(X, "__getitem__"):
        columns = [(name, X[name]) for name in X.columns]
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "OUS":
        columns = [(index, X[:, index]) for index in range(X.shape[1])]
    else:
        return []
    bad = []
    for name, values in columns:
        try:
            np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            bad.append(name)
    return bad


@contextlib.contextmanager
def numeric_columns_required(X):
    """Context that explains a failed conversion of ``X`` to numbers by its columns.

    NumPy's "could not convert string to float: 'Normal'" (kept as the first sentence)
    becomes a message that names the non-numeric columns and what to do with them.
    """
    try:
        yield
    except (TypeError, ValueError) as exc:
        bad = non_numeric_columns(X)
        if not bad:
            raise
        what = "column(s)" if hasattr(X, "columns") else "column(s) at index"
        drop = (
            f"X.drop(columns={bad!r})"
            if hasattr(X, "columns")
            else f"numpy.delete(X, {bad!r}, axis=1)"
        )
        error_type = TypeError if isinstance(exc, TypeError) else ValueError
        raise error_type(
            f"{str(exc).rstrip('.')}. X has non-numeric {what} {bad!r}: a Gaussian mixture "
            f"is fitted to numbers only. Drop them (e.g. {drop}) or encode them as numbers; "
            "a class column can be kept aside to compare with the clusters, or passed as y "
            "to MixtureClassifier."
        ) from exc


#: scikit-learn's first sentence when X holds NaN (kept: code matches it).
NAN_SENTENCE = "Input X contains NaN."


@contextlib.contextmanager
def missing_values_explained(estimator):
    """Context that turns scikit-learn's NaN refusal into gaussmix's advice.

    scikit-learn's message recommends other estimators; a gaussmix estimator with a
    ``missing`` parameter handles missing values itself with ``missing="marginalize"``.
    """
    try:
        yield
    except ValueError as exc:
        if "NaN" not in str(exc) or getattr(estimator, "missing", None) != "error":
            raise
        raise ValueError(
            f"{NAN_SENTENCE} {type(estimator).__name__} has missing='error', which refuses "
            "missing values: fit it with missing='marginalize' to fit, predict and score "
            "incomplete rows from their observed values (the marginal density), or impute "
            "the values beforehand."
        ) from exc
