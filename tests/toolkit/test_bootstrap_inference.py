"""gaussmix.bootstrap: coverage of the intervals on data with known parameters, standard
errors against the asymptotic ones, label switching, outputs and errors."""

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix.engine.covariance.models import COVARIANCE_TYPES
from gaussmix.toolkit.bootstrap_inference import _replicate_parameters, match_components

TRUE_WEIGHTS = np.array([0.4, 0.6])
TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 1.0]])
TRUE_SDS = np.array([[1.0, 0.7], [1.2, 0.9]])  # diagonal covariances: coordinates independent
N_ROWS = 300
N_DATA_SETS = 40
N_BOOTSTRAP = 49


def _draw(seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(2, size=N_ROWS, p=TRUE_WEIGHTS)
    return TRUE_MEANS[labels] + TRUE_SDS[labels] * rng.normal(size=(N_ROWS, 2))


def _in_true_order(fitted_means):
    return linear_sum_assignment(((TRUE_MEANS[:, None] - fitted_means[None]) ** 2).sum(axis=2))[1]


@pytest.fixture(scope="module", params=["nonparametric", "weighted"])
def replications(request):
    """For each of 40 data sets: the bootstrap's 95% intervals and standard errors of the
    means and weights, in the true components' order."""
    lower, upper, errors, weight_errors = [], [], [], []
    for seed in range(N_DATA_SETS):
        X = _draw(seed)
        model = gaussmix.GaussianMixture(2, covariance_type="diag", random_state=seed).fit(X)
        result = gaussmix.bootstrap(
            model, X, n_bootstrap=N_BOOTSTRAP, method=request.param, random_state=seed
        )
        order = _in_true_order(model.means_)
        low, high = result.intervals(0.95)["means"]
        lower.append(low[order])
        upper.append(high[order])
        errors.append(result.standard_errors_["means"][order])
        weight_errors.append(result.standard_errors_["weights"][order])
    return np.array(lower), np.array(upper), np.array(errors), np.array(weight_errors)


def test_95_percent_intervals_of_the_means_cover_the_truth_95_percent_of_the_time(replications):
    """Coverage over 40 data sets x 2 components x 2 coordinates = 160 intervals.

    Tolerance: the data sets are independent, and two well-separated components are
    estimated from disjoint rows, so those 80 (data set, component) pairs are nearly
    independent trials. The two coordinates of a component are independent here
    (diagonal covariances), but to be conservative we treat them as perfectly correlated:
    the covered fraction is then a Binomial(80, 0.95) count over 80, whose spread is at
    least that of the 160 trials under any correlation between the coordinates. We accept
    the central 99.9% of that distribution (0.85 to 1), so a correct bootstrap fails
    this test about once in a thousand runs (the seeds are fixed, so in practice it
    passes or fails for good). Intervals half as wide as they should be cover about 68%
    and fail; intervals too wide are caught by the standard-error test below.
    """
    lower, upper, _, _ = replications
    covered = (lower <= TRUE_MEANS) & (TRUE_MEANS <= upper)
    n_trials = N_DATA_SETS * 2  # (data set, component) pairs, coordinates counted once
    low = stats.binom.ppf(0.0005, n_trials, 0.95) / n_trials
    high = stats.binom.ppf(0.9995, n_trials, 0.95) / n_trials
    assert low <= covered.mean() <= high, (covered.mean(), low, high)


def test_standard_errors_match_the_asymptotic_ones(replications):
    """The mean of component k has asymptotic sd sd_k / sqrt(n w_k) (well-separated
    components: about the information of labelled data), a weight sqrt(w (1 - w) / n).

    Each bootstrap standard error from 49 replicates has a relative sd of about
    1 / sqrt(2 * 48) = 10%; averaged over 40 data sets under 2%; the asymptotic formula is
    itself within a few percent at n w_k >= 120 rows. A 15% band is wide for that and
    still fails for a factor such as sqrt(2) (1.41) or 1/sqrt(2) (0.71).
    """
    _, _, errors, weight_errors = replications
    asymptotic = TRUE_SDS / np.sqrt(N_ROWS * TRUE_WEIGHTS)[:, None]
    ratio = errors.mean(axis=0) / asymptotic
    assert np.all((ratio > 0.85) & (ratio < 1.15)), ratio
    weight_ratio = weight_errors.mean(axis=0) / np.sqrt(TRUE_WEIGHTS * (1 - TRUE_WEIGHTS) / N_ROWS)
    assert np.all((weight_ratio > 0.85) & (weight_ratio < 1.15)), weight_ratio


@pytest.fixture(scope="module")
def three_components():
    rng = np.random.default_rng(11)
    X = np.vstack(
        [
            rng.normal([0, 0], 1.0, (150, 2)),
            rng.normal([5, 0], 0.8, (100, 2)),
            rng.normal([0, 5], 0.6, (80, 2)),
        ]
    )
    model = gaussmix.GaussianMixture(3, covariance_type="VVV", random_state=0).fit(X)
    return X, model


def test_match_components_undoes_a_permutation(three_components):
    _, model = three_components
    precisions = np.linalg.inv(model.covariances_)
    permutation = np.array([2, 0, 1])
    shifted = model.means_[permutation] + 0.05
    order = match_components(model.means_, precisions, shifted)
    np.testing.assert_allclose(shifted[order], model.means_ + 0.05)


class _SwitchedRefit:
    """A refit whose components came out in another order than the fitted model's."""

    def __init__(self, model, permutation):
        self.weights_ = model.weights_[permutation]
        self.means_ = model.means_[permutation]
        self._params = type(model._params)(
            weights=model._params.weights[permutation],
            means=model._params.means[permutation],
            covariance=type(model._params.covariance).from_covariances(
                model.covariances_[permutation]
            ),
        )
        self.converged_ = True


def test_a_switched_replicate_is_relabelled_to_the_fitted_order(three_components):
    _, model = three_components
    precisions = np.linalg.inv(model.covariances_)
    replicate = _replicate_parameters(
        _SwitchedRefit(model, np.array([1, 2, 0])), model.means_, precisions
    )
    assert replicate.relabelled
    np.testing.assert_allclose(replicate.weights, model.weights_)
    np.testing.assert_allclose(replicate.means, model.means_)
    np.testing.assert_allclose(replicate.covariances, model.covariances_)


@pytest.mark.parametrize("method", ["nonparametric", "weighted"])
def test_result_shapes_summary_and_seed(three_components, method):
    X, model = three_components
    result = gaussmix.bootstrap(model, X, n_bootstrap=30, method=method, random_state=1)
    again = gaussmix.bootstrap(model, X, n_bootstrap=30, method=method, random_state=1)
    np.testing.assert_array_equal(result.replicates_["means"], again.replicates_["means"])
    errors = result.standard_errors_
    assert errors["weights"].shape == (3,)
    assert errors["means"].shape == (3, 2)
    assert errors["variances"].shape == (3, 2)
    assert errors["covariances"].shape == (3, 2, 2)
    assert result.n_replicates_ + result.n_failed_ == 30
    np.testing.assert_allclose(errors["means"], result.replicates_["means"].std(axis=0, ddof=1))
    low, high = result.intervals(0.9)["weights"]
    np.testing.assert_allclose(low, np.quantile(result.replicates_["weights"], 0.05, axis=0))
    np.testing.assert_allclose(high, np.quantile(result.replicates_["weights"], 0.95, axis=0))
    table = result.summary()
    assert len(table) == 3 + 3 * 2 + 3 * 2
    assert list(table.columns) == [
        "parameter",
        "component",
        "feature",
        "estimate",
        "std_error",
        "lower",
        "upper",
    ]
    means = table[table.parameter == "mean"]
    np.testing.assert_allclose(means.estimate, model.means_.ravel())
    np.testing.assert_allclose(means.std_error, errors["means"].ravel())
    assert "replicates refitted" in str(result)
    assert np.all(result.replicates_["weights"].sum(axis=1) == pytest.approx(1.0))


def test_replicates_differ_between_methods_and_seeds(three_components):
    X, model = three_components
    first = gaussmix.bootstrap(model, X, n_bootstrap=5, random_state=1)
    second = gaussmix.bootstrap(model, X, n_bootstrap=5, random_state=2)
    weighted = gaussmix.bootstrap(model, X, n_bootstrap=5, method="weighted", random_state=1)
    assert not np.allclose(first.replicates_["means"], second.replicates_["means"])
    assert not np.allclose(first.replicates_["means"], weighted.replicates_["means"])


def test_plot_has_a_panel_per_parameter_and_component(three_components):
    X, model = three_components
    result = gaussmix.bootstrap(model, X, n_bootstrap=20, random_state=0)
    figure = result.plot()
    assert len(figure.axes) == (1 + 2 * 2) * 3
    first = figure.axes[0]  # weight of component 1: the estimate is the solid line
    assert first.lines[0].get_xdata()[0] == pytest.approx(model.weights_[0])


def test_dataframe_with_feature_names_is_accepted(three_components):
    import pandas as pd

    X, _ = three_components
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = gaussmix.GaussianMixture(3, random_state=0).fit(frame)
    result = gaussmix.bootstrap(model, frame, n_bootstrap=5, random_state=0)
    assert set(result.summary().feature) == {"", "a", "b"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "parametric"}, "method must be one of"),
        ({"n_bootstrap": 1}, "n_bootstrap must be an integer >= 2"),
        ({"n_bootstrap": 10.5}, "n_bootstrap must be an integer >= 2"),
    ],
)
def test_bad_arguments_are_refused(three_components, kwargs, message):
    X, model = three_components
    with pytest.raises(ValueError, match=message):
        gaussmix.bootstrap(model, X, **kwargs)


