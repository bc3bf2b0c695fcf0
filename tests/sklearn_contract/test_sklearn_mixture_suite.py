"""The drop-in contract: scikit-learn's own mixture tests pass with gaussmix's estimators.

At run time, the installed scikit-learn's ``sklearn/mixture/tests/test_gaussian_mixture.py``,
``test_mixture.py`` and ``test_bayesian_mixture.py`` are copied into a temporary folder,
their ``from sklearn.mixture import ...`` lines are rewritten to ``from gaussmix import
...``, and they run in a separate pytest process with scikit-learn's own conftest
(``-p sklearn.conftest``: its fixtures such as ``global_random_seed``). Nothing of
scikit-learn's test code is stored in this repository; a newer scikit-learn brings its
newer tests.

Everything else they import from scikit-learn (data generators, the reference
``_estimate_gaussian_covariances_*`` functions, ``RandomData``) stays scikit-learn's: they
are the independent reference the tests compare against.

Run on its own: ``python -m pytest -q tests/sklearn_contract``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

TEST_FILES = ("test_gaussian_mixture.py", "test_mixture.py", "test_bayesian_mixture.py")

#: The public classes the rewritten files must take from gaussmix.
PUBLIC_CLASSES = {"GaussianMixture", "BayesianGaussianMixture"}

#: Tests left out, by node id prefix (a parametrised test ends with "["), and why: each
#: drives a private method of scikit-learn's implementation that gaussmix, a different
#: implementation, does not have.
DESELECTED = {
    "test_gaussian_mixture.py::test_gaussian_mixture_precisions_init[": (
        "calls the private GaussianMixture._set_parameters to build its expected values"
    ),
    "test_gaussian_mixture.py::"
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters[": (
        "mocks the private function sklearn.mixture._gaussian_mixture."
        "_estimate_gaussian_parameters and counts its calls"
    ),
    "test_bayesian_mixture.py::test_compare_covar_type": (  # not parametrised
        "calls the private BayesianGaussianMixture._check_parameters"
    ),
}

#: At least this many tests pass with scikit-learn 1.9 (77 in its files, 6 deselected,
#: the array-API variants skipped without array-api-strict); older releases have fewer.
MINIMUM_PASSED = {(1, 9): 71}
DEFAULT_MINIMUM_PASSED = 40

_IMPORT = re.compile(r"^from sklearn\.mixture import ", flags=re.MULTILINE)


def installed_mixture_tests() -> Path:
    """The installed scikit-learn's ``sklearn/mixture/tests`` folder."""
    folder = Path(sklearn.__file__).parent / "mixture" / "tests"
    missing = [name for name in TEST_FILES if not (folder / name).is_file()]
    if missing:
        pytest.fail(
            f"scikit-learn {sklearn.__version__} at {folder.parent.parent} has no "
            f"{', '.join(missing)}: install scikit-learn from its wheel, which ships its tests."
        )
    return folder


def rewritten(source: str, name: str) -> str:
    """``source`` with its ``from sklearn.mixture import`` lines importing from gaussmix.

    Fails if there was nothing to rewrite, or if a public mixture class would still come
    from scikit-learn (e.g. through a private module): the contract would then test
    scikit-learn against itself.
    """
    result, count = _IMPORT.subn("from gaussmix import ", source)
    if count == 0:
        pytest.fail(f"{name}: no 'from sklearn.mixture import' line to rewrite")
    for node in ast.walk(ast.parse(result)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            still = PUBLIC_CLASSES & {alias.name for alias in node.names}
            if still:
                pytest.fail(f"{name} imports {sorted(still)} from {node.module}; rewrite it")
    return result


def minimum_passed() -> int:
    """The pass count below which the run is suspect (tests silently lost)."""
    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return MINIMUM_PASSED.get((major, minor), DEFAULT_MINIMUM_PASSED)


def test_scikit_learns_mixture_tests_pass_with_gaussmix(tmp_path):
    source_folder = installed_mixture_tests()
    for name in TEST_FILES:
        text = (source_folder / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(rewritten(text, name), encoding="utf-8")

    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "sklearn.conftest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        "-o",
        "addopts=",
    ]
    for node_id in DESELECTED:
        command += ["--deselect", node_id]
    environment = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    completed = subprocess.run(
        [*command, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"scikit-learn's mixture tests failed:\n{output[-20000:]}"
    summary = re.search(r"(\d+) passed", output)
    passed = int(summary.group(1)) if summary else 0
    assert passed >= minimum_passed(), (
        f"only {passed} of scikit-learn {sklearn.__version__}'s mixture tests passed "
        f"(expected at least {minimum_passed()}):\n{output[-5000:]}"
    )
