"""Degenerate fits are data: flagged, shown as NA, never chosen by default, warned about.

The three cases a new user met (issue 16): iris with blanked cells fitted by
marginalisation (a VVV component on the rows whose petal width is 0.2), 300 Gaussian
rows plus 25 identical rows (a VII component on the 25), and a 3-row table (VVV with 2
components, 11 parameters for 6 numbers).
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from gaussmix import GaussianMixture, select_model
from gaussmix.engine.core.degeneracy import (
    DegenerateFitWarning,
    degeneracy_reason,
    distinct_rows_per_component,
    rows_needed,
)


def _refit_warns(estimator, X, reason):
    """Refitting a cell's estimator from its own start warns with the cell's reason.

    The refitted estimator also keeps the reason as ``degeneracy_reason_``.
    """
    with pytest.warns(DegenerateFitWarning, match=re.escape(reason)):
        refitted = clone(estimator).fit(X)
    assert refitted.degeneracy_reason_ == reason


# ---------------------------------------------------------------- the rule itself
def _two_components(variance, reg_covar, n_values=1000, distinct=None, needed=1):
    covariances = np.stack([np.eye(2), np.diag([1.0, variance])])
    return degeneracy_reason(
        weights=np.array([0.5, 0.5]),
        means=np.array([[0.0, 0.0], [3.0, 3.0]]),
        covariances=covariances,
        reg_covar=reg_covar,
        n_parameters=11,
        n_values=n_values,
        needed_rows=needed,
        distinct_rows=distinct,
    )


def test_a_component_at_the_ridge_floor_is_degenerate():
    reason = _two_components(variance=1.5e-6, reg_covar=1e-6)
    assert reason is not None and "component 2" in reason and "reg_covar floor" in reason


def test_a_narrow_component_well_above_the_ridge_is_not():
    # Standard deviation 0.01 against the data's ~1.8: narrow, but estimated from data.
    assert _two_components(variance=1e-4, reg_covar=1e-6) is None


def test_a_large_ridge_on_small_scale_data_is_not_a_collapse():
    # Everything at the floor because the ridge dominates data of variance ~1e-8: that is
    # the user's regularisation, not a component collapsing.
    covariances = np.stack([np.eye(2) * 1.2e-6, np.eye(2) * 1.1e-6])
    reason = degeneracy_reason(
        weights=np.array([0.5, 0.5]),
        means=np.array([[0.0, 0.0], [1e-4, 1e-4]]),
        covariances=covariances,
        reg_covar=1e-6,
        n_parameters=7,
        n_values=1000,
    )
    assert reason is None


def test_the_rule_does_not_depend_on_units():
    # Data in units c times larger: covariances and the ridge scale by c**2.
    for c in (1e-3, 1.0, 1e4):
        assert _scaled_reason(c, variance=1.5e-6) is not None
        assert _scaled_reason(c, variance=1e-3) is None


def _scaled_reason(c, variance):
    covariances = np.stack([np.eye(2), np.diag([1.0, variance])]) * c**2
    return degeneracy_reason(
        weights=np.array([0.5, 0.5]),
        means=np.array([[0.0, 0.0], [3.0, 3.0]]) * c,
        covariances=covariances,
        reg_covar=1e-6 * c**2,
        n_parameters=11,
        n_values=1000,
    )


def test_as_many_parameters_as_values_is_degenerate():
    assert _two_components(1.0, 1e-6, n_values=11) == "11 free parameters for 11 data values"
    assert _two_components(1.0, 1e-6, n_values=12) is None


def test_fewer_distinct_rows_than_the_model_needs_is_degenerate():
    reason = _two_components(1.0, 1e-6, distinct=np.array([40, 2]), needed=3)
    assert reason == "component 2 holds 2 distinct row(s); its covariance model needs 3"
    assert _two_components(1.0, 1e-6, distinct=np.array([40, 3]), needed=3) is None


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("VVV", 5),
        ("EVV", 5),
        ("EEV", 4),
        ("VEV", 4),
        ("VVE", 2),
        ("EVI", 2),
        ("VII", 2),
        ("EEE", 1),
        ("EII", 1),
        ("V", 2),
        ("E", 1),
    ],
)
def test_rows_needed_follows_the_letters_of_the_model(name, needed):
    assert rows_needed(name, 4) == needed


def test_distinct_rows_are_counted_among_the_members_up_to_the_cap():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, np.nan], [1.0, np.nan], [2.0, 2.0], [3.0, 3.0]])
    members = np.zeros((9, 2), dtype=bool)
    members[:7, 0] = True  # two distinct rows (NaN equals NaN here)
    members[4:, 1] = True  # four distinct rows
    np.testing.assert_array_equal(distinct_rows_per_component(X, members, at_most=3), [2, 3])


# ---------------------------------------------------------------- the three cases
@pytest.fixture(scope="module")
def tied_rows():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(300, 2)), np.tile([[0.5, 0.5]], (25, 1))])


def test_a_spike_on_identical_rows_is_flagged_and_not_chosen(tied_rows):
    models = ["EII", "VII", "EEE", "VVV"]
    chosen = select_model(tied_rows, [1, 2, 3], models, random_state=0, allow_degenerate=True)
    # Without the rule the spike wins: VII with one component on the 25 identical rows.
    assert chosen.best_params_ == {"n_components": 2, "covariance_type": "VII"}
    spike = chosen.best_estimator_
    assert spike.covariances_.min() < 2e-6
    assert chosen.status_table_.loc[2, "VII"] == "degenerate"

    result = select_model(tied_rows, [1, 2, 3], models, random_state=0)
    assert result.status_table_.loc[2, "VII"] == "degenerate"
    assert np.isnan(result.bic_table_.loc[2, "VII"])
    assert np.isnan(result.loglik_table_.loc[2, "VII"])
    best = result.best_params_["n_components"], result.best_params_["covariance_type"]
    assert result.status_table_.loc[best] != "degenerate"
    assert (2, "VII") not in set(
        zip(result.ranking()["n_components"], result.ranking()["covariance_type"])
    )
    row = result.degenerate_.set_index(["n_components", "covariance_type"]).loc[(2, "VII")]
    assert "1 distinct row" in row["reason"]
    assert "degenerate" in result.summary() and "NA" in result.summary()
    assert "degenerate" in result._repr_html_()
    _refit_warns(result.estimators_[(2, "VII")], tied_rows, row["reason"])


def test_more_parameters_than_values_is_flagged_and_not_chosen():
    X = np.array([[1.0, 2.0], [2.0, 1.5], [3.0, 4.0]])
    chosen = select_model(X, [1, 2], ["EII", "VVV"], random_state=0, allow_degenerate=True)
    assert chosen.status_table_.loc[2, "VVV"] == "degenerate"
    assert chosen.best_params_ == {"n_components": 2, "covariance_type": "VVV"}

    result = select_model(X, [1, 2], ["EII", "VVV"], random_state=0)
    reasons = result.degenerate_.set_index(["n_components", "covariance_type"])["reason"]
    assert reasons.loc[(2, "VVV")] == "11 free parameters for 6 data values"
    assert reasons.loc[(2, "EII")] == "6 free parameters for 6 data values"
    assert result.best_params_["n_components"] == 1
    _refit_warns(result.estimators_[(2, "VVV")], X, reasons.loc[(2, "VVV")])


def test_iris_with_blanked_cells_does_not_choose_the_tied_value_spike():
    iris = load_iris().data
    X = iris.copy()
    X[np.random.default_rng(2).random(X.shape) < 0.05] = np.nan
    settings = dict(missing="marginalize", random_state=0)
    chosen = select_model(X, [2, 3, 4], ["VEV", "VVV"], allow_degenerate=True, **settings)
    assert chosen.best_params_ == {"n_components": 4, "covariance_type": "VVV"}
    labels = chosen.best_estimator_.predict(X)
    spike = np.argmin(np.linalg.eigvalsh(chosen.best_estimator_.covariances_)[:, 0])
    # The collapsed component is the rows whose petal width is exactly 0.2 (tied values).
    assert set(iris[labels == spike, 3]) == {0.2}
    assert chosen.status_table_.loc[4, "VVV"] == "degenerate"

    result = select_model(X, [2, 3, 4], ["VEV", "VVV"], **settings)
    assert result.best_params_ != {"n_components": 4, "covariance_type": "VVV"}
    reason = result.degenerate_.set_index(["n_components", "covariance_type"])["reason"]
    assert "reg_covar floor" in reason.loc[(4, "VVV")]
    _refit_warns(result.estimators_[(4, "VVV")], X, reason.loc[(4, "VVV")])


def test_every_cell_degenerate_says_so():
    X = np.array([[1.0, 2.0], [2.0, 1.5], [3.0, 4.0]])
    with pytest.raises(ValueError, match="degenerate.*allow_degenerate=True"):
        select_model(X, [2], ["VVV"], random_state=0)


def test_a_healthy_fit_does_not_warn():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        model = GaussianMixture(2, covariance_type="VVV", random_state=0).fit(X)
    assert model.degeneracy_reason_ is None


def test_a_prior_fit_is_never_called_degenerate(tied_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        GaussianMixture(3, covariance_type="VVV", prior="default", random_state=0).fit(tied_rows)


def test_distinct_rows_are_counted_on_large_data_only_for_small_components():
    from gaussmix.estimators._degenerate import ALWAYS_COUNT_ROWS, _worth_counting

    assert _worth_counting(np.array([0.5, 0.5]), ALWAYS_COUNT_ROWS, needed=5)
    big = 10 * ALWAYS_COUNT_ROWS
    assert not _worth_counting(np.array([0.5, 0.5]), big, needed=5)
    assert _worth_counting(np.array([1 - 40 / big, 40 / big]), big, needed=5)
