"""E-step and inference kernels for rows with missing values (NaN), by marginalisation.

For a row with observed coordinates ``o`` and missing coordinates ``m`` (missing at
random), component ``k`` of the mixture gives

- the marginal density of what was seen, ``N(x_o | mu_o, Sigma_oo)``: it makes the
  responsibilities and the observed-data log-likelihood;
- the conditional distribution of what was not, ``N(xhat_m, C)`` with
  ``xhat_m = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and
  ``C = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``.

The E-step of Ghahramani & Jordan (1994) adds to `Stats` the expected moments of the
completed row: the first moment uses ``xhat`` in place of the missing values, the
second adds ``C`` to the outer product of the completed row. ``C`` enters the
statistics as the scatter of the columns of a square-root factor (``C = B B^T``), so
every `Scatter` (full or diagonal) accumulates exactly what its covariance models need
and all the M-steps work unchanged.

The E-step works in precision form (`masked_conditionals`): one matrix product of the
rows with each component's precision, then, for rows batched by their number of missing
values, the inverse of the small missing-by-missing block of the precision. There is no
Python loop over missingness patterns, and the cost grows with the number of missing
values per row, not with the number of patterns. Diagonal covariances need no
factorisation at all (`diagonal_conditionals`). Complete rows take the ordinary kernel
(`gaussmix.engine.estep.chunk_statistics`). `pattern_conditionals` (one pattern at a
time, with the conditional covariance factors) serves multiple imputation.

Rows with nothing observed carry no information and are skipped by the E-step (they add
nothing to `Stats`, not even weight); inference gives them density 1 (log-density 0) and
the prior weights as responsibilities.

Optional ``labels`` (a component per row, -1 for unknown) fix the responsibilities of
labelled rows to one-hot vectors (semi-supervised EM): their log-likelihood term is
then ``log pi_y + log N(x_o | y)``, the joint density of the row and its label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estep import chunk_statistics, logsumexp_rows, statistics_from_responsibilities
from .params import MixtureParams
from .scatter import Scatter
from .stats import Stats

__all__ = [
    "UNLABELLED",
    "ObservedDataParams",
    "missingness_patterns",
    "PatternConditionals",
    "pattern_conditionals",
    "MaskedConditionals",
    "masked_conditionals",
    "DiagonalConditionals",
    "diagonal_conditionals",
    "observed_weighted_log_prob",
    "incomplete_statistics",
    "conditional_expectation",
    "draw_imputations",
]

_LOG_2PI = float(np.log(2 * np.pi))

#: Label of a row whose component is unknown (scikit-learn's convention).
UNLABELLED = -1


def missingness_patterns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct patterns of observed coordinates and the pattern of each row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN where a value is missing.

    Returns
    -------
    patterns : ndarray of bool, shape (n_patterns, n_features)
        ``patterns[p, j]`` is True where coordinate ``j`` is observed in pattern ``p``.
    pattern_of_row : ndarray of int, shape (n_samples,)
        Index into ``patterns`` of each row.
    """
    observed = ~np.isnan(X)
    n_features = X.shape[1]
    packed = np.packbits(observed, axis=1, bitorder="little")
    padding = (-packed.shape[1]) % 8
    if padding:
        packed = np.pad(packed, ((0, 0), (0, padding)))
    keys = np.ascontiguousarray(packed).view(np.uint64)
    if keys.shape[1] == 1:
        _, first_row, pattern_of_row = np.unique(keys[:, 0], return_index=True, return_inverse=True)
    else:
        _, first_row, pattern_of_row = np.unique(
            keys, axis=0, return_index=True, return_inverse=True
        )
    patterns = observed[first_row][:, :n_features]
    return patterns, pattern_of_row.ravel()


