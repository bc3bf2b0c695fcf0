"""Parameter arrays that cannot fit in memory are refused before anything is allocated."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix.engine.core.memory as memory
from gaussmix import GaussianMixture


def test_covariances_beyond_memory_are_refused_up_front():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20_000))  # 24 MB; 150 full 20,000^2 covariances: ~3.6 TB
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="GiB.*Use fewer components") as info:
            GaussianMixture(150, random_state=0).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "n_components=150 with 20000 features" in str(info.value)
    assert "'diag'" in str(info.value)
    assert peak < 200 * 2**20  # validating X copies it at most once or twice


@pytest.mark.parametrize(
    "covariance_type, fits", [("full", False), ("VVV", False), ("diag", True), ("EII", True)]
)
def test_the_limit_follows_the_model_s_storage(monkeypatch, covariance_type, fits):
    """With 64 MiB available, 3 x 1,000^2 full covariances (~144 MB) do not fit; diagonal
    and spherical ones do."""
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 64 * 2**20)
    X = np.random.default_rng(1).normal(size=(30, 1000))
    model = GaussianMixture(3, covariance_type=covariance_type, max_iter=2, random_state=0)
    if fits:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X)
        assert np.all(np.isfinite(model.means_))
    else:
        with pytest.raises(ValueError, match="more than the 0.0625 GiB of memory available"):
            model.fit(X)
        assert not hasattr(model, "converged_")


def test_available_memory_is_known_here():
    available = memory.available_memory_bytes()
    assert available is None or available > 0
