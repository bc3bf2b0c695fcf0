"""select_model on data with missing values (missing="marginalize")."""

import numpy as np
import pytest

from gaussmix import select_model


def _three_clusters_with_holes(fraction=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [7.0, 0.0, 0.0], [0.0, 7.0, 3.0]])
    X = np.vstack([rng.normal(c, 1.0, size=(120, 3)) for c in centres])
    labels = np.repeat(np.arange(3), 120)
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # keep at least one value per row
    X_missing = X.copy()
    X_missing[holes] = np.nan
    return X_missing, labels, int(holes.sum())


def test_selection_with_ten_percent_missing_finds_the_three_clusters():
    X, labels, n_missing = _three_clusters_with_holes()
    result = select_model(
        X,
        n_components=range(1, 6),
        covariance_types=["EII", "VVI", "VVV"],
        missing="marginalize",
        random_state=0,
    )
    assert result.best_params_["n_components"] == 3
    best = result.best_estimator_
    assert best.n_missing_values_ == n_missing
    predicted = best.predict(X)  # rows with NaN are assigned too
    assert predicted.shape == labels.shape
    # The partition is the generating one up to relabelling: each true cluster maps to
    # one predicted component, and the three components differ.
    majority = [np.bincount(predicted[labels == j]).argmax() for j in range(3)]
    assert len(set(majority)) == 3
    agrees = np.array(majority)[labels] == predicted
    complete = ~np.isnan(X).any(axis=1)
    assert agrees[complete].mean() > 0.99  # separated by 7 sd: Bayes error ~ 1e-4
    # A row missing the coordinate that separates its cluster may be ambiguous.
    assert agrees.mean() > 0.9
    assert len(result.errors_) == 0


def test_selection_refuses_nan_without_marginalize_and_names_the_option():
    X, _, _ = _three_clusters_with_holes()
    with pytest.raises(ValueError, match="missing='marginalize'"):
        select_model(X, n_components=[1, 2], covariance_types=["EII"])


def test_selection_with_marginalize_refuses_infinity():
    X, _, _ = _three_clusters_with_holes()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        select_model(X, n_components=[1], covariance_types=["EII"], missing="marginalize")


def test_complete_data_gives_the_same_table_with_and_without_marginalize():
    X, _, _ = _three_clusters_with_holes(fraction=0.0)
    kwargs = dict(n_components=[1, 2, 3], covariance_types=["VVI"], random_state=0)
    plain = select_model(X, **kwargs)
    marginal = select_model(X, missing="marginalize", **kwargs)
    np.testing.assert_allclose(marginal.bic_table_, plain.bic_table_, rtol=1e-9)
