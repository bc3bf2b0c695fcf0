"""Shared fixtures: data drawn from known mixtures, generated independently of gaussmix."""

import numpy as np
import pytest

from chapter_mixture import CHAPTER_COVARIANCES, CHAPTER_MEANS, CHAPTER_WEIGHTS
from mixture_samples import draw_mixture


@pytest.fixture(scope="session")
def chapter_data():
    """1,500 rows from the chapter's three-component mixture."""
    return draw_mixture(1500, CHAPTER_MEANS, CHAPTER_COVARIANCES, CHAPTER_WEIGHTS, seed=42)


@pytest.fixture(scope="session")
def five_d_data():
    """600 rows from a 5-d, three-component mixture with random full covariances."""
    rng = np.random.default_rng(7)
    means = rng.normal(scale=4.0, size=(3, 5))
    factors = rng.normal(size=(3, 5, 5))
    covariances = factors @ factors.transpose(0, 2, 1) / 5 + 0.3 * np.eye(5)
    return draw_mixture(600, means, covariances, np.array([0.5, 0.3, 0.2]), seed=8)