@dataclass(frozen=True)
class PatternConditionals:
    """What every component says about the rows of one missingness pattern.

    Attributes
    ----------
    weighted_log_prob : ndarray of shape (n_rows, n_components)
        ``log pi_k + log N(x_o | mu_ko, Sigma_koo)``.
    completed : ndarray of shape (n_components, n_rows, n_features)
        The rows with each missing value replaced by its conditional expectation under
        component ``k``.
    factors : ndarray of shape (n_components, n_missing, n_features)
        Rows ``b_j`` (zero on observed coordinates) with ``sum_j b_j b_j^T`` equal to the
        conditional covariance of the missing coordinates under component ``k``,
        embedded in a (n_features, n_features) matrix.
    """

    weighted_log_prob: np.ndarray
    completed: np.ndarray
    factors: np.ndarray

    def covariance_roots(self, component: int, weighted_resp: np.ndarray) -> np.ndarray:
        """Rows ``b_j`` with ``sum_j b_j b_j^T = sum_n weighted_resp[n] C_k`` (embedded)."""
        return self.factors[component] * np.sqrt(weighted_resp.sum())


@dataclass(frozen=True)
class MaskedConditionals:
    """What every component says about rows of any missingness patterns, in precision form.

    With the precision ``P = Sigma^-1`` of a component and a row's missing coordinates
    ``m`` (``u = P (x - mu)`` with the missing entries of ``x - mu`` set to 0):

    - ``(x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = (x - mu)^T u - u_m^T P_mm^-1 u_m``,
    - ``log det Sigma_oo = log det Sigma + log det P_mm``,
    - the conditional mean of the missing values is ``mu_m - P_mm^-1 u_m`` and their
      conditional covariance ``P_mm^-1``.

    So each row needs one matrix product with ``P`` (a GEMM over all rows) and the
    inverse of its small ``P_mm`` block. Rows are batched by their *number* of missing
    values (at most d groups, whatever the patterns), so the cost does not depend on how
    many distinct patterns there are, and grows with the number of missing values per
    row rather than with d^3.

    Attributes
    ----------
    weighted_log_prob : ndarray of shape (n_rows, n_components)
    completed : ndarray of shape (n_components, n_rows, n_features)
    conditional_blocks : list of list of (rows, missing, covariances)
        For each component, per group of rows with the same number of missing values:
        the rows, their missing coordinates (n_group, m) and their conditional
        covariances ``P_mm^-1`` (n_group, m, m).
    n_features : int
    """

    weighted_log_prob: np.ndarray
    completed: np.ndarray
    conditional_blocks: list
    n_features: int

    def covariance_roots(self, component: int, weighted_resp: np.ndarray) -> np.ndarray:
        """Rows ``b_j`` with ``sum_j b_j b_j^T = sum_n weighted_resp[n] C_nk`` (embedded)."""
        d = self.n_features
        pooled = np.zeros(d * d)
        for rows, missing, covariances in self.conditional_blocks[component]:
            flat = missing[:, :, np.newaxis] * d + missing[:, np.newaxis, :]
            weighted = weighted_resp[rows][:, np.newaxis, np.newaxis] * covariances
            pooled += np.bincount(flat.ravel(), weights=weighted.ravel(), minlength=d * d)
        pooled = pooled.reshape(d, d)
        return _covariance_root_rows(0.5 * (pooled + pooled.T))


