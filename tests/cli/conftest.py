"""CLI fixtures: the Agg backend and small data files."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from gaussmix.datasets import load_diabetes, load_faithful  # noqa: E402


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="session")
def faithful_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "faithful.csv"
    load_faithful().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def chapter_npy(tmp_path_factory, chapter_data):
    path = tmp_path_factory.mktemp("data") / "chapter.npy"
    np.save(path, chapter_data[0][:300])
    return path
