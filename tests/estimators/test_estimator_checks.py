"""scikit-learn's own estimator checks: the API contract of a drop-in replacement."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixture

# Weighted rows and repeated rows give the same model from the same starting point
# (tests/estimators/test_gaussian_mixture.py checks that exactly), but k-means seeding draws
# different random rows from a repeated data set, so the two fits may start elsewhere.
_RANDOM_INIT_DIFFERS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "random k-means seeding differs between weighted and repeated rows; equivalence "
        "from a fixed start is tested in test_integer_sample_weights_equal_repeated_rows"
    ),
}


def _expected_failures(estimator):
    return _RANDOM_INIT_DIFFERS if estimator.n_components > 1 else {}


@parametrize_with_checks(
    [
        GaussianMixture(n_components=1, random_state=0),
        GaussianMixture(n_components=2, covariance_type="diag", random_state=0, max_iter=20),
    ],
    expected_failed_checks=_expected_failures,
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
