"""Hostile model files: generated corruptions of a valid file, pickles, absurd sizes.

``tests/io`` checks one corruption per field; here Hypothesis mutates any node of a
valid document into any JSON value, truncates files anywhere, and checks that loading
never raises anything but a ValueError, never allocates much, and never runs code.
"""

import json
import os
import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_strategies import budget

import gaussmix
from gaussmix import AnomalyDetector, GaussianMixture


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """Valid model files: a VEV mixture with feature names and an anomaly detector."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 2)), rng.normal(5, 1, size=(40, 2))])
    folder = tmp_path_factory.mktemp("valid")
    gaussmix.save(
        GaussianMixture(2, covariance_type="VEV", random_state=0).fit(X),
        folder / "mixture.json",
        metadata={"note": "x"},
    )
    gaussmix.save(AnomalyDetector(n_components=2, random_state=0).fit(X), folder / "detector.json")
    return [(folder / name).read_bytes() for name in ("mixture.json", "detector.json")]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node, prefix=()):
    """Every path (tuple of keys/indices) to a node of a JSON document."""
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node[:3]):
            yield from _paths(child, (*prefix, index))


def _replace(document, path, value):
    if not path:
        return value
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


def _load_refuses_or_loads(path):
    try:
        model = gaussmix.load(path)
    except ValueError as exc:
        assert "gaussmix" in str(exc) or str(path) in str(exc), exc
        return None
    return model


@settings(max_examples=budget(2))
@given(which=st.integers(0, 1), choice=st.integers(0, 10**6), value=json_values)
def test_any_mutated_node_loads_or_gives_a_value_error(
    tmp_path_factory, documents, which, choice, value
):
    document = json.loads(documents[which])
    paths = list(_paths(document))
    document = _replace(document, paths[choice % len(paths)], value)
    path = tmp_path_factory.mktemp("mutated") / "model.json"
    path.write_text(json.dumps(document))
    model = _load_refuses_or_loads(path)
    if model is not None:  # a harmless change (e.g. metadata): the model still works
        X = np.zeros((3, model.n_features_in_ if hasattr(model, "n_features_in_") else 2))
        assert np.all(np.isfinite(model.score_samples(X)))
        mixture = getattr(model, "mixture_", model)  # and its fit history is consistent
        assert mixture.n_iter_ <= len(mixture.lower_bounds_)
        assert mixture.n_iter_ == 0 or np.isfinite(mixture.lower_bound_)


@settings(max_examples=budget(1))
@given(which=st.integers(0, 1), fraction=st.floats(0.0, 0.9999))
def test_truncated_files_are_refused(tmp_path_factory, documents, which, fraction):
    content = documents[which].rstrip()  # cutting only trailing whitespace leaves valid JSON
    path = tmp_path_factory.mktemp("truncated") / "model.json"
    path.write_bytes(content[: min(int(len(content) * fraction), len(content) - 1)])
    with pytest.raises(ValueError, match="not valid JSON|not a gaussmix model file"):
        gaussmix.load(path)


@settings(max_examples=budget(1))
@given(content=st.binary(max_size=2000))
def test_random_bytes_are_refused(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        gaussmix.load(path)


class _Exploit:
    """A pickle payload that would create a file if anything unpickled it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 1, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_renamed_json_is_refused_and_never_executed(tmp_path, protocol):
    marker = tmp_path / "executed"
    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(_Exploit(marker), protocol=protocol))
    with pytest.raises(ValueError, match="pickle|not valid JSON|binary"):
        gaussmix.load(path)
    assert not marker.exists()


def _claiming(documents, **fitted):
    document = json.loads(documents[0])
    document["model"]["fitted"].update(fitted)
    if "n_components" in fitted:
        document["model"]["init_params"]["n_components"] = fitted["n_components"]
    return document


@pytest.mark.parametrize(
    "claim",
    [
        {"n_components": 10**9},
        {"n_components": 10**9, "weights": [1.0]},
        {"n_components": 10_000, "n_features": 10_000},
        {"n_features": 10**12},
        {"n_components": 2**64},
        {"lower_bounds": [0.0] * 2_000_000},
    ],
)
def test_absurd_sizes_are_refused_without_allocating(tmp_path, documents, claim):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_claiming(documents, **claim)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError):
            gaussmix.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the parsed document itself may take a few tens of MB; a 10^9-component model would
    # need gigabytes
    assert peak < 400 * 2**20, peak


@pytest.mark.parametrize("field", ["means", "weights", "covariances", "metadata"])
def test_deep_nesting_inside_a_field_is_refused(tmp_path, documents, field):
    document = json.loads(documents[0])
    text = json.dumps(document)
    placeholder = '"__deep__"'
    if field == "metadata":
        document["metadata"] = "__deep__"
    else:
        document["model"]["fitted"][field] = "__deep__"
    text = json.dumps(document).replace(placeholder, "[" * 100_000 + "]" * 100_000)
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(ValueError, match="nested too deeply|nested lists|shape|metadata"):
        gaussmix.load(path)


def test_model_file_that_is_a_fifo_or_folder_is_refused(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        gaussmix.load(fifo)  # must not block waiting for a writer
    with pytest.raises(ValueError, match="not a regular file"):
        gaussmix.load(tmp_path)
