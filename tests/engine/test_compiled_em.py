"""The compiled kernels (`gaussmix.engine.kernels`) against the NumPy path.

The NumPy path (``GAUSSMIX_COMPILED=0``) is the reference: from the same start, a fit
that runs compiled must give the same trace, iteration count, convergence, collapse and
parameters, to rounding. Every model is checked: those with a compiled M-step
(``compiled_constraint``; the iterative VEI, VEE, VEV and EEV's eigendecompositions
included) run their whole EM loop compiled, the others their E-steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaussmix import GaussianMixture, select_model
from gaussmix.engine import kernels
from gaussmix.engine.core.compiled_em import run_em_compiled_first
from gaussmix.engine.core.em import EMMonitor, run_em
from gaussmix.engine.core.estep import chunk_statistics
from gaussmix.engine.core.mstep import m_step
from gaussmix.engine.covariance.forms import DiagonalForm, FullForm, SphericalForm, TiedForm
from gaussmix.engine.covariance.models import get_covariance_model
from gaussmix.engine.covariance.models.registry import MODELS, names_with

pytest.importorskip("numba")

COMPILED = names_with("compiled_constraint")
NOT_COMPILED = [name for name in MODELS if name not in COMPILED]


def generated_mixture(n_samples=300, seed=0):
    """Rows from three well-separated 3-d Gaussians with different shapes."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [-3.0, 7.0, 3.0]])
    scales = [np.diag([1.0, 0.5, 2.0]), np.diag([0.7, 1.5, 0.4]), np.eye(3)]
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    labels = rng.integers(0, 3, size=n_samples)
    noise = rng.normal(size=(n_samples, 3))
    rows = [means[k] + rotation @ scales[k] @ z for k, z in zip(labels, noise)]
    return np.array(rows)


def fitted(monkeypatch, compiled: bool, X, **settings):
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1" if compiled else "0")
    return GaussianMixture(**settings).fit(X)


def assert_same_fit(a, b, rtol=1e-8):
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol)
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=rtol, atol=1e-10)


def test_the_switch_and_the_models_it_covers(monkeypatch):
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    assert not kernels.compiled_em_available()
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    assert kernels.compiled_em_available()
    # Every model but the two whose M-step searches for a shared orientation.
    assert NOT_COMPILED == ["EVE", "VVE"]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_fits_as_the_numpy_path_does(monkeypatch, name):
    X = generated_mixture()
    settings = dict(n_components=3, covariance_type=name, random_state=1, tol=1e-8)
    reference = fitted(monkeypatch, False, X, **settings)
    assert_same_fit(fitted(monkeypatch, True, X, **settings), reference)


ITERATIVE = ["VEI", "VEE", "VEV", "EEV"]


