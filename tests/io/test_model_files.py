"""save/load: JSON round trips and a loader that refuses every malformed file clearly."""

import json
import os
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaussmix
from gaussmix import AnomalyDetector, GaussianMixture
from gaussmix.engine.covariance.models import ALIASES, MODELS
from gaussmix.estimators.persistence import read_model_file


@pytest.fixture(scope="module")
def data(chapter_data):
    return chapter_data[0][:400]


@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    model = GaussianMixture(n_components=3, random_state=0).fit(data)
    path = tmp_path_factory.mktemp("model") / "model.json"
    gaussmix.save(model, path)
    return model, path, json.loads(path.read_text())


def _write(tmp_path, document, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("covariance_type", [*ALIASES, *MODELS])
def test_round_trip_gives_identical_predictions(tmp_path, data, covariance_type):
    model = GaussianMixture(n_components=3, covariance_type=covariance_type, random_state=0)
    model.fit(data)
    gaussmix.save(model, tmp_path / "m.json")
    loaded = gaussmix.load(tmp_path / "m.json")
    assert type(loaded) is GaussianMixture
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))
    np.testing.assert_array_equal(loaded.predict_proba(data), model.predict_proba(data))
    np.testing.assert_array_equal(loaded.score_samples(data), model.score_samples(data))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.n_parameters_ == model.n_parameters_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert (loaded.converged_, loaded.n_iter_) == (model.converged_, model.n_iter_)
    assert loaded.bic(data) == model.bic(data)
    assert (loaded.n_steps_, loaded.n_missing_values_) == (model.n_steps_, model.n_missing_values_)


def test_feature_names_float32_and_metadata_survive(tmp_path, data):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(data.astype(np.float32), columns=["x one", "x two"])
    model = GaussianMixture(n_components=2, random_state=0).fit(frame)
    gaussmix.save(model, tmp_path / "m.json", metadata={"note": "hello", "scale": [1.0, 2.0]})
    loaded, metadata = read_model_file(tmp_path / "m.json")
    assert list(loaded.feature_names_in_) == ["x one", "x two"]
    assert loaded.means_.dtype == np.float32
    assert metadata == {"note": "hello", "scale": [1.0, 2.0]}
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_anomaly_detector_round_trip(tmp_path, data):
    detector = AnomalyDetector(
        contamination=0.1, mixture=GaussianMixture(n_components=3, covariance_type="diag")
    ).fit(data)
    gaussmix.save(detector, tmp_path / "d.json")
    loaded = gaussmix.load(tmp_path / "d.json")
    assert type(loaded) is AnomalyDetector
    assert loaded.threshold_ == detector.threshold_
    assert loaded.mixture.get_params() == detector.mixture.get_params()
    np.testing.assert_array_equal(loaded.predict(data), detector.predict(data))
    np.testing.assert_array_equal(loaded.decision_function(data), detector.decision_function(data))


def test_save_refuses_unfitted_and_unknown_models(tmp_path):
    with pytest.raises(ValueError, match="not fitted; call fit"):
        gaussmix.save(GaussianMixture(), tmp_path / "m.json")
    with pytest.raises(TypeError, match="GaussianMixture and AnomalyDetector"):
        gaussmix.save(object(), tmp_path / "m.json")
    with pytest.raises(ValueError, match="does not exist; create it"):
        gaussmix.save(GaussianMixture(2).fit(np.eye(4)), tmp_path / "no" / "m.json")
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path, saved, monkeypatch):
    model, source, _ = saved
    target = tmp_path / "model.json"
    target.write_text("previous contents")

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        gaussmix.save(model, target)
    assert target.read_text() == "previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_never_unpickles(tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps({"format": "gaussmix-model"}))
    with pytest.raises(ValueError, match="pickle"):
        gaussmix.load(path)


def test_estimators_pickle_in_memory_as_scikit_learn_requires():
    """The docs promise JSON model files, not unpicklable estimators: pickling in memory
    (joblib workers, GridSearchCV(n_jobs=2)) is scikit-learn's contract and works."""
    from sklearn.model_selection import GridSearchCV

    X = np.random.default_rng(0).normal(size=(60, 2))
    model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    search = GridSearchCV(
        gaussmix.GaussianMixture(random_state=0), {"n_components": [1, 2]}, cv=2, n_jobs=2
    ).fit(X)
    assert search.best_params_["n_components"] in (1, 2)


def _corrupt(document, mutate):
    document = json.loads(json.dumps(document))
    mutate(document)
    return document


def _set(path, value):
    def mutate(document):
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


FITTED = ("model", "fitted")