def test_bad_models_and_data_are_refused(three_components):
    X, model = three_components
    with pytest.raises(ValueError, match="not fitted"):
        gaussmix.bootstrap(gaussmix.GaussianMixture(2), X)
    with pytest.raises(ValueError, match="features but the model was fitted on 2"):
        gaussmix.bootstrap(model, X[:, :1], n_bootstrap=5)
    bayesian = gaussmix.BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="refits a GaussianMixture"):
        gaussmix.bootstrap(bayesian, X, n_bootstrap=5)
    with pytest.raises(ValueError, match="level must be a probability"):
        gaussmix.bootstrap(model, X, n_bootstrap=5, random_state=0).intervals(95)


def test_noise_component_is_refused(three_components):
    X, _ = three_components
    model = gaussmix.GaussianMixture(3, noise=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="noise component"):
        gaussmix.bootstrap(model, X, n_bootstrap=5)


def test_every_refit_failing_is_reported(three_components):
    X, _ = three_components
    model = gaussmix.GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)
    identical_rows = np.ones((30, 2))  # every refit has singular covariances
    with pytest.raises(ValueError, match="only 0 of 5 bootstrap refits succeeded"):
        gaussmix.bootstrap(model, identical_rows, n_bootstrap=5, random_state=0)


def test_coverage_test_would_catch_intervals_half_as_wide(replications):
    """The coverage test can fail: intervals shrunk about their centres to half their width
    fall below its band."""
    lower, upper, _, _ = replications
    centre, half = (lower + upper) / 2, (upper - lower) / 4
    covered = (centre - half <= TRUE_MEANS) & (TRUE_MEANS <= centre + half)
    assert covered.mean() < stats.binom.ppf(0.0005, N_DATA_SETS * 2, 0.95) / (N_DATA_SETS * 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_covariance_model_can_be_bootstrapped(three_components, covariance_type):
    """The refit starts from precisions_ in the model's own shape (tied (d, d), diag (K, d),
    spherical (K,), an mclust code (K, d, d)); replicates keep the model's constraint."""
    X, _ = three_components
    model = gaussmix.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    result = gaussmix.bootstrap(model, X, n_bootstrap=4, random_state=0)
    assert result.n_replicates_ == 4
    dense = result.replicates_["covariances"]
    if covariance_type in ("tied", "EEE"):
        np.testing.assert_allclose(dense[:, 0], dense[:, 1])
    if covariance_type in ("spherical", "VII", "EII"):
        np.testing.assert_allclose(dense[:, :, 0, 0], dense[:, :, 1, 1])
        np.testing.assert_allclose(dense[:, :, 0, 1], 0.0)


def test_a_refit_that_stops_at_a_collapse_counts_as_failed():
    # A model kept from EM that stopped at a collapse (two components on single rows with
    # huge precision, reg_covar=0): every weighted refit from it keeps all rows, stops at
    # the same collapse (collapse_reason_) and must not be taken as a replicate.
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(30, 3))
    model = gaussmix.GaussianMixture(
        4,
        covariance_type="spherical",
        reg_covar=0.0,
        weights_init=np.full(4, 0.25),
        means_init=np.vstack([X[:2], rng.uniform(size=(2, 3))]),
        precisions_init=np.array([1e6, 1e6, 10.0, 10.0]),
    )
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    assert model.collapse_reason_ is not None
    with pytest.raises(ValueError, match="only 0 of 5 bootstrap refits succeeded"):
        gaussmix.bootstrap(model, X, n_bootstrap=5, method="weighted", random_state=0)
