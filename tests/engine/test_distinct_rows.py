"""Distinct rows per component (the degeneracy rule's count), on edge values."""

import math

import numpy as np
import pytest

from gaussmix.engine.core.degeneracy import distinct_rows_per_component

#: Values whose equality is easy to get wrong: signed zeros, NaNs with other payloads,
#: infinities and subnormals.
AWKWARD = np.array(
    [
        0.0,
        -0.0,
        np.nan,
        -np.nan,
        np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), dtype=np.float64)[0],
        1.0,
        -1.0,
        np.inf,
        -np.inf,
        5e-324,
        -5e-324,
    ]
)


def _brute_force(rows, at_most):
    """Equivalence classes of rows by pairwise comparison (NaN equals NaN, -0.0 equals 0.0)."""

    def equal(a, b):
        return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))

    classes = []
    for row in rows.tolist():
        if not any(equal(row, other) for other in classes):
            classes.append(row)
    return min(len(classes), at_most)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_counts_equal_a_brute_force_count(dtype):
    rng = np.random.default_rng(0)
    for trial in range(400):
        n_rows, n_features = int(rng.integers(0, 40)), int(rng.integers(1, 5))
        pool = AWKWARD if trial % 2 else np.arange(3.0)
        X = rng.choice(pool, size=(n_rows, n_features)).astype(dtype)
        members = rng.random((n_rows, 3)) < 0.7
        at_most = int(rng.integers(1, 8))
        counts = distinct_rows_per_component(X, members, at_most)
        expected = [_brute_force(X[members[:, k]], at_most) for k in range(3)]
        assert counts.tolist() == expected
