"""How a user calls gaussmix's public API; type-checked by mypy in CI (see pyproject).

Not a test module (pytest collects ``test_*.py`` only); ``test_static_checks`` imports
it to make sure it also runs.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import gaussmix
from gaussmix import AnomalyDetector, GaussianMixture


def fit_save_load_predict() -> np.ndarray:
    """Fit, save, load and predict, as the README shows."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(50, 2)), rng.normal(5.0, 1.0, size=(50, 2))])
    model: GaussianMixture = GaussianMixture(n_components=2, random_state=0).fit(X)
    detector = AnomalyDetector(n_components=2, random_state=0).fit(X)
    path = os.path.join(tempfile.mkdtemp(), "model.json")
    gaussmix.save(model, path, metadata={"source": "example"})
    loaded = gaussmix.load(path)
    labels: np.ndarray = loaded.predict(X)
    bic: float = model.bic(X)
    assert np.isfinite(bic) and detector.predict(X).shape == (100,)
    version: str = gaussmix.__version__
    assert version
    return labels
