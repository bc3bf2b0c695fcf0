"""AnomalyDetector: the chapter's bottom-5% rule with scikit-learn outlier conventions."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils.estimator_checks import check_estimator

from gaussmix import AnomalyDetector, GaussianMixture


def test_threshold_is_the_contamination_quantile_of_the_training_log_density(chapter_data):
    X, _ = chapter_data
    detector = AnomalyDetector(contamination=0.05, n_components=3, random_state=0).fit(X)
    # Independent reference: scikit-learn's mixture on the same seed, numpy's percentile.
    reference = SklearnGaussianMixture(n_components=3, random_state=0).fit(X).score_samples(X)
    threshold = np.percentile(reference, 5)
    assert detector.threshold_ == pytest.approx(threshold, rel=1e-9)
    assert detector.offset_ == detector.threshold_
    np.testing.assert_allclose(detector.score_samples(X), reference, rtol=1e-9)
    labels = detector.predict(X)
    np.testing.assert_array_equal(labels == -1, reference < threshold)
    assert set(np.unique(labels)) == {-1, 1}
    assert (labels == -1).sum() == pytest.approx(0.05 * len(X), abs=1)


def test_decision_function_sign_matches_predict_and_fit_predict(chapter_data):
    X, _ = chapter_data
    detector = AnomalyDetector(contamination=0.1, n_components=3, random_state=1)
    labels = detector.fit_predict(X)
    decision = detector.decision_function(X)
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))
    np.testing.assert_allclose(decision, detector.score_samples(X) - detector.threshold_)
    far_away = np.array([[40.0, -40.0]])
    assert detector.predict(far_away)[0] == -1


def test_given_mixture_is_cloned_and_fitted(chapter_data):
    X, _ = chapter_data
    template = GaussianMixture(n_components=3, covariance_type="diag", random_state=0)
    detector = AnomalyDetector(contamination=0.02, mixture=template).fit(X)
    assert detector.mixture_ is not template
    assert not hasattr(template, "converged_")
    assert detector.mixture_.covariance_type == "diag"
    assert detector.n_features_in_ == 2


def test_mixture_and_mixture_parameters_together_are_refused(chapter_data):
    X, _ = chapter_data
    with pytest.raises(ValueError, match="set those parameters on the mixture"):
        AnomalyDetector(mixture=GaussianMixture(), n_components=3).fit(X)
    with pytest.raises(TypeError, match="fit and score_samples"):
        AnomalyDetector(mixture="full").fit(X)


@pytest.mark.parametrize("contamination", [-0.1, 0.6, "auto", True])
def test_contamination_outside_the_range_is_refused(chapter_data, contamination):
    with pytest.raises(ValueError, match=r"in \[0, 0.5\]"):
        AnomalyDetector(contamination=contamination).fit(chapter_data[0])


def test_zero_contamination_flags_no_training_row(chapter_data):
    X, _ = chapter_data
    detector = AnomalyDetector(contamination=0.0, n_components=3, random_state=0).fit(X)
    assert np.all(detector.predict(X) == 1)


def test_clone_and_dataframe_feature_names(chapter_data):
    pd = pytest.importorskip("pandas")
    X, _ = chapter_data
    frame = pd.DataFrame(X, columns=["a", "b"])
    detector = clone(AnomalyDetector(contamination=0.05, n_components=2, random_state=0))
    detector.fit(frame)
    assert list(detector.feature_names_in_) == ["a", "b"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_passes_scikit_learn_estimator_checks():
    check_estimator(AnomalyDetector(random_state=0))


def test_from_fitted_mixture_uses_the_mixture_as_it_is(chapter_data):
    X, _ = chapter_data
    mixture = GaussianMixture(n_components=3, random_state=0).fit(X)
    detector = AnomalyDetector.from_fitted_mixture(mixture, X, contamination=0.1)
    assert detector.mixture_ is mixture
    assert detector.threshold_ == pytest.approx(np.percentile(mixture.score_samples(X), 10))
    with pytest.raises(ValueError, match=r"in \[0, 0.5\]"):
        AnomalyDetector.from_fitted_mixture(mixture, X, contamination=0.9)
