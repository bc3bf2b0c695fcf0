"""The compiled EVE/VVE M-step (`gaussmix.engine.kernels.shared_orientation`) against NumPy.

The NumPy path (``GAUSSMIX_COMPILED=0``: `minimise_orientation` and the models'
majorise-minimise steps) is the reference. Both run one algorithm, so from the same
start they must stop at the same orientation to rounding, single M-steps and sequences
of warm-started ones alike (Newton's method, majorise-minimise steps, and Newton taking
over from stalled majorise-minimise steps), and whole fits must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.engine import kernels
from gaussmix.engine.covariance.forms import SingularCovarianceError
from gaussmix.engine.covariance.models import _orientation, ellipsoidal, get_covariance_model
from mixture_samples import draw_mixture

pytest.importorskip("numba")
from gaussmix.engine.kernels import shared_orientation  # noqa: E402  (needs Numba)

SHARED = ["EVE", "VVE"]


def _objective(covariances, scatter, counts):
    """``sum_k n_k log det Sigma_k + tr(Sigma_k^-1 W_k)``, written out independently."""
    return sum(
        n * np.linalg.slogdet(c)[1] + np.trace(np.linalg.solve(c, w))
        for c, w, n in zip(covariances, scatter, counts)
    )


def _random_scatter(rng, n_components, n_features, counts, spread=1.0):
    """Scatters about a shared random orientation, each turned away from it by ``spread``.

    ``spread=1`` gives unrelated orientations (a hard, non-convex problem); a small
    spread keeps the minimum near the start, so that d = 30 stays quick in NumPy.
    """
    basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    variances = rng.uniform(0.2, 5.0, size=(n_components, n_features))
    factors = (
        basis * np.sqrt(variances)[:, None, :]
        + spread * rng.normal(size=(n_components, n_features, n_features))
    ) @ np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    scatter = factors @ factors.transpose(0, 2, 1)
    return scatter * counts[:, None, None]


def _m_step(monkeypatch, compiled, name, scatter, counts, **settings):
    # The kernel is checked at every size, also above the bound where models use it.
    monkeypatch.setattr(ellipsoidal, "_COMPILED_MAX_FEATURES", 64)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1" if compiled else "0")
    return get_covariance_model(name, **settings).estimate_covariances(scatter, counts, None)


def _assert_same_m_step(compiled, reference, scatter, counts):
    ours, theirs = _objective(compiled, scatter, counts), _objective(reference, scatter, counts)
    assert ours == pytest.approx(theirs, rel=1e-10)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(compiled, reference, rtol=0, atol=1e-7 * scale)


def test_the_constants_are_the_numpy_paths():
    for name in [
        "_MAX_ANGLE",
        "_MAX_HALVINGS",
        "_REUSE_RATIO",
        "_INITIAL_DAMPING",
        "_MIN_DAMPING",
        "_SCALE_FLOOR",
        "_DAMPING_FACTOR",
        "_DAMPED_REUSE",
        "_DAMPED_TRUST",
        "_EXACT_RETRY",
    ]:
        assert getattr(shared_orientation, name) == getattr(_orientation, name), name
    assert shared_orientation.NEWTON_MAX_FEATURES == ellipsoidal._NEWTON_MAX_FEATURES
    assert (
        shared_orientation.NEWTON_FALLBACK_MAX_FEATURES == ellipsoidal._NEWTON_FALLBACK_MAX_FEATURES
    )
    assert shared_orientation._MAJORISER_MARGIN == ellipsoidal._MAJORISER_MARGIN


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("n_components", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n_features, spread", [(2, 1.0), (4, 1.0), (10, 1.0), (30, 0.05)])
def test_one_m_step_equals_the_numpy_paths(monkeypatch, name, n_components, n_features, spread):
    # d = 30 takes the majorise-minimise steps (above 24 features) and, where they
    # stall, Newton's method.
    rng = np.random.default_rng(100 * n_features + n_components)
    counts = rng.uniform(20.0, 60.0, n_components)
    scatter = _random_scatter(rng, n_components, n_features, counts, spread)
    reference = _m_step(monkeypatch, False, name, scatter, counts)
    compiled = _m_step(monkeypatch, True, name, scatter, counts)
    _assert_same_m_step(compiled, reference, scatter, counts)


@pytest.mark.parametrize("name", SHARED)
def test_badly_scaled_m_step_with_damped_hessians_equals_the_numpy_paths(monkeypatch, name):
    # Columns from 1e-3 to 1e3: most Hessians are indefinite and damped, and damped
    # models are reused, before Newton's exact steps return near the minimum.
    rng = np.random.default_rng(0)
    counts = np.array([40.0, 25.0, 60.0, 30.0])
    scatter = _random_scatter(rng, 4, 6, counts)
    scales = np.logspace(-3, 3, 6)
    scatter = scatter * np.outer(scales, scales)
    settings = {"inner_tol": 1e-10, "inner_max_iter": 1000}
    reference = _m_step(monkeypatch, False, name, scatter, counts, **settings)
    compiled = _m_step(monkeypatch, True, name, scatter, counts, **settings)
    _assert_same_m_step(compiled, reference, scatter, counts)


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("inner_max_iter", [3, 1000])
def test_majorise_minimise_and_its_newton_fallback_equal_the_numpy_paths(
    monkeypatch, name, inner_max_iter
):
    # At d = 4 with the bound lowered: 3 steps stall (Newton's method then takes over),
    # 1000 converge.
    monkeypatch.setattr(ellipsoidal, "_NEWTON_MAX_FEATURES", 2)
    rng = np.random.default_rng(7)
    counts = np.array([30.0, 50.0, 20.0])
    scatter = _random_scatter(rng, 3, 4, counts)
    settings = {"inner_tol": 1e-10, "inner_max_iter": inner_max_iter}
    reference = _m_step(monkeypatch, False, name, scatter, counts, **settings)
    compiled = _m_step(monkeypatch, True, name, scatter, counts, **settings)
    _assert_same_m_step(compiled, reference, scatter, counts)


def _em_like_sequence(rng, n_components, n_features, n_steps):
    """Scatter and counts drifting slowly, as between EM iterations."""
    counts = rng.uniform(20.0, 60.0, n_components)
    scatter = _random_scatter(rng, n_components, n_features, counts)
    sequence = []
    for _ in range(n_steps):
        noise = rng.normal(scale=0.02, size=scatter.shape)
        scatter = scatter + counts[:, None, None] * (noise @ noise.transpose(0, 2, 1)) / 10
        counts = counts * rng.uniform(0.98, 1.02, n_components)
        sequence.append((scatter.copy(), counts.copy()))
    return sequence


def _estimates(monkeypatch, compiled, name, sequence):
    """M-steps over ``sequence``, each handed the last estimate (warm starts, kept Hessians)."""
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1" if compiled else "0")
    model, previous, estimates = get_covariance_model(name), None, []
    for scatter, counts in sequence:
        previous = model.estimate(scatter, counts, 1e-6, previous)
        estimates.append(previous.covariances)
    return estimates


@pytest.mark.parametrize("name", SHARED)
def test_warm_started_m_steps_equal_the_numpy_paths(monkeypatch, name):
    sequence = _em_like_sequence(np.random.default_rng(9), 3, 5, 8)
    reference = _estimates(monkeypatch, False, name, sequence)
    compiled = _estimates(monkeypatch, True, name, sequence)
    for ours, theirs, (scatter, counts) in zip(compiled, reference, sequence):
        _assert_same_m_step(ours, theirs, scatter, counts)


@pytest.mark.parametrize("name", SHARED)
def test_the_loop_entry_point_keeps_the_state_as_the_model_does(monkeypatch, name):
    # `shared_orientation_covariances`, for compiled EM loops, carries the orientation
    # and the Hessian factors itself; fed the model's own starts it gives its estimates.
    sequence = _em_like_sequence(np.random.default_rng(3), 3, 4, 6)
    expected = _estimates(monkeypatch, True, name, sequence)
    first_scatter = sequence[0][0]
    orientation = np.ascontiguousarray(np.linalg.eigh(first_scatter.sum(axis=0))[1])
    pairs = shared_orientation.n_pairs(4)
    factors = np.empty((2, pairs, pairs))
    state = np.array([-1, 0], dtype=np.int64)
    covariances = np.empty_like(first_scatter)
    for (scatter, counts), theirs in zip(sequence, expected):
        status = shared_orientation.shared_orientation_covariances(
            scatter, counts, name == "VVE", 1e-8, 100, orientation, factors, state, covariances
        )
        assert status != shared_orientation.NOT_FINITE
        np.testing.assert_allclose(covariances + 1e-6 * np.eye(4), theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("compiled", [False, True])
def test_a_component_without_spread_along_a_column_is_refused(monkeypatch, name, compiled):
    rng = np.random.default_rng(1)
    counts = np.array([30.0, 40.0])
    # No spread along the last column (a feature constant in the data): the start's
    # rotated variance there is zero, the objective not finite, and no estimate exists.
    scatter = _random_scatter(rng, 2, 3, counts)
    scatter[:, 2, :] = scatter[:, :, 2] = 0.0
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1" if compiled else "0")
    with pytest.raises(SingularCovarianceError):
        get_covariance_model(name).estimate(scatter, counts, 0.0)


def _rows(n_features, seed):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=4.0, size=(3, n_features))
    mixing = np.eye(n_features) + 0.3 * rng.normal(size=(3, n_features, n_features))
    covariances = mixing @ mixing.transpose(0, 2, 1)
    return draw_mixture(400, means, covariances, np.full(3, 1 / 3), seed)[0]


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("n_features", [3, 6])
def test_whole_fits_equal_the_numpy_paths(monkeypatch, name, n_features):
    X = _rows(n_features, seed=n_features)
    settings = {
        "n_components": 3,
        "covariance_type": name,
        "init_params": "kmeans",
        "random_state": 0,
        "tol": 1e-8,
    }
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    reference = GaussianMixture(**settings).fit(X)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    compiled = GaussianMixture(**settings).fit(X)
    assert compiled.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(compiled.lower_bounds_, reference.lower_bounds_, rtol=1e-10)
    # Each M-step stops within its tolerance of the minimum; rounding may stop one a step
    # earlier or later, and EM carries such differences along flat directions.
    np.testing.assert_allclose(compiled.weights_, reference.weights_, rtol=1e-7)
    scale = np.abs(reference.means_).max()
    np.testing.assert_allclose(compiled.means_, reference.means_, rtol=0, atol=1e-7 * scale)
    scale = np.abs(reference.covariances_).max()
    np.testing.assert_allclose(
        compiled.covariances_, reference.covariances_, rtol=0, atol=1e-7 * scale
    )


@pytest.mark.parametrize("name", SHARED)
def test_the_compiled_m_step_runs_unless_switched_off(monkeypatch, name):
    calls = []
    kernel = shared_orientation.shared_orientation_m_step

    def spy(*arguments):
        calls.append(arguments[0].shape)
        return kernel(*arguments)

    monkeypatch.setattr(shared_orientation, "shared_orientation_m_step", spy)
    assert ellipsoidal._COMPILED_MAX_FEATURES >= 3
    X = _rows(3, seed=1)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    fit = GaussianMixture(3, covariance_type=name, init_params="kmeans", random_state=0).fit(X)
    # The M-step from the initial responsibilities, then one per iteration.
    assert len(calls) == fit.n_iter_ + 1
    assert set(calls) == {(3, 3, 3)}
    calls.clear()
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    GaussianMixture(3, covariance_type=name, init_params="kmeans", random_state=0).fit(X)
    assert calls == []
