"""The ``>>>`` examples of every gaussmix module's docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import gaussmix

matplotlib.use("Agg")

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(gaussmix.__path__, prefix="gaussmix.")
    if not info.name.endswith("__main__")
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed in {name}"


def test_the_examples_are_found():
    finder = doctest.DocTestFinder(exclude_empty=True)
    examples = sum(
        len(test.examples)
        for name in MODULES
        for test in finder.find(importlib.import_module(name), name)
    )
    assert examples >= 40
