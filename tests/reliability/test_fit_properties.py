"""Property: a fit on any data either gives a finite model or a ValueError that says what to do.

Never NaN or infinity, never another exception type, never a RuntimeWarning reaching the
user (the tests turn every RuntimeWarning into an error), and with ``reg_covar=0`` the
log-likelihood trace never decreases (EM's defining property; a positive ridge changes
the objective, so only finiteness is promised then).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from reliability_strategies import COVARIANCE_MODELS, budget, datasets, estimator_settings
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture

#: Words an actionable message contains: it names a parameter or a remedy.
_ACTIONABLE = (
    "reg_covar",
    "n_components",
    "fewer",
    "more data",
    "pass",
    "use",
    "increase",
    "standardi",
    "remove",
    "scale",
    "float64",
    "finite",
    "Expected",
    "expected",
    "minimum",
    "infinity",
    "NaN",
)


def _fit_or_refuse(X, sample_weight, **params):
    """Fit with every RuntimeWarning as an error; return the model or the ValueError."""
    model = GaussianMixture(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return model.fit(X, sample_weight=sample_weight), None
        except ValueError as exc:
            return None, exc


def _degenerate(model) -> bool:
    """Whether ``fit`` flagged the model degenerate (DegenerateFitWarning): a spike or as
    many parameters as data values, whose path is set by rounding, so EM's monotone
    guarantee is not claimed for it (issue 16: results that depend on rounding are not
    results; the warning says so)."""
    return model.degeneracy_reason_ is not None


def _assert_actionable(error: ValueError) -> None:
    message = str(error)
    assert message and any(word in message for word in _ACTIONABLE), message


def _assert_finite_model(model, X) -> None:
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        value = getattr(model, name)
        assert np.all(np.isfinite(value)), f"{name} is not finite: {value}"
    assert np.isclose(model.weights_.sum(), 1.0, rtol=0, atol=1e-5)
    assert np.all(np.isfinite(model.lower_bounds_))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scores = model.score_samples(X)
        resp = model.predict_proba(X)
    assert np.all(np.isfinite(scores)), scores
    assert np.all(np.isfinite(resp))


def _assert_monotone(lower_bounds, dtype=np.float64) -> None:
    trace = np.asarray(lower_bounds)
    if trace.size > 1:
        # Log-densities are computed in the data's precision: float32 traces carry
        # rounding of a few float32 epsilons (1e-9 relative is float64's allowance).
        relative = max(1e-9, 16 * float(np.finfo(dtype).eps))
        slack = relative * (1.0 + np.abs(trace[:-1]))
        assert np.all(np.diff(trace) >= -slack), f"log-likelihood decreased: {trace}"


@settings(max_examples=budget(4))
@given(case=datasets(), data=st.data())
def test_fit_gives_a_finite_model_or_an_actionable_value_error(case, data):
    params = data.draw(estimator_settings(case.X.shape[0]))
    note(f"params={params}")
    model, error = _fit_or_refuse(case.X, case.sample_weight, **params)
    if error is not None:
        _assert_actionable(error)
        return
    _assert_finite_model(model, case.X)
    if params["reg_covar"] == 0 and not _degenerate(model):
        _assert_monotone(model.lower_bounds_, model.means_.dtype)


@settings(max_examples=budget(1))
@given(
    case=datasets(max_rows=200, max_features=6),
    covariance_type=st.sampled_from(COVARIANCE_MODELS),
    n_components=st.integers(1, 3),
)
def test_every_model_on_plain_data_has_a_monotone_trace(case, covariance_type, n_components):
    X = np.asarray(case.X, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        return
    model, error = _fit_or_refuse(
        X,
        case.sample_weight,
        n_components=min(n_components, X.shape[0]),
        covariance_type=covariance_type,
        reg_covar=0.0,
        max_iter=25,
        tol=0.0,
        random_state=0,
    )
    if error is not None:
        _assert_actionable(error)
        return
    _assert_finite_model(model, X)
    if not _degenerate(model):
        _assert_monotone(model.lower_bounds_)


@settings(max_examples=budget(0.5))
@given(
    n_rows=st.integers(2, 60),
    seed=st.integers(0, 2**16),
    extra=st.sampled_from(["int", "bool", "category", "object-numbers", "float32"]),
)
def test_pandas_frames_with_mixed_dtypes(n_rows, seed, extra):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n_rows), "b": rng.integers(0, 5, size=n_rows)})
    frame["c"] = {
        "int": rng.integers(-3, 3, size=n_rows),
        "bool": rng.random(n_rows) > 0.5,
        "category": pd.Categorical(rng.choice(["x", "y"], size=n_rows)),
        "object-numbers": pd.Series(rng.normal(size=n_rows), dtype=object),
        "float32": rng.normal(size=n_rows).astype(np.float32),
    }[extra]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model = GaussianMixture(2 if n_rows > 2 else 1, random_state=0).fit(frame)
        except (ValueError, TypeError) as exc:
            assert extra == "category", exc  # strings cannot be modelled; say so
            assert "could not convert" in str(exc) or "numeric" in str(exc) or "string" in str(exc)
            return
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    _assert_finite_model(model, frame)


@pytest.mark.parametrize("dtype", ["float16", ">f8", ">f4", "int8", "uint8", "bool"])
def test_every_input_dtype_gives_a_float_model(dtype):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(50, 2)) * 3).astype(dtype)
    model = GaussianMixture(2, random_state=0).fit(X)
    assert model.means_.dtype in (np.float32, np.float64)
    _assert_finite_model(model, X)
