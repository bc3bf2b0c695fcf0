"""Hypothesis strategies: awkward data sets and estimator settings.

Every structural choice (sizes, dtype, memory layout, duplicated or constant or collinear
columns, scale, weights) is drawn by Hypothesis so that failures shrink to a small,
readable counterexample; the bulk values come from a NumPy generator seeded by a drawn
integer (shrinking a seed is meaningless, shrinking the structure is what helps).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import matplotlib
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gaussmix.engine.covariance.models import MODELS

matplotlib.use("Agg")

# ------------------------------------------------------------------ Hypothesis profiles
# Registered here rather than in a conftest.py: every test module of this folder imports
# this one first, and a second module named ``conftest`` would shadow tests/conftest.py
# for the test files that import from it.
#
# ``HYPOTHESIS_PROFILE=ci`` (the default) runs a few thousand generated cases in total,
# derandomised so that CI is reproducible; ``HYPOTHESIS_PROFILE=release`` runs twenty
# times as many with fresh random seeds and Hypothesis's example database, for release
# checks (``HYPOTHESIS_PROFILE=release python -m pytest tests/reliability -q``); ``smoke``
# runs ten per test while developing. See docs/reliability.md.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "release",
    max_examples=3000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "smoke",
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

COVARIANCE_MODELS = [model.name if hasattr(model, "name") else str(model) for model in MODELS]
SKLEARN_NAMES = ["full", "tied", "diag", "spherical"]
SCALES = [1e-150, 1e-100, 1e-30, 1e-8, 1e-3, 1.0, 1e3, 1e8, 1e30, 1e100, 1e150]
DTYPES = ["float64", "float32", "float16", ">f8", ">f4", "int64", "int8", "uint8", "bool"]
LAYOUTS = ["C", "F", "strided", "readonly"]


def budget(fraction: float) -> int:
    """``fraction`` of the active profile's example count (at least 5)."""
    return max(5, int(settings.default.max_examples * fraction))


@dataclass
class Case:
    """A generated data set with the choices that made it (shown when a test fails)."""

    X: np.ndarray
    sample_weight: np.ndarray | None
    description: str

    def __repr__(self) -> str:
        return f"Case({self.description}, shape={self.X.shape}, dtype={self.X.dtype})"


def _with_layout(X: np.ndarray, layout: str) -> np.ndarray:
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":  # every other row and column of a bigger array: not contiguous
        big = np.zeros((2 * X.shape[0], 2 * X.shape[1]), dtype=X.dtype)
        big[::2, ::2] = X
        return big[::2, ::2]
    if layout == "readonly":
        X = X.copy()
        X.flags.writeable = False
        return X
    return np.ascontiguousarray(X)


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "b":
        return values > np.median(values)
    if kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.round(values), info.min, info.max).astype(dtype)
    with np.errstate(over="ignore"):  # float16 of 1e30 is inf: the estimator must refuse it
        return values.astype(dtype)


@st.composite
def datasets(draw, max_rows: int = 3000, max_features: int = 50, max_values: int = 6000):
    """A data set of awkward shape, content, dtype and layout, with optional weights."""
    n_features = draw(st.integers(1, 3) | st.integers(1, 8) | st.integers(1, max_features))
    n_rows = draw(st.integers(1, 12) | st.integers(1, 200) | st.integers(1, max_rows))
    n_rows = max(1, min(n_rows, max_values // n_features))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_clusters = draw(st.integers(1, 4))
    centres = rng.normal(scale=5.0, size=(n_clusters, n_features))
    X = centres[rng.integers(n_clusters, size=n_rows)] + rng.normal(size=(n_rows, n_features))
    notes = [f"seed={seed}", f"clusters={n_clusters}"]
    if draw(st.booleans()):
        n_copies = draw(st.integers(1, n_rows))
        X[:n_copies] = X[0]
        notes.append(f"first {n_copies} rows identical")
    if draw(st.booleans()):
        column = draw(st.integers(0, n_features - 1))
        X[:, column] = draw(st.sampled_from([0.0, 1.0, -7.5]))
        notes.append(f"column {column} constant")
    if n_features > 1 and draw(st.booleans()):
        X[:, -1] = 2.0 * X[:, 0] - 1.0
        notes.append("last column = 2 * first - 1")
    scale = draw(st.sampled_from(SCALES))
    offset = draw(st.sampled_from([0.0, 0.0, 1.0, 1e6]))
    dtype = draw(st.sampled_from(DTYPES))
    if np.dtype(dtype).kind == "f":
        X = X * scale + offset * scale
        notes.append(f"scale={scale:g}, offset={offset:g}*scale")
    X = _with_layout(_cast(X, dtype), draw(st.sampled_from(LAYOUTS)))
    notes.append(
        f"layout C={X.flags.c_contiguous} F={X.flags.f_contiguous} writeable={X.flags.writeable}"
    )
    weights = None
    if draw(st.booleans()):
        weights = rng.integers(0, 4, size=n_rows).astype(np.float64)
        weights[draw(st.integers(0, n_rows - 1))] = 1.0  # not all zero
        notes.append(f"weights with {int(np.sum(weights == 0))} zeros")
    return Case(X, weights, ", ".join(notes))


def estimator_settings(n_rows: int):
    """Constructor arguments: any covariance model, any number of components up to n_rows."""
    return st.fixed_dictionaries(
        {
            "n_components": st.integers(1, min(n_rows, 4)) | st.integers(1, max(1, n_rows)),
            "covariance_type": st.sampled_from(COVARIANCE_MODELS + SKLEARN_NAMES),
            "reg_covar": st.sampled_from([1e-6, 1e-6, 0.0, 1e-3]),
            "init_params": st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
            "max_iter": st.integers(1, 40),
            "random_state": st.integers(0, 1000),
        }
    )