def _inverse_and_log_det(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack of small SPD matrices (n, m, m).

    Closed forms for 1 x 1 and 2 x 2 blocks (the common case when few values are
    missing), where LAPACK's per-matrix overhead would dominate; LAPACK otherwise.
    """
    size = blocks.shape[-1]
    if size == 1:
        return 1.0 / blocks, np.log(blocks[:, 0, 0])
    if size == 2:
        a, b, c = blocks[:, 0, 0], blocks[:, 0, 1], blocks[:, 1, 1]
        determinant = a * c - b * b
        inverse = np.stack([np.stack([c, -b], axis=1), np.stack([-b, a], axis=1)], axis=1)
        return inverse / determinant[:, np.newaxis, np.newaxis], np.log(determinant)
    return np.linalg.inv(blocks), np.linalg.slogdet(blocks)[1]


def masked_conditionals(
    X: np.ndarray,
    params: MixtureParams,
    dense_covariances: np.ndarray | None = None,
    *,
    conditionals: bool = True,
) -> MaskedConditionals:
    """Marginal log-densities and conditional moments of rows with any patterns.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows with NaN where values are missing; each row has at least one value.
    params : MixtureParams
    dense_covariances : ndarray, optional
        Unused (the precision form reads the precision factors); kept so that every
        kernel takes the same arguments.
    conditionals : bool, default=True
        Whether to compute ``completed`` and ``conditional_blocks`` (else None).

    Returns
    -------
    MaskedConditionals
    """
    n_components, n_features = params.means.shape
    X = np.asarray(X, dtype=np.float64)
    missing = np.isnan(X)
    observed = ~missing
    n_missing = missing.sum(axis=1)
    groups = []
    for m in np.unique(n_missing[n_missing > 0]):
        rows = np.flatnonzero(n_missing == m)
        groups.append((rows, np.nonzero(missing[rows])[1].reshape(rows.size, m)))
    factors = params.covariance.dense_precisions_cholesky(n_components, n_features)
    precisions = factors @ np.swapaxes(factors, 1, 2)
    log_det_covariances = -2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    log_weights = _log_weights(params)
    n_observed = observed.sum(axis=1)
    weighted_log_prob = np.empty((X.shape[0], n_components))
    completed = np.empty((n_components, *X.shape)) if conditionals else None
    blocks = [[] for _ in range(n_components)] if conditionals else None
    for k in range(n_components):
        mean = np.asarray(params.means[k], dtype=np.float64)
        differences = np.where(observed, X - mean, 0.0)
        projected = differences @ precisions[k]
        squared_distances = np.einsum("nd,nd->n", differences, projected)
        log_det = np.full(X.shape[0], log_det_covariances[k])
        if conditionals:
            completed[k] = np.where(observed, X, 0.0)
        for rows, miss in groups:
            block = precisions[k][miss[:, :, np.newaxis], miss[:, np.newaxis, :]]
            inverse, block_log_det = _inverse_and_log_det(block)
            projected_missing = np.take_along_axis(projected[rows], miss, axis=1)
            shift = np.matmul(inverse, projected_missing[:, :, np.newaxis])[:, :, 0]
            squared_distances[rows] -= np.einsum("nm,nm->n", projected_missing, shift)
            log_det[rows] += block_log_det
            if conditionals:
                completed[k][rows[:, np.newaxis], miss] = mean[miss] - shift
                blocks[k].append((rows, miss, inverse))
        weighted_log_prob[:, k] = log_weights[k] - 0.5 * (
            n_observed * _LOG_2PI + log_det + squared_distances
        )
    return MaskedConditionals(weighted_log_prob, completed, blocks, n_features)


@dataclass(frozen=True)
class DiagonalConditionals:
    """What every component says about rows of any patterns, for diagonal covariances.

    With ``Sigma_k`` diagonal the coordinates are independent within a component: the
    marginal density is the product over the observed coordinates, a missing value's
    conditional mean is ``mu_kj`` and its conditional variance ``sigma_kj^2``. No
    factorisation is needed, whatever the patterns.

    Attributes
    ----------
    weighted_log_prob : ndarray of shape (n_rows, n_components)
    completed : ndarray of shape (n_components, n_rows, n_features)
    missing : ndarray of bool, shape (n_rows, n_features)
    variances : ndarray of shape (n_components, n_features)
    """

    weighted_log_prob: np.ndarray
    completed: np.ndarray
    missing: np.ndarray
    variances: np.ndarray

    def covariance_roots(self, component: int, weighted_resp: np.ndarray) -> np.ndarray:
        """Rows ``b_j`` with ``sum_j b_j b_j^T = sum_n weighted_resp[n] C_nk`` (diagonal)."""
        pooled = (weighted_resp @ self.missing) * self.variances[component]
        return np.diag(np.sqrt(np.clip(pooled, 0.0, None)))


def diagonal_conditionals(
    X: np.ndarray, params: MixtureParams, variances: np.ndarray, *, conditionals: bool = True
) -> DiagonalConditionals:
    """Marginal log-densities and conditional moments when every covariance is diagonal.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows with NaN where values are missing.
    params : MixtureParams
    variances : ndarray of shape (n_components, n_features)
        The diagonals of the (diagonal) component covariances.
    conditionals : bool, default=True
        Whether to compute ``completed`` (else None).

    Returns
    -------
    DiagonalConditionals
    """
    X = np.asarray(X, dtype=np.float64)
    missing = np.isnan(X)
    observed = (~missing).astype(np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    log_weights = _log_weights(params)
    precisions = 1.0 / variances
    squared = np.empty((X.shape[0], means.shape[0]))
    for k, mean in enumerate(means):
        differences = np.where(missing, 0.0, X - mean)
        squared[:, k] = (differences * differences) @ precisions[k]
    log_terms = observed @ (_LOG_2PI + np.log(variances)).T
    weighted_log_prob = log_weights - 0.5 * (log_terms + squared)
    completed = None
    if conditionals:
        completed = np.where(missing, means[:, np.newaxis, :], X)
    return DiagonalConditionals(weighted_log_prob, completed, missing, variances)


def _diagonal_variances(dense: np.ndarray) -> np.ndarray | None:
    """The variances if every covariance in ``dense`` is diagonal, else None."""
    variances = np.diagonal(dense, axis1=1, axis2=2)
    off_diagonal = dense - variances[:, :, np.newaxis] * np.eye(dense.shape[1])
    return variances.copy() if not off_diagonal.any() else None


#: Bytes of (rows, d, d) temporaries one block of incomplete rows may use.
_MASKED_BLOCK_BYTES = 16 * 2**20


def _row_blocks(X, incomplete, params, dense, *, conditionals=True):
    """``(rows, terms)`` covering the incomplete rows that have an observed value.

    Diagonal covariances need no factorisation (`DiagonalConditionals`); otherwise
    the rows come in bounded blocks of `MaskedConditionals`.
    """
    n_components, n_features = params.means.shape
    rows_with_data = incomplete[~np.isnan(X[incomplete]).all(axis=1)]
    variances = _diagonal_variances(dense)
    if variances is not None:
        block = max(256, _MASKED_BLOCK_BYTES // (8 * (n_components + 2) * n_features))
        for start in range(0, rows_with_data.size, block):
            rows = rows_with_data[start : start + block]
            yield rows, diagonal_conditionals(X[rows], params, variances, conditionals=conditionals)
        return
    block = max(256, _MASKED_BLOCK_BYTES // (8 * (n_components + 3) * n_features))
    for start in range(0, rows_with_data.size, block):
        rows = rows_with_data[start : start + block]
        yield rows, masked_conditionals(X[rows], params, dense, conditionals=conditionals)


def _log_weights(params: MixtureParams) -> np.ndarray:
    """``log pi_k`` (``-inf`` for an empty component, without a warning)."""
    weights = np.asarray(params.weights, dtype=np.float64)
    return np.log(np.where(weights > 0, weights, 1.0)) + np.where(weights > 0, 0.0, -np.inf)


def _covariance_root_rows(covariances: np.ndarray) -> np.ndarray:
    """Rows ``b_j`` with ``sum_j b_j b_j^T == C`` for each symmetric PSD matrix ``C``.

    Parameters
    ----------
    covariances : ndarray of shape (..., m, m)

    Returns
    -------
    roots : ndarray of shape (..., m, m)
        ``roots[..., j, :]`` is ``b_j``.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariances)
    scaled = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[..., np.newaxis, :]
    return np.swapaxes(scaled, -1, -2)