def spy_on_compiled_runs(monkeypatch):
    """Record every `CompiledRun` the fits return (the kernels really ran)."""
    import gaussmix.engine.core.compiled_em as compiled_em

    runs = []
    original = compiled_em.run_compiled_em

    def recorded(*args, **kwargs):
        runs.append(original(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(compiled_em, "run_compiled_em", recorded)
    return runs


@pytest.mark.parametrize("name", ITERATIVE)
@pytest.mark.parametrize("n_components, seed", [(3, 0), (4, 5)])
def test_iterative_m_steps_run_compiled_as_the_numpy_path_does(
    monkeypatch, name, n_components, seed
):
    """VEI, VEE, VEV, EEV: the whole fit runs in the compiled loop, with the NumPy results."""
    X = generated_mixture(240, seed=seed)
    settings = dict(n_components=n_components, covariance_type=name, random_state=seed, tol=1e-9)
    runs = spy_on_compiled_runs(monkeypatch)
    reference = fitted(monkeypatch, False, X, **settings)
    assert runs == []
    compiled = fitted(monkeypatch, True, X, **settings)
    assert len(runs) == 1 and not runs[0].handed_back
    assert len(runs[0].lower_bounds) == compiled.n_iter_ > 3
    assert_same_fit(compiled, reference)


def random_scatter(rng, n_components, n_features):
    """Scatter matrices of a few rows each, so some are badly conditioned."""
    rows = rng.normal(size=(n_components, n_features, n_features + 2))
    rows *= rng.uniform(0.1, 10.0, size=(n_components, n_features, 1))
    return rows @ np.swapaxes(rows, 1, 2)


@pytest.mark.parametrize("name", ITERATIVE)
@pytest.mark.parametrize("inner_tol, inner_max_iter", [(0.0, 1), (0.0, 3), (1e-8, 100)])
def test_compiled_m_step_matches_estimate_covariances(name, inner_tol, inner_max_iter):
    """The kernels' M-step against the model's own, from the same previous covariances.

    With ``inner_tol=0`` the alternations stop at the cap (1 or 3 steps); the capped
    estimate differs from the converged one, so the cap must be honoured. With the
    defaults they stop by the tolerance. (``inner_tol=0`` with a large cap would stop
    where the objective stops changing in the last bits, with the parameters still
    ``sqrt(eps)`` apart: a point rounding decides.)
    """
    from gaussmix.engine.kernels import em_loop

    rng = np.random.default_rng(inner_max_iter)
    n_components, n_features = 4, 3
    volume, shape, orientation = kernels.constraint_codes(name)
    model = get_covariance_model(name, inner_tol=inner_tol, inner_max_iter=inner_max_iter)
    converged_model = get_covariance_model(name, inner_tol=1e-14, inner_max_iter=10_000)
    diagonal = orientation == 0
    mask = np.eye(n_features) if diagonal else np.ones((n_features, n_features))
    scatter = random_scatter(rng, n_components, n_features) * mask
    previous = random_scatter(rng, n_components, n_features) * mask + 0.1 * np.eye(n_features)
    counts = rng.uniform(3.0, 30.0, size=n_components)
    previous_form = model.form.from_covariances(model.form.compact_from_dense(previous))
    compact_scatter = np.diagonal(scatter, axis1=1, axis2=2).copy() if diagonal else scatter

    def dense(model):
        estimate = model.estimate_covariances(compact_scatter, counts, previous_form)
        form = model.form.from_covariances(estimate)
        return form.dense_covariances(n_components, n_features)

    compiled = np.empty((n_components, n_features, n_features))
    assert em_loop.constrained_covariances(
        scatter, counts, volume, shape, orientation, previous, inner_tol, inner_max_iter, compiled
    )
    expected = dense(model)
    np.testing.assert_allclose(compiled, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    if name != "EEV" and inner_max_iter < 100:
        assert not np.allclose(compiled, dense(converged_model), rtol=1e-6)


def test_shared_orientation_m_steps_hand_back():
    """EVE and VVE have no compiled M-step: the loop hands back their start untouched."""
    X = generated_mixture(60)
    start = np.stack([np.eye(3), 2.0 * np.eye(3)])
    for name in ["EVE", "VVE"]:
        run = kernels.run_compiled_em(
            X,
            np.ones(len(X)),
            np.array([0.5, 0.5]),
            X[:2].copy(),
            start,
            name,
            reg_covar=1e-6,
            tol=1e-3,
            max_iter=10,
            lower_bound=-np.inf,
        )
        assert run.handed_back and len(run.lower_bounds) == 0
        np.testing.assert_array_equal(run.covariances, start)


@pytest.mark.parametrize("name", ["VVV", "EVI", "VEE", "VEV"])
def test_sample_weights_fit_as_the_numpy_path_does(monkeypatch, name):
    X = generated_mixture(200, seed=3)
    weights = np.random.default_rng(4).uniform(0.2, 3.0, size=len(X))
    reference = GaussianMixture(3, covariance_type=name, random_state=0)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "0")
    reference.fit(X, sample_weight=weights)
    compiled = GaussianMixture(3, covariance_type=name, random_state=0)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    compiled.fit(X, sample_weight=weights)
    assert_same_fit(compiled, reference)


@pytest.mark.parametrize("name", ["E", "V"])
def test_univariate_models_fit_as_the_numpy_path_does(monkeypatch, name):
    X = generated_mixture()[:, :1]
    settings = dict(n_components=2, covariance_type=name, random_state=0)
    assert_same_fit(
        fitted(monkeypatch, True, X, **settings), fitted(monkeypatch, False, X, **settings)
    )


def tied_rows():
    """300 Gaussian rows and 25 identical ones: a component can sit on the tied rows."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(300, 2)), np.full((25, 2), 4.0)])


@pytest.mark.parametrize("name", ["VII", "VVV", "EVI", "VEI", "VEE", "VEV", "EEV"])
def test_a_collapse_at_the_start_is_reported_alike(monkeypatch, name):
    """With reg_covar=0 a component on the tied rows collapses; both paths say the same.

    The collapse comes in the start's M-step, before any EM iteration, so the kernels
    are not reached; a collapse in the middle of the compiled loop is checked in
    ``test_compiled_routing.py``.
    """
    X = tied_rows()
    settings = dict(n_components=2, covariance_type=name, reg_covar=0.0, random_state=0)
    outcomes = []
    for compiled in (False, True):
        monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1" if compiled else "0")
        try:
            model = GaussianMixture(**settings).fit(X)
        except ValueError as exc:
            outcomes.append(("error", str(exc)))
        else:
            outcomes.append(("fit", model.n_iter_, tuple(np.round(model.lower_bounds_, 9))))
    assert outcomes[0] == outcomes[1]


def test_the_compiled_loop_hands_back_the_parameters_entering_a_failing_step():
    """A start whose covariance is not positive definite is handed back untouched."""
    X = generated_mixture(60)
    singular = np.stack([np.eye(3), np.zeros((3, 3))])
    run = kernels.run_compiled_em(
        X,
        np.ones(len(X)),
        np.array([0.5, 0.5]),
        X[:2].copy(),
        singular,
        "VVV",
        reg_covar=0.0,
        tol=1e-3,
        max_iter=10,
        lower_bound=-np.inf,
    )
    assert run.handed_back and len(run.lower_bounds) == 0
    np.testing.assert_array_equal(run.covariances, singular)


class Recorder(EMMonitor):
    def __init__(self):
        self.events = []

    def iteration_done(self, n_iter, lower_bound, change):
        self.events.append((n_iter, round(lower_bound, 10), round(change, 10)))


@pytest.mark.parametrize("max_iter", [0, 1, 5, 200])
def test_progress_events_and_iteration_limit_match_run_em(max_iter):
    X = generated_mixture(150)
    model = get_covariance_model("VVV")
    resp = np.eye(3)[np.arange(len(X)) % 3]
    from gaussmix.engine.core.estep import statistics_about_data_mean

    start = m_step(statistics_about_data_mean(X, np.ones(len(X)), resp, model.scatter), model, 1e-6)

    def e_step(params):
        return chunk_statistics(X, np.ones(len(X)), params, model.scatter)

    def update(stats, params):
        return m_step(stats, model, 1e-6, params.covariance)

    expected_monitor, compiled_monitor = Recorder(), Recorder()
    expected = run_em(start, e_step, update, tol=1e-6, max_iter=max_iter, monitor=expected_monitor)
    compiled = run_em_compiled_first(
        start,
        (X, np.ones(len(X))),
        model,
        e_step,
        update,
        reg_covar=1e-6,
        tol=1e-6,
        max_iter=max_iter,
        monitor=compiled_monitor,
    )
    assert compiled.n_iter == expected.n_iter
    assert compiled.converged == expected.converged
    assert compiled_monitor.events == expected_monitor.events
    np.testing.assert_allclose(compiled.params.means, expected.params.means, rtol=1e-9)


@pytest.mark.parametrize("name", ["VEI", "VEE", "VEV"])
def test_the_models_inner_settings_reach_the_compiled_m_step(name):
    """``run_em_compiled_first`` passes the model's inner_tol and inner_max_iter on.

    With one inner step per M-step the fit differs from one with the defaults; the
    compiled run must follow the NumPy path with the same model.
    """
    from gaussmix.engine.core.estep import statistics_about_data_mean

    X = generated_mixture(150)
    resp = np.eye(3)[np.arange(len(X)) % 3]

    def fit(model, compiled):
        start = m_step(
            statistics_about_data_mean(X, np.ones(len(X)), resp, model.scatter), model, 1e-6
        )

        def e_step(params):
            return chunk_statistics(X, np.ones(len(X)), params, model.scatter)

        def update(stats, params):
            return m_step(stats, model, 1e-6, params.covariance)

        settings = dict(tol=1e-10, max_iter=30)
        if not compiled:
            return run_em(start, e_step, update, **settings)
        return run_em_compiled_first(
            start, (X, np.ones(len(X))), model, e_step, update, reg_covar=1e-6, **settings
        )

    capped = get_covariance_model(name, inner_tol=0.0, inner_max_iter=1)
    expected = fit(capped, compiled=False)
    compiled = fit(capped, compiled=True)
    np.testing.assert_allclose(compiled.lower_bounds, expected.lower_bounds, rtol=1e-10)
    np.testing.assert_allclose(
        compiled.params.covariance.dense_covariances(3, 3),
        expected.params.covariance.dense_covariances(3, 3),
        rtol=1e-8,
    )
    default = fit(get_covariance_model(name), compiled=False)
    assert not np.allclose(default.lower_bounds[:5], expected.lower_bounds[:5], rtol=1e-10)


def test_cholesky_matches_numpy_and_refuses_what_is_not_positive_definite():
    from gaussmix.engine.kernels import em_loop

    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    matrix = A @ A.T + 0.1 * np.eye(5)
    lower = np.empty((5, 5))
    assert em_loop.cholesky_lower(matrix, lower)
    np.testing.assert_allclose(lower, np.linalg.cholesky(matrix), rtol=1e-12)
    indefinite = matrix.copy()
    indefinite[2, 2] = -1.0
    assert not em_loop.cholesky_lower(indefinite, lower)
    assert not em_loop.cholesky_lower(np.full((2, 2), np.nan), lower[:2, :2].copy())


def test_compiled_statistics_refuse_a_singular_covariance():
    X = generated_mixture(30)
    result = kernels.compiled_statistics(
        X, np.ones(30), np.ones(2) / 2, X[:2], np.zeros((2, 3, 3)), full=True
    )
    assert result is None


def test_constraint_codes_read_mclust_letters():
    I, E, V = 0, 1, 2
    assert kernels.constraint_codes("VVV") == (V, V, V)
    assert kernels.constraint_codes("EEI") == (E, E, I)
    assert kernels.constraint_codes("E") == (E, I, I)
    assert kernels.constraint_codes("V") == (V, I, I)


def test_without_numba_every_fit_takes_the_numpy_path(monkeypatch):
    X = generated_mixture(120)
    reference = fitted(monkeypatch, False, X, n_components=2, random_state=0)
    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    monkeypatch.setattr(kernels, "_loaded_kernels", lambda: None)
    assert not kernels.compiled_em_available()
    assert_same_fit(GaussianMixture(2, random_state=0).fit(X), reference)


def test_model_selection_agrees_cell_by_cell(monkeypatch):
    X = generated_mixture(150)
    tables = []
    for compiled in ("0", "1"):
        monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, compiled)
        result = select_model(
            X, n_components=range(1, 4), covariance_types="all", init_params="hierarchical"
        )
        tables.append(result.bic_table_)
    np.testing.assert_allclose(tables[1].to_numpy(), tables[0].to_numpy(), rtol=1e-8)


@pytest.mark.parametrize(
    "form, covariances",
    [
        (FullForm, np.stack([[[2.0, 0.5], [0.5, 1.0]], np.eye(2)])),
        (TiedForm, np.array([[2.0, 0.5], [0.5, 1.0]])),
        (DiagonalForm, np.array([[2.0, 0.5], [1.0, 3.0]])),
        (SphericalForm, np.array([2.0, 0.5])),
    ],
)
def test_compact_from_dense_inverts_dense_covariances(form, covariances):
    dense = form.from_covariances(covariances).dense_covariances(2, 2)
    np.testing.assert_array_equal(form.compact_from_dense(dense), covariances)


def test_large_tables_take_the_numpy_path(monkeypatch):
    """Above `worth_compiling`'s bound the BLAS products win: the kernels are not called."""
    import gaussmix.engine.core.compiled_em as compiled_em

    def refused(*args, **kwargs):
        raise AssertionError("the compiled kernels were called")

    monkeypatch.setenv(kernels.ENVIRONMENT_SWITCH, "1")
    monkeypatch.setattr(compiled_em, "run_compiled_em", refused)
    monkeypatch.setattr(compiled_em, "compiled_statistics", refused)
    X = np.random.default_rng(0).normal(size=(3_000, 8))
    assert not kernels.worth_compiling(3_000, 8, 3)
    GaussianMixture(3, covariance_type="VVV", random_state=0, max_iter=5).fit(X)
    with pytest.raises(AssertionError, match="compiled kernels were called"):
        GaussianMixture(3, covariance_type="VVV", random_state=0, max_iter=5).fit(X[:100])
