"""Online EM: partial_fit and mini-batch fit reach the batch fit's likelihood."""

import numpy as np
import pytest
from scale_data import draw_blobs
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture
from gaussmix.engine.core.estep import statistics_from_responsibilities
from gaussmix.engine.core.stepwise import blend, reshift, step_size
from gaussmix.engine.covariance.scatter import DIAGONAL_SCATTER, FULL_SCATTER


@pytest.fixture(scope="module")
def rows_200k():
    """200,000 rows, shuffled (mixture draws are exchangeable)."""
    return draw_blobs(200_000, seed=21)


@pytest.fixture(scope="module")
def batch_score(rows_200k):
    """Mean log-likelihood of scikit-learn's full-EM fit of the 200,000 rows."""
    return SklearnGaussianMixture(3, random_state=0).fit(rows_200k).score(rows_200k)


@pytest.mark.parametrize("scatter", [FULL_SCATTER, DIAGONAL_SCATTER])
def test_reshift_equals_statistics_accumulated_about_the_new_shift(blobs, scatter):
    rng = np.random.default_rng(0)
    resp = rng.dirichlet(np.ones(3), size=blobs.shape[0])
    weights = rng.uniform(size=blobs.shape[0])
    new_shift = rng.normal(size=(3, 3))
    about_zero = statistics_from_responsibilities(blobs, weights, resp, np.zeros((3, 3)), scatter)
    direct = statistics_from_responsibilities(blobs, weights, resp, new_shift, scatter)
    moved = reshift(about_zero, new_shift, scatter)
    np.testing.assert_allclose(moved.first, direct.first, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(moved.second, direct.second, rtol=1e-10, atol=1e-9)


def test_blend_is_a_convex_combination_of_per_sample_statistics(blobs):
    rng = np.random.default_rng(1)
    shift = np.zeros((3, 3))
    halves = [
        statistics_from_responsibilities(
            part, np.ones(len(part)), rng.dirichlet(np.ones(3), len(part)), shift, FULL_SCATTER
        )
        for part in (blobs[:1000], blobs[1000:])
    ]
    blended = blend(blend(None, halves[0], 1.0, FULL_SCATTER), halves[1], 0.25, FULL_SCATTER)
    expected = 0.75 * halves[0].second / 1000 + 0.25 * halves[1].second / 2000
    np.testing.assert_allclose(blended.second, expected, rtol=1e-12)
    assert blended.total_weight == pytest.approx(1.0)
    assert step_size(3, 10.0, 0.7) == pytest.approx(13.0**-0.7)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_three_passes_of_minibatch_em_reach_the_batch_likelihood(rows_200k, batch_score):
    expected = batch_score
    online = GaussianMixture(3, batch_size=10_000, max_iter=3, tol=0.0, random_state=0)
    online.fit(rows_200k)
    assert online.n_iter_ == 3
    assert online.n_steps_ == 3 * 20
    assert abs(online.score(rows_200k) - expected) < 0.01 * abs(expected)


def test_partial_fit_converges_and_is_usable_after_every_call(rows_200k, batch_score):
    expected = batch_score
    gm = GaussianMixture(3, random_state=0, learning_offset=2.0, learning_decay=0.6)
    for start in range(0, 100_000, 10_000):
        gm.partial_fit(rows_200k[start : start + 10_000])
        assert np.isfinite(gm.score(rows_200k[:1000]))
        assert gm.predict(rows_200k[:5]).shape == (5,)
    assert gm.n_steps_ == 10
    assert abs(gm.score(rows_200k) - expected) < 0.01 * abs(expected)


def test_partial_fit_matches_features_and_checks_its_parameters(blobs):
    gm = GaussianMixture(3, random_state=0).partial_fit(blobs[:500])
    with pytest.raises(ValueError, match="features"):
        gm.partial_fit(blobs[:100, :2])
    with pytest.raises(ValueError, match="learning_decay"):
        GaussianMixture(3, learning_decay=0.4).partial_fit(blobs)
    with pytest.raises(ValueError, match="batch_size"):
        GaussianMixture(3, batch_size=0).fit(blobs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_minibatch_fit_on_a_memmap_equals_the_in_memory_one(tmp_path, rows_200k):
    rows = rows_200k[:30_000]
    path = tmp_path / "rows.npy"
    np.save(path, rows)
    options = {"batch_size": 5_000, "max_iter": 2, "random_state": 3}
    in_memory = GaussianMixture(3, **options).fit(rows)
    mapped = GaussianMixture(3, **options).fit(np.load(path, mmap_mode="r"))
    np.testing.assert_allclose(mapped.means_, in_memory.means_, rtol=1e-12)
    assert mapped.n_steps_ == 2 * 6