def pattern_conditionals(
    X: np.ndarray,
    observed: np.ndarray,
    params: MixtureParams,
    dense_covariances: np.ndarray | None = None,
    *,
    conditionals: bool = True,
) -> PatternConditionals:
    """Marginal log-densities and conditional moments for rows sharing one pattern.

    All components at once: one batched Cholesky factorisation of the K observed
    blocks ``Sigma_koo`` and batched triangular solves over the pattern's rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows whose observed coordinates are exactly ``observed`` (NaN elsewhere).
    observed : ndarray of bool, shape (n_features,)
        Which coordinates are observed; at least one must be.
    params : MixtureParams
        The mixture.
    dense_covariances : ndarray of shape (n_components, n_features, n_features), optional
        ``params.covariance.dense_covariances(K, d)``, if the caller already has it.
    conditionals : bool, default=True
        Whether to compute ``completed`` and ``factors`` (inference needs only the
        log-densities; those two are then None).

    Returns
    -------
    PatternConditionals
    """
    n_components, n_features = params.means.shape
    if dense_covariances is None:
        dense_covariances = params.covariance.dense_covariances(n_components, n_features)
    obs = np.flatnonzero(observed)
    mis = np.flatnonzero(~observed)
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(params.means, dtype=np.float64)
    block_oo = dense_covariances[:, obs][:, :, obs]
    lower = np.linalg.cholesky(block_oo)
    # Plain LU solves: on tiny triangular systems they are far cheaper than a
    # dedicated triangular solver's call overhead, and exact for triangular matrices.
    differences = X[np.newaxis, :, obs] - means[:, np.newaxis, obs]
    whitened = np.linalg.solve(lower, np.swapaxes(differences, 1, 2))
    log_det = 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    squared_distances = np.einsum("kon,kon->kn", whitened, whitened)
    weighted_log_prob = (
        _log_weights(params)[:, np.newaxis]
        - 0.5 * (obs.size * _LOG_2PI + log_det[:, np.newaxis] + squared_distances)
    ).T
    if not conditionals:
        return PatternConditionals(weighted_log_prob, None, None)
    # G = L^-1 Sigma_om, so Sigma_mo Sigma_oo^-1 (x_o - mu_o) = G^T whitened.
    gain = np.linalg.solve(lower, dense_covariances[:, obs][:, :, mis])
    completed = np.broadcast_to(X, (n_components, *X.shape)).copy()
    completed[:, :, mis] = means[:, np.newaxis, mis] + np.swapaxes(whitened, 1, 2) @ gain
    conditional_covariances = dense_covariances[:, mis][:, :, mis] - np.swapaxes(gain, 1, 2) @ gain
    factors = np.zeros((n_components, mis.size, n_features))
    factors[:, :, mis] = _covariance_root_rows(conditional_covariances)
    return PatternConditionals(weighted_log_prob, completed, factors)


