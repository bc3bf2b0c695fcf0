"""MixtureClassifier on one feature fits mclust's two univariate models, E and V, only."""

import numpy as np
import pytest
from scipy.stats import norm

from gaussmix import MixtureClassifier
from gaussmix.engine.core import criteria


def _two_classes(sd_b, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0.0, 1.0, 150), rng.normal(3.0, sd_b, 100)])[:, np.newaxis]
    return X, np.repeat(["a", "b"], [150, 100])


def _edda_bic_by_hand(X, y, shared):
    """BIC of one Gaussian per class, variance pooled (E) or per class (V), from scratch."""
    x, n, loglik = X[:, 0], len(y), 0.0
    classes = np.unique(y)
    means = {c: x[y == c].mean() for c in classes}
    per_class = {c: x[y == c].var() for c in classes}
    pooled = sum(((x[y == c] - means[c]) ** 2).sum() for c in classes) / n
    for c in classes:
        sd = np.sqrt(pooled if shared else per_class[c])
        loglik += np.sum(np.log(np.mean(y == c)) + norm.logpdf(x[y == c], means[c], sd))
    # class weights (C - 1), means (C) and one or C variances
    n_parameters = (len(classes) - 1) + len(classes) + (1 if shared else len(classes))
    return criteria.bic(loglik, n_parameters, n)


@pytest.mark.parametrize("sd_b", [1.0, 3.0])
def test_edda_on_one_feature_chooses_between_e_and_v(sd_b):
    X, y = _two_classes(sd_b)
    edda = MixtureClassifier(model_type="EDDA", covariance_type="all", reg_covar=0).fit(X, y)
    by_hand = {name: _edda_bic_by_hand(X, y, name == "E") for name in ("E", "V")}
    best = min(by_hand, key=by_hand.get)
    assert edda.covariance_types_ == [best, best]
    assert edda.criterion_ == pytest.approx(by_hand[best], rel=1e-10)
    variances = [X[y == c, 0].var() for c in ("a", "b")]
    expected = np.full(2, np.average(variances, weights=[150, 100])) if best == "E" else variances
    np.testing.assert_allclose(edda.covariances_[:, 0, 0], expected, rtol=1e-10)


def test_edda_names_the_univariate_model_of_each_code_asked_for():
    X, y = _two_classes(3.0)
    for asked, named in [("EEE", "E"), ("tied", "E"), ("VVV", "V"), ("VII", "V"), ("E", "E")]:
        edda = MixtureClassifier(model_type="EDDA", covariance_type=asked).fit(X, y)
        assert edda.covariance_types_ == [named, named], asked


def test_mclustda_on_one_feature_names_e_and_v():
    rng = np.random.default_rng(1)
    two_modes = np.concatenate([rng.normal(-3, 0.5, 100), rng.normal(3, 2.0, 100)])
    X = np.concatenate([two_modes, rng.normal(0, 1, 120)])[:, np.newaxis]
    y = np.repeat(["two", "one"], [200, 120])
    mda = MixtureClassifier([1, 2], covariance_type="all", random_state=0).fit(X, y)
    assert set(mda.covariance_types_) <= {"E", "V"}
    assert [e.covariance_type for e in mda.estimators_] == mda.covariance_types_
    # the class with two modes of different spread needs V with two components
    two = list(mda.classes_).index("two")
    assert (mda.n_components_[two], mda.covariance_types_[two]) == (2, "V")


def test_e_and_v_are_refused_on_several_features():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match="one feature"):
        MixtureClassifier(model_type="EDDA", covariance_type="V").fit(X, y)
    with pytest.raises(ValueError, match="covariance_type='XYZ'"):
        MixtureClassifier(covariance_type="XYZ").fit(X, y)
