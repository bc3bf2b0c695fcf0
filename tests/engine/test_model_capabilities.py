"""Covariance models declare what they can do; everything else asks them.

Every registered model declares each capability, each declaration is honoured by the
code that reads it, and a model registered at run time (one class, one `register` call)
is picked up by the estimators, model selection, persistence and the CLI.
"""

import numpy as np
import pytest
from click.testing import CliRunner

from gaussmix import (
    BayesianGaussianMixture,
    ConjugatePrior,
    GaussianMixture,
    load,
    save,
    select_model,
)
from gaussmix.cli.main import cli
from gaussmix.datasets import make_gmm_data
from gaussmix.engine.covariance.models import (
    ALIASES,
    COVARIANCE_TYPES,
    MODELS,
    CovarianceModel,
    canonical_name,
    get_covariance_model,
    names_with,
    register,
    unregister,
)
from gaussmix.engine.covariance.models.spherical import VII

ALL_MODELS = list(MODELS)


@pytest.fixture(scope="module")
def data():
    X, _ = make_gmm_data(n_samples=300, random_state=0)
    return X


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_model_declares_every_capability(name):
    model = MODELS[name]
    assert model.undeclared_capabilities() == []
    for capability in ("one_point_safe", "supports_map", "supports_variational"):
        assert isinstance(getattr(model, capability), bool), capability
    assert model.sklearn_name is None or isinstance(model.sklearn_name, str)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_map_capability_is_honoured(name, data):
    model = GaussianMixture(3, covariance_type=name, prior=ConjugatePrior(), random_state=0)
    if MODELS[name].supports_map:
        model.fit(data)
        assert np.all(np.isfinite(model.means_)) and np.isfinite(model.lower_bound_)
    else:
        with pytest.raises(ValueError, match="prior= is not supported"):
            model.fit(data)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_variational_capability_is_honoured(name, data):
    model_class = MODELS[name]
    covariance_type = model_class.sklearn_name or name
    bgm = BayesianGaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=0, max_iter=50
    )
    if model_class.supports_variational:
        bgm.fit(data)
        assert np.isfinite(bgm.lower_bound_)
    else:
        with pytest.raises(ValueError, match="covariance_type"):
            bgm.fit(data)


@pytest.mark.parametrize("name", names_with("one_point_safe"))
def test_one_point_safe_models_estimate_a_component_on_one_point(name):
    rng = np.random.default_rng(0)
    model = get_covariance_model(name)
    d = 3
    spread = rng.normal(size=(40, d))
    full = np.stack([spread.T @ spread, np.zeros((d, d))])  # the second sits on one point
    scatter = full if model.scatter.name == "full" else np.stack([np.diag(s) for s in full])
    form = model.estimate(scatter, np.array([40.0, 1.0]), reg_covar=1e-6)
    dense = form.dense_covariances(2, d)
    assert np.all(np.linalg.eigvalsh(dense) > 0)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_sklearn_names_map_back_to_their_model(name):
    alias = MODELS[name].sklearn_name
    if alias is None:
        assert name not in ALIASES.values()
    else:
        assert ALIASES[alias] == name and canonical_name(alias) == name


def test_unknown_capability_is_refused():
    with pytest.raises(ValueError, match="unknown capability"):
        names_with("supports_everything")


def test_a_model_leaving_a_capability_out_is_refused():
    class Incomplete(CovarianceModel):
        name = "XXX"
        description = "lacks its capabilities"

    with pytest.raises(TypeError, match="does not declare sklearn_name, one_point_safe"):
        register(Incomplete)
    assert "XXX" not in MODELS


def test_a_name_already_registered_is_refused():
    with pytest.raises(TypeError, match="already registered"):
        register(VII)


class SphericalCopy(VII):
    """A throwaway 15th model: VII's estimate under another name, MAP without variational."""

    name = "ZII"
    description = "spherical, varying volume (a test copy)"
    sklearn_name = None
    one_point_safe = True
    supports_map = True
    supports_variational = False


@pytest.fixture
def fifteenth_model():
    register(SphericalCopy)
    yield SphericalCopy
    unregister(SphericalCopy.name)


def test_a_registered_model_is_picked_up_everywhere(fifteenth_model, data, tmp_path):
    assert "ZII" in COVARIANCE_TYPES and "ZII" in names_with("supports_map")
    assert "ZII" in names_with("one_point_safe")
    assert "ZII" not in names_with("supports_variational")

    fitted = GaussianMixture(3, covariance_type="ZII", random_state=0).fit(data)
    reference = GaussianMixture(3, covariance_type="VII", random_state=0).fit(data)
    np.testing.assert_allclose(fitted.means_, reference.means_)
    GaussianMixture(3, covariance_type="ZII", prior=ConjugatePrior(), random_state=0).fit(data)

    save(fitted, tmp_path / "m.json")
    np.testing.assert_array_equal(load(tmp_path / "m.json").predict(data), fitted.predict(data))

    result = select_model(data, n_components=[2, 3], covariance_types="all", random_state=0)
    assert "ZII" in result.table_.columns

    with pytest.raises(ValueError, match="covariance_type"):
        BayesianGaussianMixture(covariance_type="ZII").fit(data)

    csv = tmp_path / "data.csv"
    np.savetxt(csv, data, delimiter=",", header="a,b", comments="")
    outcome = CliRunner().invoke(
        cli,
        [
            "fit",
            str(csv),
            "--out",
            str(tmp_path / "out"),
            "--covariance-types",
            "ZII,VII",
            "--components",
            "2,3",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "ZII" in (tmp_path / "out" / "selection.csv").read_text()


def test_unregistering_restores_the_list():
    before = list(COVARIANCE_TYPES)
    register(SphericalCopy)
    unregister(SphericalCopy.name)
    assert COVARIANCE_TYPES == before and "ZII" not in MODELS
