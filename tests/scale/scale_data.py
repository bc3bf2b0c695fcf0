"""Rows for the scale-out tests, drawn with NumPy alone."""

import numpy as np

MEANS = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [-4.0, 5.0, 3.0]])
WEIGHTS = np.array([0.3, 0.45, 0.25])


def draw_blobs(n_samples, seed):
    """Rows from a 3-component, 3-d mixture with correlated covariances."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(WEIGHTS), size=n_samples, p=WEIGHTS)
    factors = np.array([[[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.3, 0.8]]] * 3)
    factors = factors * np.array([1.0, 0.7, 1.3])[:, None, None]
    noise = rng.standard_normal((n_samples, 3))
    return MEANS[labels] + np.einsum("nij,nj->ni", factors[labels], noise)