def observed_weighted_log_prob(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log pi_k + log N(x_o | mu_ko, Sigma_koo)`` for rows that may hold NaN.

    Complete rows get the ordinary ``params.weighted_log_prob``; a row with nothing
    observed gets ``log pi_k`` (the empty marginal has density 1).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : MixtureParams

    Returns
    -------
    weighted_log_prob : ndarray of shape (n_samples, n_components), X's dtype
    """
    missing = np.isnan(X)
    if not missing.any():
        return MixtureParams.weighted_log_prob(params, X)
    result = np.empty((X.shape[0], params.n_components))
    complete = ~missing.any(axis=1)
    if complete.any():
        result[complete] = MixtureParams.weighted_log_prob(params, X[complete])
    result[missing.all(axis=1)] = _log_weights(params)
    incomplete = np.flatnonzero(~complete)
    dense = params.covariance.dense_covariances(*params.means.shape)
    for rows, terms in _row_blocks(X, incomplete, params, dense, conditionals=False):
        result[rows] = terms.weighted_log_prob
    return result.astype(X.dtype, copy=False)


@dataclass(frozen=True, eq=False)
class ObservedDataParams(MixtureParams):
    """`MixtureParams` whose densities marginalise NaN coordinates out.

    Anything that reads densities through ``weighted_log_prob`` (``score_samples``,
    ``predict_proba``, ``predict``, `gaussmix.engine.estep.log_responsibilities`) then
    uses the exact marginal density of each row's observed coordinates.
    """

    @classmethod
    def of(cls, params: MixtureParams) -> ObservedDataParams:
        """The same mixture, read with missing values marginalised out."""
        return cls(params.weights, params.means, params.covariance)

    def weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log pi_k + log N(x_o | mu_ko, Sigma_koo)``, shape (n_samples, n_components)."""
        return observed_weighted_log_prob(X, self)


def _responsibilities(weighted_log_prob: np.ndarray, labels: np.ndarray | None):
    """Responsibilities and per-row log-likelihood terms, labelled rows one-hot."""
    log_density = logsumexp_rows(weighted_log_prob)
    resp = np.exp(weighted_log_prob - log_density[:, np.newaxis])
    if labels is not None:
        labelled = np.flatnonzero(labels != UNLABELLED)
        resp[labelled] = 0.0
        resp[labelled, labels[labelled]] = 1.0
        log_density[labelled] = weighted_log_prob[labelled, labels[labelled]]
    return resp, log_density


def _complete_rows_statistics(X, w, params, scatter, labels) -> Stats:
    """Statistics of complete rows by the ordinary kernels."""
    if labels is None or not np.any(labels != UNLABELLED):
        return chunk_statistics(X, w, params, scatter)
    weighted = params.weighted_log_prob(X).astype(np.float64)
    resp, log_density = _responsibilities(weighted, labels)
    return statistics_from_responsibilities(
        X,
        w,
        resp,
        np.asarray(params.means, dtype=np.float64),
        scatter,
        log_likelihood=float(w.astype(np.float64) @ log_density),
    )


def _empty_statistics(params: MixtureParams, scatter: Scatter) -> Stats:
    n_components, n_features = params.means.shape
    return Stats(
        counts=np.zeros(n_components),
        first=np.zeros((n_components, n_features)),
        second=scatter.zeros(n_components, n_features),
        shift=np.asarray(params.means, dtype=np.float64),
        log_likelihood=0.0,
        total_weight=0.0,
    )


def incomplete_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray,
    params: MixtureParams,
    scatter: Scatter,
    labels: np.ndarray | None = None,
) -> Stats:
    """E-step on one chunk whose rows may hold NaN: expected sufficient statistics.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows, NaN where a value is missing (at random).
    sample_weight : ndarray of shape (n_samples,)
    params : MixtureParams
        Parameters of the E-step; their means are the shift of the result.
    scatter : Scatter
        Which second moments to accumulate.
    labels : ndarray of int, shape (n_samples,), optional
        Component of each row, `UNLABELLED` (-1) where unknown: labelled rows keep
        one-hot responsibilities.

    Returns
    -------
    Stats
        ``log_likelihood`` is the observed-data log-likelihood (plus the log-probability
        of the labels of labelled rows); rows with nothing observed are left out.
    """
    sample_weight = np.asarray(sample_weight)
    missing = np.isnan(X)
    incomplete_mask = missing.any(axis=1)
    stats = _empty_statistics(params, scatter)
    if not incomplete_mask.all():
        complete = ~incomplete_mask
        stats = stats + _complete_rows_statistics(
            X[complete],
            sample_weight[complete],
            params,
            scatter,
            None if labels is None else labels[complete],
        )
    if not incomplete_mask.any():
        return stats
    incomplete = np.flatnonzero(incomplete_mask)
    dense = params.covariance.dense_covariances(*params.means.shape)
    means = np.asarray(params.means, dtype=np.float64)
    blocks = list(_row_blocks(X, incomplete, params, dense))
    if not blocks:
        return stats
    # All incomplete rows together: one normalisation and, per component, one
    # accumulation of the completed rows and one of the conditional covariances.
    rows = np.concatenate([block_rows for block_rows, _ in blocks])
    weights = sample_weight[rows].astype(np.float64)
    resp, log_density = _responsibilities(
        np.concatenate([terms.weighted_log_prob for _, terms in blocks]),
        None if labels is None else labels[rows],
    )
    weighted_resp = resp * weights[:, np.newaxis]
    completed = np.concatenate([terms.completed for _, terms in blocks], axis=1)
    bounds = np.cumsum([0] + [len(block_rows) for block_rows, _ in blocks])
    first = np.empty_like(means)
    second = scatter.zeros(*means.shape)
    for k in range(params.n_components):
        differences = completed[k] - means[k]
        first[k] = weighted_resp[:, k] @ differences
        roots = np.concatenate(
            [
                terms.covariance_roots(k, weighted_resp[start:stop, k])
                for (_, terms), start, stop in zip(blocks, bounds[:-1], bounds[1:], strict=True)
            ]
        )
        second[k] = scatter.accumulate(differences, weighted_resp[:, k]) + scatter.accumulate(
            roots, np.ones(roots.shape[0])
        )
    return stats + Stats(
        weighted_resp.sum(axis=0),
        first,
        second,
        stats.shift,
        float(weights @ log_density),
        float(weights.sum()),
    )


