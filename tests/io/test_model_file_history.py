"""A model file whose trace of lower bounds disagrees with its counters is refused."""

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix
from gaussmix import AnomalyDetector, BayesianGaussianMixture, GaussianMixture

RNG = np.random.default_rng(0)
X = np.vstack([RNG.normal(size=(150, 2)), RNG.normal(5, 1, size=(150, 2))])


def _partially_fitted():
    model = GaussianMixture(2, random_state=0).fit(X[:100])
    for start in (100, 200):
        model.partial_fit(X[start : start + 100])
    return model


def _collapsed():
    # Two components started on single rows with huge precision: EM stops at iteration 1.
    model = GaussianMixture(
        3,
        covariance_type="spherical",
        reg_covar=0.0,
        weights_init=np.full(3, 1 / 3),
        means_init=np.vstack([X[:2], [[2.5, 2.5]]]),
        precisions_init=[1e6, 1e6, 0.1],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


MODELS = {
    "full EM": lambda: GaussianMixture(2, random_state=0).fit(X),
    "mini-batch": lambda: GaussianMixture(2, batch_size=64, random_state=0).fit(X),
    "partial_fit": _partially_fitted,
    "pruned variational": lambda: (
        BayesianGaussianMixture(n_components=4, random_state=0).fit(X).prune()
    ),
    "stopped at a collapse": _collapsed,
    "no iteration": lambda: _no_iteration(),
}


def _no_iteration():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(2, max_iter=0, random_state=0).fit(X)


@pytest.mark.parametrize("kind", MODELS)
def test_every_kind_of_fit_round_trips_with_its_history(tmp_path, kind):
    model = MODELS[kind]()
    gaussmix.save(model, tmp_path / "m.json")
    loaded = gaussmix.load(tmp_path / "m.json")
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.collapse_reason_ == model.collapse_reason_
    assert (loaded.collapse_reason_ is not None) == (kind == "stopped at a collapse")


def _saved_fields(tmp_path, model, **changes):
    path = tmp_path / "m.json"
    gaussmix.save(model, path)
    document = json.loads(path.read_text())
    document["model"]["fitted"].update(changes)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"lower_bounds": []}, r"lower_bounds has 0 entries but n_iter is \d+"),
        ({"n_iter": 0}, r"lower_bounds has \d+ entries but n_iter is 0 and n_steps 0.*exactly 0"),
        ({"n_iter": 10**5}, r"lower_bounds has \d+ entries but n_iter is 100000"),
        ({"lower_bounds": [1.0] * 50}, r"lower_bounds has 50 entries"),
    ],
)
def test_a_trace_that_disagrees_with_n_iter_is_refused(tmp_path, changes, match):
    path = _saved_fields(tmp_path, MODELS["full EM"](), **changes)
    with pytest.raises(ValueError, match=f"is invalid: {match}") as info:
        gaussmix.load(path)
    assert "Re-create it with gaussmix.save" in str(info.value)


def test_partial_fit_steps_allow_a_longer_trace_but_not_an_unlimited_one(tmp_path):
    model = _partially_fitted()
    assert len(model.lower_bounds_) == model.n_iter_ + 2  # two partial_fit steps
    path = _saved_fields(tmp_path, model, lower_bounds=model.lower_bounds_ + [0.0])
    with pytest.raises(ValueError, match=r"between \d+ and \d+ were expected"):
        gaussmix.load(path)


def test_an_anomaly_detectors_mixture_is_checked_too(tmp_path):
    detector = AnomalyDetector(n_components=2, random_state=0).fit(X)
    path = tmp_path / "d.json"
    gaussmix.save(detector, path)
    document = json.loads(path.read_text())
    document["model"]["fitted"]["mixture"]["fitted"]["lower_bounds"] = []
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="lower_bounds has 0 entries"):
        gaussmix.load(path)


@pytest.mark.parametrize(
    "kind, changes, match",
    [
        ("stopped at a collapse", {"converged": True}, "but converged is true"),
        ("full EM", {"collapse": "a component collapsed"}, "but converged is true"),
        ("no iteration", {"collapse": "a component collapsed"}, "or n_iter is 0"),
        ("full EM", {"collapse": 3}, "collapse must be null or a text"),
        ("full EM", {"collapse": ""}, "collapse must be null or a text"),
    ],
)
def test_a_collapse_that_disagrees_with_the_convergence_is_refused(tmp_path, kind, changes, match):
    path = _saved_fields(tmp_path, MODELS[kind](), **changes)
    with pytest.raises(ValueError, match=f"is invalid: .*{match}"):
        gaussmix.load(path)


def test_a_file_without_the_collapse_field_loads_as_no_collapse(tmp_path):
    path = tmp_path / "m.json"
    gaussmix.save(_collapsed(), path)
    document = json.loads(path.read_text())
    assert document["model"]["fitted"]["collapse"] == _collapsed().collapse_reason_
    del document["model"]["fitted"]["collapse"]  # as written before the field existed
    document["model"]["fitted"]["converged"] = False
    path.write_text(json.dumps(document))
    assert gaussmix.load(path).collapse_reason_ is None
