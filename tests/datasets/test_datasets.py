"""Bundled and generated data sets."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaussmix.datasets import load_diabetes, load_faithful, make_gmm_data

SHARED_DATA = Path(__file__).resolve().parents[2] / "src" / "gaussmix" / "datasets" / "data"


def _rows(name):
    with open(SHARED_DATA / name, newline="") as handle:
        return list(csv.DictReader(handle))


def test_faithful_matches_the_bundled_csv_and_r_summary():
    data = load_faithful()
    assert list(data.columns) == ["eruptions", "waiting"]
    assert data.shape == (272, 2)
    rows = _rows("faithful.csv")
    np.testing.assert_array_equal(data["waiting"], [float(r["waiting"]) for r in rows])
    # R: summary(faithful) reports means 3.488 and 70.90, ranges 1.6-5.1 and 43-96.
    assert data["eruptions"].mean() == pytest.approx(3.488, abs=5e-4)
    assert data["waiting"].mean() == pytest.approx(70.90, abs=5e-3)
    assert (data["eruptions"].min(), data["eruptions"].max()) == (1.6, 5.1)
    assert (data["waiting"].min(), data["waiting"].max()) == (43, 96)


def test_diabetes_has_the_published_class_sizes():
    data = load_diabetes()
    assert list(data.columns) == ["class", "glucose", "insulin", "sspg"]
    assert data.shape == (145, 4)
    # Reaven & Miller (1979): 76 normal, 36 chemical and 33 overt diabetics.
    assert data["class"].value_counts().to_dict() == {"Normal": 76, "Chemical": 36, "Overt": 33}
    assert list(data["class"].cat.categories) == ["Normal", "Chemical", "Overt"]
    rows = _rows("diabetes.csv")
    np.testing.assert_array_equal(data["sspg"], [int(r["sspg"]) for r in rows])


def test_loaders_return_fresh_frames():
    first = load_faithful()
    first.iloc[0, 0] = -1.0
    assert load_faithful().iloc[0, 0] != -1.0
    assert isinstance(load_diabetes(), pd.DataFrame)


def test_chapter_defaults_recover_the_chapter_parameters():
    X, y = make_gmm_data(n_samples=60_000, random_state=0)
    assert X.shape == (60_000, 2) and y.shape == (60_000,)
    expected_means = [[0, 0], [3, 3], [-2, 3]]
    expected_covs = [[[1.0, 0.5], [0.5, 1.0]], [[0.8, 0.0], [0.0, 0.8]], [[2.0, -0.5], [-0.5, 0.5]]]
    np.testing.assert_allclose(np.bincount(y) / y.size, [0.3, 0.4, 0.3], atol=0.01)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(axis=0), expected_means[k], atol=0.05)
        np.testing.assert_allclose(np.cov(X[y == k].T), expected_covs[k], atol=0.06)


def test_same_seed_same_data_and_defaults_for_custom_means():
    X1, y1 = make_gmm_data(50, random_state=3)
    X2, y2 = make_gmm_data(50, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X, y = make_gmm_data(20_000, means=[[0, 0, 0], [10, 10, 10]], random_state=1)
    assert X.shape == (20_000, 3)
    np.testing.assert_allclose(np.bincount(y) / y.size, [0.5, 0.5], atol=0.02)
    np.testing.assert_allclose(np.cov(X[y == 1].T), np.eye(3), atol=0.06)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "positive integer"),
        ({"means": [[0, 0]], "covariances": [[[1, 2], [2, 1]]]}, "positive definite"),
        ({"means": [[0, 0]], "covariances": [[[1, 0.5], [0, 1]]]}, "symmetric"),
        ({"means": [[0, 0], [1, 1]], "weights": [0.5, 0.6]}, "sum to 1"),
        ({"means": [[0, 0], [1, 1]], "weights": [1.0]}, "shape"),
        ({"means": [0, 0]}, "2-d array"),
        ({"means": [["a", "b"]]}, "numeric"),
        ({"means": [[0, np.nan]]}, "NaN"),
    ],
)
def test_bad_parameters_say_what_to_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_gmm_data(**kwargs)
