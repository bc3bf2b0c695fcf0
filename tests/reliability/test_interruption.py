"""Ctrl-C and failures during fit: the estimator keeps its previous complete state.

Documented behaviour (docs/reliability.md): an exception raised during ``fit``
(KeyboardInterrupt included) leaves a GaussianMixture exactly as it was before the call,
unfitted if it was unfitted, or with its previous complete parameters and attributes if
it was fitted; never a mix of the two.
"""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import gaussmix.engine.core.compiled_em as compiled_em
import gaussmix.estimators._incomplete as incomplete
from gaussmix import GaussianMixture
from gaussmix.engine.kernels import ENVIRONMENT_SWITCH


def _data(seed, n_features=2):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(60, n_features)), rng.normal(5, 1, (60, n_features))])


@pytest.fixture
def interrupt_after(monkeypatch):
    """Make the NumPy E-step raise KeyboardInterrupt on its n-th call.

    The compiled kernels are switched off, so that every EM iteration runs that E-step
    (the compiled loop is interrupted in `test_an_interrupted_compiled_fit_keeps_the_state`).
    """

    def arm(n_calls):
        monkeypatch.setenv(ENVIRONMENT_SWITCH, "0")
        real = incomplete.chunk_statistics
        calls = {"n": 0}

        def flaky(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] >= n_calls:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(incomplete, "chunk_statistics", flaky)
        return calls

    return arm


def _state(model):
    return {
        name: (value.copy() if isinstance(value, np.ndarray) else value)
        for name, value in vars(model).items()
        if name.endswith("_") or name.startswith("_")
    }


@pytest.mark.parametrize("n_calls", [1, 3])
def test_interrupted_first_fit_leaves_the_estimator_unfitted(interrupt_after, n_calls):
    model = GaussianMixture(2, random_state=0, tol=0, max_iter=50)
    interrupt_after(n_calls)
    with pytest.raises(KeyboardInterrupt):
        model.fit(_data(0))
    assert _state(model) == {}
    with pytest.raises(NotFittedError):
        model.predict(_data(0))


@pytest.mark.parametrize("n_features", [2, 3])
@pytest.mark.parametrize("warm_start", [False, True])
def test_interrupted_refit_keeps_the_previous_complete_model(
    interrupt_after, monkeypatch, n_features, warm_start
):
    X = _data(1)
    model = GaussianMixture(2, random_state=0, warm_start=warm_start).fit(X)
    before = _state(model)
    predictions = model.predict_proba(X)
    interrupt_after(2)
    new_data = _data(2, n_features) * 3 + 1
    # a warm start cannot continue on other columns: a clear ValueError, state kept too
    expected = ValueError if warm_start and n_features != 2 else KeyboardInterrupt
    with pytest.raises(expected, match="warm_start" if expected is ValueError else None):
        model.fit(new_data)
    monkeypatch.undo()
    after = _state(model)
    assert after.keys() == before.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value)
        else:
            assert after[name] is value or after[name] == value, name
    np.testing.assert_array_equal(model.predict_proba(X), predictions)


def test_a_value_error_during_refit_also_keeps_the_previous_model():
    X = _data(3)
    model = GaussianMixture(2, random_state=0).fit(X)
    means = model.means_.copy()
    bad = np.vstack([X[:1]] * 10)  # ten identical rows cannot hold two components
    with pytest.raises(ValueError):
        model.set_params(reg_covar=0.0).fit(np.hstack([bad, bad]))
    np.testing.assert_array_equal(model.means_, means)
    assert model.n_features_in_ == 2


def test_a_fit_that_cannot_converge_warns_and_is_usable():
    X = _data(4)
    model = GaussianMixture(3, tol=0.0, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model.fit(X)
    assert not model.converged_ and model.n_iter_ == 3
    resp = model.predict_proba(X)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.isfinite(model.bic(X))


class _WorkerFailure(RuntimeError):
    pass


def test_a_failing_dask_task_surfaces_with_its_cause_and_keeps_the_previous_model():
    da = pytest.importorskip("dask.array")
    X = _data(5)
    model = GaussianMixture(2, random_state=0).fit(X)
    means = model.means_.copy()
    lazy = da.from_array(X, chunks=(40, 2))
    calls = {"n": 0}

    def sometimes_fails(block):
        calls["n"] += 1
        if calls["n"] > 4:  # after the initialisation sample, during EM
            raise _WorkerFailure("disk of worker 3 unreadable")
        return block

    failing = lazy.map_blocks(sometimes_fails, dtype=X.dtype)
    with pytest.raises(_WorkerFailure, match="disk of worker 3"):
        model.fit(failing)
    np.testing.assert_array_equal(model.means_, means)
    assert model.n_features_in_ == 2


def test_an_interrupted_compiled_fit_keeps_the_state(monkeypatch):
    """Ctrl-C reaches Python when a compiled loop returns; the estimator is kept as it was."""
    pytest.importorskip("numba")
    X = _data(3)
    model = GaussianMixture(2, random_state=0)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv(ENVIRONMENT_SWITCH, "1")
    monkeypatch.setattr(compiled_em, "run_compiled_em", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X)
    assert _state(model) == {}
    monkeypatch.undo()
    monkeypatch.setenv(ENVIRONMENT_SWITCH, "1")  # undo() restored the ambient setting
    model.fit(X)
    before = _state(model)
    monkeypatch.setattr(compiled_em, "run_compiled_em", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X * 2 + 1)
    after = _state(model)
    assert after.keys() == before.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value)
