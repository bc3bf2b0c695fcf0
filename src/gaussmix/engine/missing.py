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

Rows are grouped by missingness pattern: per component, one batched inverse of the
(masked) covariances of all the patterns in a chunk, then row-wise products; no Python
loop over patterns (`masked_conditionals`). Diagonal covariances need no factorisation
at all (`diagonal_conditionals`). Complete rows take the ordinary kernel
(`gaussmix.engine.estep.chunk_statistics`). `pattern_conditionals` (one pattern at a
time) serves imputation. Rows with nothing observed
carry no information and are skipped by the E-step (they add nothing to `Stats`, not
even weight); inference gives them density 1 (log-density 0) and the prior weights as
responsibilities.

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
    """What every component says about rows of many patterns, all patterns at once.

    Each pattern's covariance is *masked*: the missing rows and columns of ``Sigma_k``
    are replaced by those of the identity, which keeps ``Sigma_koo`` and makes the
    matrix block diagonal. Its inverse holds ``Sigma_koo^-1`` (plus an identity block),
    its log-determinant is that of ``Sigma_koo``, and ``Sigma_k M^-1 (x - mu_k)``, with
    the missing entries of ``x - mu_k`` set to 0, is the conditional shift of every
    coordinate. One batched inverse over all patterns per component, then row-wise
    products: no loop over patterns.

    Attributes
    ----------
    weighted_log_prob : ndarray of shape (n_rows, n_components)
    completed : ndarray of shape (n_components, n_rows, n_features)
    observed_precisions : ndarray of shape (n_components, n_patterns, n_features, n_features)
        ``Q_pk``: ``Sigma_koo^-1`` of pattern ``p`` embedded with zeros; the conditional
        covariance of a row of pattern ``p`` under component ``k`` is
        ``Sigma_k - Sigma_k Q_pk Sigma_k``.
    pattern_of_row : ndarray of int, shape (n_rows,)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """

    weighted_log_prob: np.ndarray
    completed: np.ndarray
    observed_precisions: np.ndarray
    pattern_of_row: np.ndarray
    covariances: np.ndarray

    def covariance_roots(self, component: int, weighted_resp: np.ndarray) -> np.ndarray:
        """Rows ``b_j`` with ``sum_j b_j b_j^T = sum_n weighted_resp[n] C_nk``."""
        precisions = self.observed_precisions[component]
        pattern_weight = np.bincount(
            self.pattern_of_row, weights=weighted_resp, minlength=precisions.shape[0]
        )
        covariance = self.covariances[component]
        pooled = np.einsum("p,pij->ij", pattern_weight, precisions)
        total = covariance * weighted_resp.sum() - covariance @ pooled @ covariance
        return _covariance_root_rows(0.5 * (total + total.T))


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
    dense_covariances : ndarray of shape (n_components, n_features, n_features), optional
    conditionals : bool, default=True
        Whether to compute ``completed`` and ``observed_precisions`` (else None).

    Returns
    -------
    MaskedConditionals
    """
    n_components, n_features = params.means.shape
    if dense_covariances is None:
        dense_covariances = params.covariance.dense_covariances(n_components, n_features)
    X = np.asarray(X, dtype=np.float64)
    patterns, pattern_of_row = missingness_patterns(X)
    observed = patterns[pattern_of_row]
    both = patterns[:, :, np.newaxis] & patterns[:, np.newaxis, :]
    identity_block = np.eye(n_features, dtype=bool) & ~patterns[:, :, np.newaxis]
    n_observed = observed.sum(axis=1)
    log_weights = _log_weights(params)
    weighted_log_prob = np.empty((X.shape[0], n_components))
    completed = np.empty((n_components, *X.shape)) if conditionals else None
    precisions = (
        np.empty((n_components, len(patterns), n_features, n_features)) if conditionals else None
    )
    for k in range(n_components):
        mean = params.means[k]
        masked = np.where(both, dense_covariances[k], 0.0) + identity_block
        inverse = np.linalg.inv(masked)
        log_det = np.linalg.slogdet(masked)[1]
        differences = np.where(observed, X - mean, 0.0)
        solved = np.einsum("nij,nj->ni", inverse[pattern_of_row], differences)
        squared_distances = np.einsum("ni,ni->n", differences, solved)
        weighted_log_prob[:, k] = log_weights[k] - 0.5 * (
            n_observed * _LOG_2PI + log_det[pattern_of_row] + squared_distances
        )
        if conditionals:
            completed[k] = np.where(observed, X, mean + solved @ dense_covariances[k])
            precisions[k] = np.where(both, inverse, 0.0)
    return MaskedConditionals(
        weighted_log_prob, completed, precisions, pattern_of_row, dense_covariances
    )


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
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
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
    block = max(64, _MASKED_BLOCK_BYTES // (8 * 3 * n_features**2))
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
    with np.errstate(divide="ignore"):
        result[missing.all(axis=1)] = np.log(params.weights)
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
    dense = params.covariance.dense_covariances(*params.means.shape)
    for rows, observed in _pattern_groups(imputed):
        if not observed.any():
            imputed[rows] = params.weights @ params.means
            continue
        terms = pattern_conditionals(imputed[rows], observed, params, dense)
        resp, _ = _responsibilities(terms.weighted_log_prob, None)
        missing = np.flatnonzero(~observed)
        imputed[rows[:, np.newaxis], missing] = np.einsum(
            "nk,knd->nd", resp, terms.completed[:, :, missing]
        )
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
