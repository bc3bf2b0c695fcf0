"""Rows with missing values (NaN), handled by marginalisation.

- `patterns`: which coordinates each row misses, rows grouped by pattern;
- `kernels`: the E-step over incomplete rows (observed-data densities, expected moments);
- `imputation`: conditional expectations and draws of the missing values.
"""

from .imputation import (
    PatternConditionals,
    conditional_expectation,
    draw_imputations,
    pattern_conditionals,
)
from .kernels import (
    UNLABELLED,
    ObservedDataParams,
    incomplete_statistics,
    observed_weighted_log_prob,
)
from .patterns import missingness_patterns

__all__ = [
    "UNLABELLED",
    "ObservedDataParams",
    "PatternConditionals",
    "conditional_expectation",
    "draw_imputations",
    "incomplete_statistics",
    "missingness_patterns",
    "observed_weighted_log_prob",
    "pattern_conditionals",
]
