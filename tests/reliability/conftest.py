"""Hypothesis profiles of the reliability suite.

``HYPOTHESIS_PROFILE=ci`` (the default) runs a few thousand generated cases in total,
derandomised so that CI is reproducible; ``HYPOTHESIS_PROFILE=release`` runs twenty
times as many with fresh random seeds and Hypothesis's example database, for release
checks (``HYPOTHESIS_PROFILE=release python -m pytest tests/reliability -q``, about an
hour on two cores). See ``docs/reliability.md``.
"""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "release",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.register_profile(
    "smoke", max_examples=10, deadline=None, derandomize=True, database=None,
    suppress_health_check=_SLOW_IS_FINE,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
