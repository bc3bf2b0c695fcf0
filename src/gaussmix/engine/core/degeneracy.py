"""When is a fitted mixture degenerate? The one rule, used by `select_model` and by `fit`.

A maximum-likelihood Gaussian mixture has no maximum: a component that shrinks onto one
point, or onto a flat set of tied values, drives the likelihood to infinity. The
``reg_covar`` ridge stops the covariance just above zero, so such a fit *completes*, and
its log-likelihood (and BIC) can look like the best of a sweep. mclust, which adds no
ridge, reports those cells as NA (singular covariance). gaussmix keeps the fit but says
what happened: a fit is degenerate when

1. it has at least as many free parameters as there are data values (nothing is
   estimated: e.g. VVV with 2 components on a 3-row, 2-column table, 11 >= 6);
2. a component rests on fewer distinct rows (rows with a responsibility above 1e-8)
   than its covariance model needs to estimate its own covariance (d + 1 for a component with its own orientation, 2 for its own
   volume or shape, 1 when every parameter is shared), e.g. a component on 25
   identical rows;
3. a component's covariance is at the ``reg_covar`` floor relative to the data's scale:
   along its flattest direction ``u`` its variance is at most ``2 reg_covar`` (the ridge
   is at least half of it; ``1e-10`` times the data's variance along ``u`` counts as
   zero with ``reg_covar=0``) and at most ``1e-3`` times the data's variance along ``u``
   (the whole mixture's covariance, which at a fixed point of EM is the data's). The
   second condition keeps a deliberately large ``reg_covar`` on small-scale data from
   counting as a collapse.

`degeneracy_reason` is a pure function of the fitted parameters and a few counts; it
returns the reason in words, or None.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DegenerateFitWarning",
    "degeneracy_reason",
    "rows_needed",
    "distinct_rows_per_component",
    "RIDGE_SHARE",
    "RELATIVE_VARIANCE",
    "NUMERICAL_ZERO",
    "MEMBER_RESPONSIBILITY",
]

#: A component is at the floor when its variance along some direction is at most this
#: many times ``reg_covar`` (the ridge then makes up at least half of it).
RIDGE_SHARE = 2.0
#: ... and at most this fraction of the data's variance along that direction (a standard
#: deviation about 3% of the data's).
RELATIVE_VARIANCE = 1e-3
#: A variance this small relative to the data's is zero up to rounding (``reg_covar=0``).
NUMERICAL_ZERO = 1e-10
#: A row counts towards a component's distinct rows above this responsibility.
MEMBER_RESPONSIBILITY = 1e-8


class DegenerateFitWarning(UserWarning):
    """A fit completed, but a component collapsed (see `gaussmix.engine.core.degeneracy`)."""


def rows_needed(covariance_type: str, n_features: int) -> int:
    """Distinct rows a component needs for a unique estimate of what its model gives it alone.

    An mclust code reads volume, shape, orientation. A component with its own shape and
    orientation (VVV, EVV) needs a non-singular scatter: ``d + 1`` rows in general
    position. One with its own orientation but a shared shape (EEV, VEV) needs ``d``
    rows (a scatter of rank ``d - 1`` fixes every axis; with fewer, the axes of its
    null space, and so the covariance, are set by rounding). A component with its own
    volume or shape only (a V in the first two letters, or the univariate ``"V"``)
    needs two distinct rows, and one whose covariance is entirely shared one row.

    Parameters
    ----------
    covariance_type : str
        An mclust code (``"VVV"``, ``"EII"``, ``"E"``, ...).
    n_features : int

    Returns
    -------
    n_rows : int
    """
    if len(covariance_type) == 3 and covariance_type[2] == "V":
        return n_features + 1 if covariance_type[1] == "V" else n_features
    return 2 if "V" in covariance_type[:2] else 1


def distinct_rows_per_component(X: np.ndarray, members: np.ndarray, at_most: int) -> np.ndarray:
    """Distinct rows among each component's rows, counted up to ``at_most``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows (NaN equals NaN here).
    members : ndarray of bool, shape (n_samples, n_components)
        Which rows each component's estimate rests on: those with a responsibility
        above `MEMBER_RESPONSIBILITY` (a hard assignment would miss a broad component
        that wins few rows but is estimated from many).
    at_most : int
        Counting stops there (the rule only asks whether a component has fewer).

    Returns
    -------
    counts : ndarray of shape (n_components,)
    """
    counts = np.zeros(members.shape[1], dtype=np.int64)
    for k in range(members.shape[1]):
        rows = X[members[:, k]]
        # Rows are mostly distinct: the first few usually settle it without a full scan.
        counts[k] = _distinct_among_few(rows[: 4 * at_most], at_most)
        if counts[k] < at_most and rows.shape[0] > 4 * at_most:
            counts[k] = _distinct(rows, at_most)
    return counts


def _distinct_among_few(rows: np.ndarray, at_most: int) -> int:
    """`_distinct` for a few rows, by their bytes once -0.0 and every NaN are made one value.

    Equal values then have equal bytes (IEEE floats have one encoding per value besides
    the signed zeros and the NaN payloads), so a set of the rows' bytes counts what
    `_distinct`'s comparisons do, at a fraction of the cost for a handful of rows.
    """
    canonical = np.ascontiguousarray(np.where(np.isnan(rows), np.nan, rows + 0.0))
    seen: set[bytes] = set()
    for row in canonical:
        seen.add(row.tobytes())
        if len(seen) >= at_most:
            break
    return len(seen)


def _distinct(rows: np.ndarray, at_most: int) -> int:
    count = 0
    while rows.shape[0] and count < at_most:
        count += 1
        first = rows[0]
        same = np.all((rows == first) | (np.isnan(rows) & np.isnan(first)), axis=1)
        rows = rows[~same]
    return count


def _mixture_covariance(weights: np.ndarray, means: np.ndarray, covariances: np.ndarray):
    """Covariance of the whole mixture (law of total variance), weights normalised."""
    w = weights / weights.sum()
    centre = w @ means
    offsets = means - centre
    return np.einsum("k,kij->ij", w, covariances) + (offsets.T * w) @ offsets


def degeneracy_reason(
    *,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    reg_covar: float,
    n_parameters: int,
    n_values: int | None,
    needed_rows: int = 1,
    distinct_rows: np.ndarray | None = None,
) -> str | None:
    """Why a fitted mixture is degenerate, in words, or None if it is not.

    The rule of the module docstring, checked in its order.

    Parameters
    ----------
    weights : ndarray of shape (K,)
        Mixing weights of the Gaussian components (a noise weight left out).
    means : ndarray of shape (K, d)
    covariances : ndarray of shape (K, d, d)
        Fitted covariances, ``reg_covar`` included.
    reg_covar : float
        The ridge the fit added to every variance.
    n_parameters : int
        Free parameters of the fit.
    n_values : int or None
        Observed data values (rows with positive weight times features, less missing
        values); None skips rule 1.
    needed_rows : int, default=1
        See `rows_needed`.
    distinct_rows : ndarray of shape (K,), optional
        Distinct rows of each component (see `distinct_rows_per_component`); None skips
        rule 2.

    Returns
    -------
    reason : str or None
    """
    if n_values is not None and n_parameters >= n_values:
        return f"{n_parameters} free parameters for {n_values} data values"
    if distinct_rows is not None:
        short = np.flatnonzero(np.asarray(distinct_rows) < needed_rows)
        if short.size:
            k = int(short[0])
            return (
                f"component {k + 1} holds {int(distinct_rows[k])} distinct row(s); its "
                f"covariance model needs {needed_rows}"
            )
    covariances = np.asarray(covariances, dtype=np.float64)
    if not np.all(np.isfinite(covariances)):
        return None
    total = _mixture_covariance(np.asarray(weights, float), np.asarray(means, float), covariances)
    values, vectors = np.linalg.eigh(covariances)
    smallest, direction = values[:, 0], vectors[:, :, 0]
    data_variance = np.einsum("ki,ij,kj->k", direction, total, direction)
    floor = RIDGE_SHARE * reg_covar + NUMERICAL_ZERO * data_variance
    collapsed = (smallest <= floor) & (smallest <= RELATIVE_VARIANCE * data_variance)
    if not np.any(collapsed):
        return None
    k = int(np.flatnonzero(collapsed)[0])
    ratio = smallest[k] / data_variance[k]
    return (
        f"component {k + 1} collapsed: its variance along its flattest direction is at the "
        f"reg_covar floor ({smallest[k]:.3g}, {ratio:.2g} of the data's variance there)"
    )