@pytest.mark.parametrize(
    "mutate, match",
    [
        (_set(("format",), "something-else"), "not a gaussmix model file"),
        (_set(("format_version",), 99), "upgrade gaussmix"),
        (_set(("format_version",), "1"), "format_version"),
        (_set(("model", "class"), "os.system"), "unknown model class"),
        (_set(("model", "class"), ["GaussianMixture"]), "unknown model class"),
        (_set((*FITTED, "covariance_model"), "XYZ"), "unknown covariance model"),
        (_set((*FITTED, "covariance_model"), "VII"), "does not match covariance_type"),
        (_set((*FITTED, "n_components"), 10**9), "n_components must be an integer"),
        (_set((*FITTED, "n_features"), -2), "n_features must be an integer"),
        (_set((*FITTED, "n_features"), 3), "means must be nested lists"),
        (_set((*FITTED, "weights"), [0.5, 0.5, 0.5]), "sum to 1"),
        (_set((*FITTED, "weights"), [1.5, -0.25, -0.25]), "non-negative"),
        (_set((*FITTED, "weights"), [0.3, 0.3]), "shape"),
        (_set((*FITTED, "means"), [[0, 0], [1, 1], [2, "2"]]), "only numbers"),
        (_set((*FITTED, "means"), [[0, 0], [1, 1], [2, 1e400]]), "finite"),
        (_set((*FITTED, "means"), [[0, 0], [1, 1], [2, True]]), "only numbers"),
        (_set((*FITTED, "covariances"), [[[1, 0], [0, -1]]] * 3), "not positive definite"),
        (_set((*FITTED, "covariances"), [[[1, 0.5], [0, 1]]] * 3), "not symmetric"),
        (_set((*FITTED, "precisions_cholesky"), [[[2, 0], [0, 2]]] * 3), "does not match"),
        (_set((*FITTED, "converged"), "yes"), "converged"),
        (_set((*FITTED, "lower_bounds"), [1.0, None]), "lower_bounds"),
        (_set((*FITTED, "output_dtype"), "object"), "output_dtype"),
        (_set((*FITTED, "feature_names"), ["a"]), "feature_names"),
        (_set((*FITTED, "n_steps"), -1), "n_steps"),
        (_set(("model", "init_params", "evil"), 1), "unknown parameter"),
        (_set(("model", "init_params", "n_components"), -3), "n_components"),
        (_set(("model", "init_params", "tol"), {"a": 1}), "unsupported type"),
        (_set(("model",), [1, 2, 3]), "must be a JSON object"),
        (_set(("metadata",), 5), "metadata"),
        (lambda d: d["model"]["fitted"].pop("means"), "no 'means' field"),
    ],
)
def test_invalid_files_are_refused_with_a_reason(tmp_path, saved, mutate, match):
    _, _, document = saved
    path = _write(tmp_path, _corrupt(document, mutate))
    with pytest.raises(ValueError, match=match) as info:
        gaussmix.load(path)
    assert "gaussmix.save" in str(info.value)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not valid JSON"),
        (b"\x00\x01\x02\xff\xfe", "binary"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": Infinity}', "not valid JSON"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"[1, 2, 3]", "not a gaussmix model file"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_garbage_is_refused(tmp_path, content, match):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        gaussmix.load(path)


def test_huge_and_missing_files_are_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(gaussmix.io.MAX_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ValueError, match="byte limit"):
        gaussmix.load(huge)
    with pytest.raises(ValueError, match="does not exist"):
        gaussmix.load(tmp_path / "absent.json")
    with pytest.raises(ValueError, match="not a regular file"):
        gaussmix.load(tmp_path)


def test_anomaly_detector_file_checks_its_threshold(tmp_path, data):
    detector = AnomalyDetector(n_components=2, random_state=0).fit(data)
    gaussmix.save(detector, tmp_path / "d.json")
    document = json.loads((tmp_path / "d.json").read_text())
    document["model"]["fitted"]["threshold"] = "low"
    path = _write(tmp_path, document, "bad.json")
    with pytest.raises(ValueError, match="threshold must be a number"):
        gaussmix.load(path)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            yield from _paths(value, (*prefix, index))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_corruption_is_a_value_error_or_a_valid_model(tmp_path, saved, data):
    _, _, document = saved
    document = json.loads(json.dumps(document))
    paths = [p for p in _paths(document) if p]
    path = data.draw(st.sampled_from(paths))
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = data.draw(json_values)
    target = tmp_path / "fuzzed.json"
    target.write_text(json.dumps(document))
    try:
        model = gaussmix.load(target)
    except ValueError:
        return
    # Anything accepted must be a working model.
    assert np.all(np.isfinite(model.score_samples(np.zeros((2, model.n_features_in_)))))
