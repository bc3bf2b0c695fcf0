"""Rows drawn from known Gaussian mixtures with NumPy alone (independent of gaussmix).

A plain module beside conftest.py: tests import it by name (``from mixture_samples import
draw_mixture``), which works from any working directory, unlike ``tests.conftest``.
"""

import numpy as np


def draw_mixture(n_samples, means, covariances, weights, seed):
    """Rows and labels drawn from a Gaussian mixture with NumPy alone."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n_samples, p=weights)
    X = np.empty((n_samples, means.shape[1]))
    for k, (mean, covariance) in enumerate(zip(means, covariances)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(mean, covariance, rows.sum())
    return X, labels
