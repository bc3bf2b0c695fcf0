"""One feature: mclust's univariate models "E" and "V", in tables, summary and names."""

import numpy as np
import pytest
from mclust_reference import load_reference

from gaussmix import GaussianMixture, select_model


@pytest.fixture(scope="module")
def acidity():
    return load_reference("acidity")


def test_a_sweep_on_one_feature_fits_e_and_v_only(acidity):
    result = select_model(acidity.X, range(1, 4), reg_covar=0.0)
    assert list(result.table_.columns) == ["E", "V"]
    assert set(result.status_table_.columns) == {"E", "V"}
    # mclust 6.0.0, Mclust(acidity): E with 2 components, log-likelihood -185.9493.
    assert result.best_params_ == {"n_components": 2, "covariance_type": "E"}
    assert result.loglik_table_.loc[2, "E"] == pytest.approx(acidity.best_loglik, abs=1e-3)
    # Never worse than mclust's BIC (lower is better here); better where the start differs.
    reference = acidity.bic.loc[[1, 2, 3], ["E", "V"]].to_numpy()
    assert np.all(result.bic_table_.to_numpy() <= reference + 0.01)
    summary = result.summary()
    assert "E (univariate, equal variance) model with 2 components" in summary
    assert "E,2" in summary and "EII" not in summary
    assert result.best_estimator_.covariance_type == "E"


@pytest.mark.parametrize(
    ("asked", "fitted"),
    [(["VVV", "EEE", "spherical"], ["E", "V"]), (["EEI", "EVV"], ["E"]), ("V", ["V"])],
)
def test_multivariate_codes_become_their_univariate_equivalent(acidity, asked, fitted):
    result = select_model(acidity.X, [1, 2], asked, reg_covar=0.0)
    assert list(result.table_.columns) == fitted


def test_e_and_v_estimators_on_one_feature(acidity):
    # E shares one variance; V gives each component its own (mclust's univariate models).
    e = GaussianMixture(2, covariance_type="E", init_params="hierarchical", tol=1e-8).fit(acidity.X)
    assert e.covariances_.shape == (2, 1, 1)
    assert e.covariances_[0, 0, 0] == e.covariances_[1, 0, 0]
    assert e.n_parameters_ == 4  # as mclust's df for E,2
    assert e.score(acidity.X) * len(acidity.X) == pytest.approx(acidity.best_loglik, abs=1e-3)
    v = GaussianMixture(2, covariance_type="V", random_state=0).fit(acidity.X)
    assert v.covariances_[0, 0, 0] != v.covariances_[1, 0, 0]
    assert v.n_parameters_ == 5
    prior = GaussianMixture(2, covariance_type="V", prior="default", random_state=0).fit(acidity.X)
    assert np.all(prior.covariances_ > 0)


@pytest.mark.parametrize("name", ["E", "V"])
def test_univariate_models_refuse_several_features(name):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=f"covariance_type='{name}'.*one feature.*X has 2"):
        GaussianMixture(2, covariance_type=name).fit(X)
    with pytest.raises(ValueError, match="one feature"):
        select_model(X, [1, 2], [name, "VVV"])


def test_a_univariate_model_survives_a_model_file(acidity, tmp_path):
    from gaussmix import load, save

    fitted = GaussianMixture(2, covariance_type="V", random_state=0).fit(acidity.X)
    save(fitted, tmp_path / "model.json")
    loaded = load(tmp_path / "model.json")
    assert loaded.covariance_type == "V"
    np.testing.assert_allclose(loaded.score_samples(acidity.X), fitted.score_samples(acidity.X))
