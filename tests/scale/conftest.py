"""Data for the scale-out tests, drawn with NumPy alone."""

import numpy as np
import pytest
from scale_data import MEANS, WEIGHTS, draw_blobs


@pytest.fixture(scope="module")
def blobs():
    """3,000 rows of `draw_blobs`."""
    return draw_blobs(3000, seed=1)


@pytest.fixture(scope="module")
def start(blobs):
    """Initial parameters as estimator keywords: the true means and weights, unit precisions."""
    return {
        "n_components": 3,
        "means_init": MEANS,
        "weights_init": WEIGHTS,
        "precisions_init": np.stack([np.eye(3)] * 3),
        "tol": 1e-8,
        "max_iter": 50,
    }
