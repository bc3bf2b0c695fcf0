"""Whether a finished `GaussianMixture` fit is degenerate, and the warning that says so.

The rule itself is `gaussmix.engine.core.degeneracy.degeneracy_reason`; this module only
gathers its inputs from a fitted estimator and its training data.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..engine.core.degeneracy import (
    MEMBER_RESPONSIBILITY,
    DegenerateFitWarning,
    degeneracy_reason,
    distinct_rows_per_component,
    rows_needed,
)
from ..engine.core.estep import log_responsibilities

__all__ = ["fit_degeneracy", "record_degeneracy", "warn_if_degenerate"]


def fit_degeneracy(estimator, data, responsibilities=None) -> str | None:
    """`degeneracy_reason` of a fitted estimator on its training data source.

    In memory every rule is checked (the distinct-row rule, which costs a pass over
    the rows, above `ALWAYS_COUNT_ROWS` rows only when a component is small); for a
    memory map or data read in chunks the distinct-row rule is skipped (memory must not
    grow with the file) and the values are counted as rows times features.
    ``responsibilities`` (``predict_proba`` of all of ``data.X``), when the caller has
    them, spare that pass.
    """
    params = estimator._params
    n_components, n_features = params.means.shape
    name = estimator._model.name
    X = getattr(data, "X", None)
    needed = rows_needed(name, n_features)
    n_values, distinct = None, None
    if isinstance(X, np.ndarray) and not isinstance(X, np.memmap):
        positive = np.asarray(data.sample_weight) > 0
        rows = X if positive.all() else X[positive]
        n_values = rows.size
        if getattr(estimator, "missing", "error") == "marginalize":
            n_values -= int(np.isnan(rows).sum())
        if needed > 1 and _worth_counting(params.weights, rows.shape[0], needed):
            resp = responsibilities if rows is X else None
            if resp is None:
                resp = estimator._rowwise(
                    rows, lambda chunk, p: np.exp(log_responsibilities(chunk, p)[1])
                )
            members = resp[:, :n_components] > MEMBER_RESPONSIBILITY
            distinct = distinct_rows_per_component(rows, members, needed)
    elif getattr(data, "n_samples", None) is not None:
        # A memory map or a source read in chunks: no pass over the rows.
        n_values = int(data.n_samples) * n_features
    return degeneracy_reason(
        weights=params.weights,
        means=params.means,
        covariances=params.covariance.dense_covariances(n_components, n_features),
        reg_covar=float(estimator.reg_covar),
        n_parameters=int(estimator.n_parameters_),
        n_values=n_values,
        needed_rows=needed,
        distinct_rows=distinct,
    )


#: Up to this many rows the distinct-row rule always runs (one extra E-step pass);
#: above, only when some component's expected row count is small.
ALWAYS_COUNT_ROWS = 100_000


def _worth_counting(weights, n_rows: int, needed: int) -> bool:
    """Whether to pay a pass over the rows for the distinct-row rule.

    On large data a component resting on a few distinct rows nearly always also has a
    small weight; a pass costs about one EM iteration, so it is spent on small data
    and on fits with a component of fewer than ``10 * needed`` expected rows.
    """
    expected = np.asarray(weights, dtype=np.float64) * n_rows
    return n_rows <= ALWAYS_COUNT_ROWS or bool(np.any(expected < 10 * needed))


def record_degeneracy(estimator, data, responsibilities=None) -> str | None:
    """Record the fit's degeneracy reason on the estimator (``_degeneracy_reason``).

    Parameters
    ----------
    estimator : GaussianMixture
        A fitted estimator.
    data : DataSource
        Its training data, as its fit read them.
    responsibilities : ndarray of shape (n_samples, n_columns), optional
        ``predict_proba`` of all of ``data.X``, if the caller has computed it.

    Returns
    -------
    reason : str or None
        Why the fit is degenerate, or None.
    """
    # A prior (MAP-EM) keeps every covariance away from the floor by design.
    prior = getattr(estimator, "prior", None)
    reason = fit_degeneracy(estimator, data, responsibilities) if prior is None else None
    estimator._degeneracy_reason = reason
    return reason


def warn_if_degenerate(estimator, data) -> None:
    """Record the fit's degeneracy reason on the estimator and warn if there is one."""
    reason = record_degeneracy(estimator, data)
    if reason is not None:
        warnings.warn(
            f"The fitted mixture is degenerate: {reason}. Its likelihood is that of a spike, "
            "not of a cluster (mclust reports such a fit as NA). Use fewer components, "
            "another covariance_type, or a larger reg_covar; select_model excludes such "
            "fits from the best.",
            DegenerateFitWarning,
            stacklevel=4,
        )
