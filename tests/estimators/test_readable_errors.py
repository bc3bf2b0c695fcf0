"""Where a new user met NumPy's or scikit-learn's raw message, gaussmix says what to do."""

import numpy as np
import pandas as pd
import pytest

from gaussmix import GaussianMixture, select_model
from gaussmix.datasets import load_diabetes

X = np.random.default_rng(0).normal(size=(60, 2))


def test_select_model_on_the_bundled_diabetes_frame_names_its_text_column():
    frame = load_diabetes()  # "class" holds text labels beside three measurements
    with pytest.raises(
        ValueError,
        match=r"could not convert string to float.*non-numeric column\(s\) \['class'\].*"
        r"X\.drop\(columns=\['class'\]\)",
    ):
        select_model(frame, n_components=[1, 2], covariance_types=["VVV"])
    # The fix the message names works.
    result = select_model(
        frame.drop(columns=["class"]), n_components=[1, 2], covariance_types=["VVV"]
    )
    assert result.best_estimator_.n_features_in_ == 3


def test_fit_names_every_non_numeric_column_of_a_frame():
    frame = pd.DataFrame(
        {"a": X[:, 0], "label": ["x", "y"] * 30, "b": X[:, 1], "when": ["2020-01-01"] * 60}
    )
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) \['label', 'when'\]"):
        GaussianMixture(2).fit(frame)


def test_numbers_stored_as_text_objects_are_not_called_non_numeric():
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1].astype(str).astype(object)})
    GaussianMixture(2, random_state=0).fit(frame)  # NumPy converts "1.5" to 1.5


def test_a_text_array_names_the_column_index():
    values = np.column_stack([X[:, 0].astype(str), ["x"] * 60])
    with pytest.raises(ValueError, match=r"column\(s\) at index \[1\]"):
        GaussianMixture(2).fit(values)


def test_predict_on_nan_recommends_marginalising_not_another_estimator():
    model = GaussianMixture(2, random_state=0).fit(X)
    rows = np.array([[np.nan, 1.0], [0.0, 0.0]])
    for method in (model.predict, model.predict_proba, model.score_samples):
        with pytest.raises(
            ValueError, match=r"^Input X contains NaN\. .*missing='marginalize'"
        ) as error:
            method(rows)
        assert "HistGradientBoosting" not in str(error.value)
    # The advice works: the marginal density of the observed coordinate.
    marginal = GaussianMixture(2, random_state=0, missing="marginalize").fit(X)
    assert marginal.predict(rows).shape == (2,)


def test_fit_on_nan_keeps_scikit_learns_first_sentence():
    with pytest.raises(ValueError, match=r"^Input X contains NaN\. Pass missing='marginalize'"):
        GaussianMixture(2).fit(np.vstack([X, [[np.nan, 0.0]]]))