def _pattern_groups(X: np.ndarray):
    """``(rows, observed)`` for each pattern of the incomplete rows that has data."""
    incomplete = np.flatnonzero(np.isnan(X).any(axis=1))
    if incomplete.size == 0:
        return
    patterns, pattern_of_row = missingness_patterns(X[incomplete])
    for index, observed in enumerate(patterns):
        yield incomplete[pattern_of_row == index], observed


def conditional_expectation(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``E[x_m | x_o]`` under the mixture, filled into a copy of ``X``.

    Each missing value becomes ``sum_k p(k | x_o) xhat_km``. Rows with nothing observed
    get the mixture mean.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : MixtureParams

    Returns
    -------
    X_imputed : ndarray of shape (n_samples, n_features), float64, no NaN
    """
    imputed = np.array(X, dtype=np.float64)
    missing = np.isnan(imputed)
    incomplete = np.flatnonzero(missing.any(axis=1))
    imputed[missing.all(axis=1)] = params.weights @ params.means
    dense = params.covariance.dense_covariances(*params.means.shape)
    for rows, terms in _row_blocks(imputed, incomplete, params, dense):
        resp, _ = _responsibilities(terms.weighted_log_prob, None)
        expected = np.einsum("nk,knd->nd", resp, terms.completed)
        imputed[rows] = np.where(missing[rows], expected, imputed[rows])
    return imputed


def draw_imputations(
    X: np.ndarray,
    params: MixtureParams,
    n_imputations: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Multiple imputations: missing values drawn from their conditional mixture.

    For each imputation and row, a component is drawn from ``p(k | x_o)`` and the
    missing values from ``N(xhat_km, C_k)``; observed values are kept.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    params : MixtureParams
    n_imputations : int
    random_state : numpy.random.RandomState

    Returns
    -------
    X_imputed : ndarray of shape (n_imputations, n_samples, n_features), float64
    """
    X = np.asarray(X, dtype=np.float64)
    imputed = np.repeat(X[np.newaxis], n_imputations, axis=0)
    dense = params.covariance.dense_covariances(*params.means.shape)
    for rows, observed in _pattern_groups(X):
        if observed.any():
            terms = pattern_conditionals(X[rows], observed, params, dense)
            resp, _ = _responsibilities(terms.weighted_log_prob, None)
            completed, factors = terms.completed, terms.factors
        else:
            resp = np.broadcast_to(params.weights, (rows.size, params.n_components))
            completed = np.broadcast_to(
                params.means[:, np.newaxis, :], (params.n_components, rows.size, X.shape[1])
            )
            factors = _covariance_root_rows(dense)
        cumulative = np.cumsum(resp, axis=1)
        cumulative /= cumulative[:, -1:]
        n_missing = factors.shape[1]
        for m in range(n_imputations):
            uniforms = random_state.uniform(size=(rows.size, 1))
            components = np.minimum((uniforms > cumulative).sum(axis=1), params.n_components - 1)
            noise = random_state.standard_normal((rows.size, n_missing))
            draws = completed[components, np.arange(rows.size)] + np.einsum(
                "nj,njd->nd", noise, factors[components]
            )
            imputed[m, rows[:, np.newaxis], np.flatnonzero(~observed)] = draws[:, ~observed]
    return imputed
