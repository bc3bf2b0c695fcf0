"""Every field of a saved GaussianMixture is checked when the file is read."""

import json

import pytest

import gaussmix
from gaussmix import GaussianMixture

#: Fields that files written before they existed lack; the loader takes their defaults.
OPTIONAL_FIELDS = {"noise", "n_steps", "n_missing_values", "collapse"}


@pytest.fixture(scope="module")
def document(tmp_path_factory, chapter_data):
    model = GaussianMixture(n_components=3, random_state=0).fit(chapter_data[0][:400])
    path = tmp_path_factory.mktemp("model") / "model.json"
    gaussmix.save(model, path)
    return json.loads(path.read_text())


def _load(tmp_path, document):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    return gaussmix.load(path)


def _fitted_fields(document):
    return sorted(json.loads(json.dumps(document))["model"]["fitted"])


def test_a_missing_required_field_is_named(tmp_path, document):
    for name in _fitted_fields(document):
        changed = json.loads(json.dumps(document))
        del changed["model"]["fitted"][name]
        if name in OPTIONAL_FIELDS:
            _load(tmp_path, changed)  # an older file: the default is taken
        else:
            with pytest.raises(ValueError, match=f"has no '{name}' field"):
                _load(tmp_path, changed)


def test_every_field_refuses_a_value_of_the_wrong_kind(tmp_path, document):
    for name in _fitted_fields(document):
        changed = json.loads(json.dumps(document))
        changed["model"]["fitted"][name] = "garbage"
        with pytest.raises(ValueError, match="is invalid"):
            _load(tmp_path, changed)


def test_sizes_beyond_the_limit_are_refused_before_any_array_is_read(tmp_path, document):
    changed = json.loads(json.dumps(document))
    changed["model"]["init_params"]["n_components"] = 10_000
    changed["model"]["fitted"].update(n_components=10_000, n_features=10_000)
    with pytest.raises(ValueError, match="10000 components in 10000 dimensions exceed"):
        _load(tmp_path, changed)
