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
second adds ``C`` to the outer product of the completed row. ``C``, summed over rows
with their weighted responsibilities, enters the statistics as the scatter of the
columns of a square-root factor (``C = B B^T``), or as its diagonal where only
diagonals are accumulated, so every `Scatter` (full or diagonal) gets exactly what its
covariance models need and all the M-steps work unchanged.

The rows of a chunk are evaluated in blocks of at most
`gaussmix.engine.data.chunks.default_chunk_rows` rows, by one of two kernels:

- diagonal covariances (`_diagonal_terms`, every row of the chunk): the coordinates are
  independent, so a missing value just drops its terms. With the rows centred at a
  reference point, missing entries set to 0, and a 0/1 mask of the observed values,
  the columns ``[o (x - r)^2; o (x - r); o; 1]`` give the log-densities of all
  components by one matrix product and the expected statistics by another, as the
  complete-data kernel's expansion does;
- general covariances, in precision form (`_precision_terms`): complete rows take the
  ordinary kernel (`gaussmix.engine.core.estep.chunk_statistics`). The incomplete rows of a
  block are sorted by missingness pattern and the patterns grouped by their number of
  missing values ``m`` (`_pattern_groups`). One batched matrix product of the rows
  with every component's precision; then, per *pattern* and component, the inverse
  and log-determinant of the m x m missing block of the precision, for all patterns
  of a group at once (`_spd_inverse_and_log_det`). A pattern with many rows
  (`_LARGE_PATTERN_ROWS`) applies its inverse to its rows by one stacked product; the
  rows of rarer patterns are batched, each row with its pattern's inverse. A
  pattern's conditional covariance enters the statistics once, weighted by the summed
  responsibilities of its rows.

Beyond the matrix products complete data needs (one with each precision, one for the
scatter), the general kernel costs ``O(m^2)`` per row and ``O(m^3)`` per distinct
pattern and component, in NumPy operations over whole groups: it grows with the number
of distinct patterns, which data with many missing values in many features has by the
thousand.

`pattern_conditionals` (one pattern at a time, with the conditional covariance
factors) serves multiple imputation.

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

from ..core.estep import (
    chunk_statistics,
    logsumexp_rows,
    normalise_columns,
    reference_point,
    statistics_from_responsibilities,
)
from ..core.params import MixtureParams
from ..core.stats import Stats
from ..covariance.precision import amplification_limit
from ..covariance.scatter import DIAGONAL_SCATTER, Scatter
from ..data.chunks import default_chunk_rows
from .patterns import _count_missing, _pattern_groups

__all__ = [
    "UNLABELLED",
    "ObservedDataParams",
    "observed_weighted_log_prob",
    "incomplete_statistics",
]

_LOG_2PI = float(np.log(2 * np.pi))

#: Largest missing block multiplied by explicit loops (larger ones by one einsum).
_LOOPED_SIZE = 4

#: A stack of fewer than this many matrices per unit of their size ``m`` is inverted by
#: LAPACK, one call per matrix (cheaper than the m vectorised steps' fixed cost).
_VECTORISED_STACK = 16

#: Label of a row whose component is unknown (scikit-learn's convention).
UNLABELLED = -1


def _spd_inverse_and_log_det(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack of small SPD matrices, shape (m, m, ...).

    The matrices are ``blocks[:, :, i...]``: the stack runs along the trailing axes, so
    every step below works on contiguous stretches of it. Closed forms for 1 x 1 and
    2 x 2; otherwise Gauss-Jordan elimination vectorised over the stack (m steps of a few
    array operations). No pivoting is needed: the pivots of a symmetric positive
    definite matrix are its leading Schur complements, all positive, and their logs sum
    to the log-determinant. For thousands of tiny matrices this is several times
    cheaper than one LAPACK call per matrix; short stacks (`_VECTORISED_STACK`) do take
    LAPACK.
    """
    size = blocks.shape[0]
    if size == 1:
        return 1.0 / blocks, np.log(blocks[0, 0])
    if blocks[0, 0].size < _VECTORISED_STACK * size:
        # Few matrices: LAPACK's per-matrix cost is below the m steps' call overhead.
        matrices = np.moveaxis(blocks, (0, 1), (-2, -1))
        inverse = np.moveaxis(np.linalg.inv(matrices), (-2, -1), (0, 1))
        return inverse, np.linalg.slogdet(matrices)[1]
    if size == 2:
        a, b, c = blocks[0, 0], blocks[0, 1], blocks[1, 1]
        determinant = a * c - b * b
        inverse = np.empty_like(blocks)
        np.divide(c, determinant, out=inverse[0, 0])
        np.divide(a, determinant, out=inverse[1, 1])
        np.divide(-b, determinant, out=inverse[0, 1])
        inverse[1, 0] = inverse[0, 1]
        return inverse, np.log(determinant)
    work = np.array(blocks, dtype=np.float64, order="C")
    log_det = np.zeros(blocks.shape[2:])
    update = np.empty_like(work)
    for j in range(size):
        pivot = work[j, j].copy()
        log_det += np.log(pivot)
        work[j, j] = 1.0
        work[j] /= pivot
        factors = work[:, j].copy()
        factors[j] = 0.0
        work[:j, j] = 0.0
        work[j + 1 :, j] = 0.0
        np.multiply(factors[:, np.newaxis], work[j], out=update)
        work -= update
    return work, log_det


@dataclass(frozen=True)
class _PrecisionTerms:
    """What every component says about a block of rows sorted by pattern (general case).

    Attributes
    ----------
    log_prob : ndarray of shape (n_components, n_rows)
        ``log pi_k + log N(x_o | mu_ko, Sigma_koo)``.
    differences : ndarray of shape (n_components, n_features, n_rows)
        Completed row minus mean, ``xhat - mu_k``, as columns (the missing coordinates
        hold the conditional expectation); None if conditionals were not asked for.
    means : ndarray of shape (n_components, n_features)
    groups : list of _PatternGroup
    inverses : list of ndarray
        Per group, the conditional covariances ``P_mm^-1`` of its patterns, shape
        (m, m, n_components, n_patterns).
    """

    log_prob: np.ndarray
    differences: np.ndarray | None
    means: np.ndarray
    groups: list
    inverses: list

    def moments(self, weighted_resp: np.ndarray, scatter: Scatter):
        """First and second moments about the means, from ``w r`` of shape (K, n)."""
        differences = self._conditional_differences()
        n_components, n_features, _ = differences.shape
        first = np.matmul(differences, weighted_resp[:, :, np.newaxis])[:, :, 0]
        roots = _covariance_root_rows(self._pooled_conditional_covariances(weighted_resp))
        ones = np.ones(n_features)
        second = scatter.zeros(n_components, n_features)
        for k in range(n_components):
            second[k] = scatter.accumulate(differences[k].T, weighted_resp[k])
            second[k] += scatter.accumulate(roots[k], ones)
        return first, second

    def _pooled_conditional_covariances(self, weighted_resp: np.ndarray) -> np.ndarray:
        """``sum_n w r_nk C_nk`` (embedded in d x d): one term per pattern and component."""
        n_components, n_features, _ = self._conditional_differences().shape
        size = n_features * n_features
        pooled = np.zeros(n_components * size)
        component_offsets = (np.arange(n_components) * size)[:, np.newaxis]
        for group, inverse in zip(self.groups, self.inverses, strict=True):
            pattern_weights = np.add.reduceat(
                weighted_resp[:, group.rows], group.pattern_starts[:-1], axis=1
            )
            # The upper triangle of each (symmetric) block, its diagonal halved: the
            # missing coordinates increase, so it lands in the upper triangle of d x d.
            rows, columns = np.triu_indices(inverse.shape[0])
            halves = np.where(rows == columns, 0.5, 1.0)[:, np.newaxis, np.newaxis]
            missing = group.missing
            flat = (missing[rows] * n_features + missing[columns])[:, np.newaxis]
            pooled += np.bincount(
                (flat + component_offsets).ravel(),
                weights=(inverse[rows, columns] * pattern_weights * halves).ravel(),
                minlength=n_components * size,
            )
        pooled = pooled.reshape(n_components, n_features, n_features)
        return pooled + np.swapaxes(pooled, 1, 2)

    def expectation(self, resp: np.ndarray) -> np.ndarray:
        """``sum_k r_nk xhat_nk`` for responsibilities of shape (K, n): shape (n, d)."""
        return np.einsum("kn,kdn->nd", resp, self._conditional_differences()) + resp.T @ self.means

    def _conditional_differences(self) -> np.ndarray:
        """`differences`, which these terms hold when conditionals were asked for."""
        assert self.differences is not None, "terms computed without conditionals"
        return self.differences


def _observed_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X.T`` as float64 columns (d, n) with 0 where a value is missing, and the 0/1
    mask of the observed values.

    ``fmax`` with the most negative float turns NaN into a finite number (and leaves
    every finite value alone); the product with the mask then zeroes it.
    """
    columns = np.empty(X.shape[::-1])
    observed = np.empty_like(columns)
    np.fmax(X.T, -np.finfo(np.float64).max, out=columns)
    np.equal(X.T, X.T, out=observed, casting="unsafe")  # False only for NaN
    columns *= observed
    return columns, observed


def _multiply_blocks(blocks: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each small matrix times its vector: ``(m, m, K, n) x (K, m, n) -> (K, m, n)``.

    For ``m`` up to `_LOOPED_SIZE`, ``m^2`` multiply-adds over contiguous (K, n) slabs,
    several times faster than ``einsum``; beyond, one ``einsum`` (fewer calls).
    """
    size = blocks.shape[0]
    if size > _LOOPED_SIZE:
        return np.einsum("ijkn,kjn->kin", blocks, vectors)
    result = np.empty_like(vectors)
    term = np.empty(vectors.shape[::2])
    for i in range(size):
        np.multiply(blocks[i, 0], vectors[:, 0], out=result[:, i])
        for j in range(1, size):
            np.multiply(blocks[i, j], vectors[:, j], out=term)
            result[:, i] += term
    return result


def _column_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_i a[k, i, n] * b[k, i, n]``, shape (K, n), by a short loop over ``i``."""
    result = a[:, 0] * b[:, 0]
    for i in range(1, a.shape[1]):
        result += a[:, i] * b[:, i]
    return result


def _precision_terms(
    X: np.ndarray,
    groups: list,
    params: MixtureParams,
    conditionals: bool,
) -> _PrecisionTerms:
    """Marginal log-densities and conditional moments of rows sorted by pattern.

    With the precision ``P = Sigma^-1`` of a component and ``u = P (x - mu)`` (the
    missing entries of ``x - mu`` set to 0), for a row with missing coordinates ``m``:

    - ``(x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = (x - mu)^T u - u_m^T P_mm^-1 u_m``,
    - ``log det Sigma_oo = log det Sigma + log det P_mm``,
    - the conditional mean of the missing values is ``mu_m - P_mm^-1 u_m`` and their
      conditional covariance ``P_mm^-1``.

    ``P_mm^-1`` depends on the pattern only: it is computed once per pattern and
    component, for all patterns with the same number of missing values at once.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows sorted as ``groups`` says, NaN where missing.
    groups : list of _PatternGroup
        From `_pattern_groups`; they cover all rows.
    params : MixtureParams
    conditionals : bool
        Whether to complete the rows (``differences``) and keep the inverses.

    Returns
    -------
    _PrecisionTerms
    """
    n_rows = X.shape[0]
    n_components, n_features = params.means.shape
    means = np.asarray(params.means, dtype=np.float64)
    factors = params.covariance.dense_precisions_cholesky(n_components, n_features)
    factors = np.asarray(factors, dtype=np.float64)
    precisions = factors @ np.swapaxes(factors, 1, 2)
    log_det_covariances = -2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    columns, observed = _observed_columns(X)
    # Columns x - mu_k, 0 where missing, for every component: (K, d, n).
    differences = observed * means[:, :, np.newaxis]
    np.subtract(columns, differences, out=differences)
    projected = np.matmul(precisions, differences)
    squared = np.einsum("kdn,kdn->kn", differences, projected)
    log_det = np.empty_like(squared)
    flat_precisions = precisions.reshape(n_components, -1)
    inverses = []
    for group in groups:
        # (m, m, K, n_patterns): the P_mm blocks of every component and pattern.
        pairs = group.missing[:, np.newaxis] * n_features + group.missing
        blocks = flat_precisions[:, pairs].transpose(1, 2, 0, 3)
        inverse, block_log_det = _spd_inverse_and_log_det(blocks)
        n_observed = n_features - group.missing.shape[0]
        block_log_det += (log_det_covariances + n_observed * _LOG_2PI)[:, np.newaxis]
        for pattern in range(group.n_large):
            rows = group.pattern_rows(pattern)
            missing_columns = group.missing[:, pattern]
            projected_missing = projected[:, missing_columns, rows]
            shift = np.matmul(inverse[:, :, :, pattern].transpose(2, 0, 1), projected_missing)
            squared[:, rows] -= _column_dots(projected_missing, shift)
            log_det[:, rows] = block_log_det[:, pattern, np.newaxis]
            if conditionals:
                differences[:, missing_columns, rows] = -shift
        rows = group.batched_rows
        if rows.start < rows.stop:
            # Flat positions (in each component's d x n columns) of the rows' missing values.
            flat = group.missing[:, group.pattern_of_row] * n_rows + np.arange(
                rows.start, rows.stop
            )
            projected_missing = projected.reshape(n_components, -1)[:, flat]
            # Each batched pattern's inverse, once per row (a view when every such
            # pattern has a single row, as most do when there are many patterns).
            of_row = group.pattern_of_row
            if of_row.size == inverse.shape[-1] - group.n_large:
                of_row = slice(group.n_large, None)
            shift = _multiply_blocks(inverse[..., of_row], projected_missing)
            squared[:, rows] -= _column_dots(projected_missing, shift)
            log_det[:, rows] = block_log_det[:, of_row]
            if conditionals:
                differences.reshape(n_components, -1)[:, flat] = -shift
        if conditionals:
            inverses.append(inverse)
    log_prob = np.add(log_det, squared, out=log_det)
    log_prob *= -0.5
    log_prob += _log_weights(params)[:, np.newaxis]
    return _PrecisionTerms(log_prob, differences if conditionals else None, means, groups, inverses)


def _precision_blocks(X, missing, n_missing, rows, params, *, conditionals=True):
    """``(rows, terms)`` of `_precision_terms` over bounded blocks of ``rows``.

    ``rows`` are incomplete rows with an observed value; each block's rows are sorted by
    pattern, and the yielded ``rows`` are in that order.
    """
    n_components, n_features = params.means.shape
    block_rows = default_chunk_rows(n_features, n_components)
    for start in range(0, rows.size, block_rows):
        block = rows[start : start + block_rows]
        order, groups = _pattern_groups(missing[block], n_missing[block])
        block = block[order]
        yield block, _precision_terms(X[block], groups, params, conditionals)


@dataclass(frozen=True)
class _DiagonalTerms:
    """What every component says about a block of rows, for diagonal covariances.

    Within a component the coordinates are independent: the marginal density is the
    product over the observed coordinates, a missing value's conditional mean is
    ``mu_kj`` and its conditional variance ``sigma_kj^2``. With the rows centred at a
    reference point ``r`` (missing entries 0) and a 0/1 mask ``o`` of observed values,
    the columns ``features = [o (x - r)^2; o (x - r); o]`` serve both the log-densities
    (one product with per-component coefficients) and the statistics (one product with
    the weighted responsibilities), as the complete-data kernels expand squares about
    ``r``; a last row of ones adds ``log pi_k`` (and gives the counts). A row with
    nothing observed gets ``log pi_k``.

    Attributes
    ----------
    log_prob : ndarray of shape (n_components, n_rows)
    features : ndarray of shape (3 * n_features + 1, n_rows)
    offsets : ndarray of shape (n_components, n_features)
        Means minus the reference point.
    variances : ndarray of shape (n_components, n_features)
    means : ndarray of shape (n_components, n_features)
    """

    log_prob: np.ndarray
    features: np.ndarray
    offsets: np.ndarray
    variances: np.ndarray
    means: np.ndarray

    def _parts(self):
        """``o (x - r)^2``, ``o (x - r)`` and ``o``, each of shape (d, n)."""
        n_features = self.offsets.shape[1]
        return (
            self.features[:n_features],
            self.features[n_features : 2 * n_features],
            self.features[2 * n_features : 3 * n_features],
        )

    @property
    def informative(self) -> np.ndarray:
        """Whether each row has an observed value."""
        return np.maximum.reduce(self._parts()[2], axis=0) > 0

    def moments(self, weighted_resp: np.ndarray, scatter: Scatter):
        """First and second moments about the means, from ``w r`` of shape (K, n)."""
        if scatter.name != DIAGONAL_SCATTER.name:
            return self._moments_by_component(weighted_resp, scatter)
        n_features = self.offsets.shape[1]
        offsets = self.offsets
        sums = weighted_resp @ self.features.T
        squares = sums[:, :n_features]
        linear = sums[:, n_features : 2 * n_features]
        observed_counts = sums[:, 2 * n_features : 3 * n_features]
        counts = sums[:, -1]
        first = linear - observed_counts * offsets
        observed_second = squares - offsets * (2.0 * linear - observed_counts * offsets)
        # The expansion about r subtracts terms of size N (mu - r)^2: components where
        # that amplifies rounding too much are summed exactly (as the complete kernels do).
        shifted = observed_counts * offsets**2
        limit = amplification_limit(np.float64)
        _, centred, observed = self._parts()
        for k in np.flatnonzero((shifted > limit * np.maximum(observed_second, 0.0)).any(axis=1)):
            exact = centred - observed * offsets[k][:, np.newaxis]
            observed_second[k] = (exact * exact) @ weighted_resp[k]
        second = observed_second + self.variances * (counts[:, np.newaxis] - observed_counts)
        return first, second

    def _moments_by_component(self, weighted_resp: np.ndarray, scatter: Scatter):
        """Moments for a scatter that needs more than the diagonal (one pass per component)."""
        n_components, n_features = self.offsets.shape
        _, centred, observed = self._parts()
        missing_weight = weighted_resp @ (1.0 - observed.T)
        first = np.empty((n_components, n_features))
        second = scatter.zeros(n_components, n_features)
        for k in range(n_components):
            differences = centred - observed * self.offsets[k][:, np.newaxis]
            first[k] = differences @ weighted_resp[k]
            variance_roots = np.diag(np.sqrt(missing_weight[k] * self.variances[k]))
            second[k] = scatter.accumulate(differences.T, weighted_resp[k])
            second[k] += scatter.accumulate(variance_roots, np.ones(n_features))
        return first, second

    def expectation(self, resp: np.ndarray) -> np.ndarray:
        """``sum_k r_nk xhat_nk`` on the missing coordinates (elsewhere unspecified).

        ``resp`` has shape (K, n); the result (n, d).
        """
        return resp.T @ self.means


def _diagonal_terms(X: np.ndarray, params: MixtureParams, variances: np.ndarray) -> _DiagonalTerms:
    """Marginal log-densities of rows with any patterns when every covariance is diagonal.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Rows with NaN where values are missing (complete and empty rows allowed).
    params : MixtureParams
    variances : ndarray of shape (n_components, n_features)
        The diagonals of the component covariances.

    Returns
    -------
    _DiagonalTerms
    """
    n_features = X.shape[1]
    means = np.asarray(params.means, dtype=np.float64)
    reference = reference_point(means)
    offsets = means - reference
    features = np.empty((3 * n_features + 1, X.shape[0]))
    squares = features[:n_features]
    centred = features[n_features : 2 * n_features]
    observed = features[2 * n_features : 3 * n_features]
    features[-1] = 1.0
    np.subtract(X.T, reference[:, np.newaxis], out=centred)
    np.logical_not(np.isnan(centred), out=observed, casting="unsafe")
    np.fmax(centred, -np.finfo(np.float64).max, out=centred)  # NaN -> finite, then 0:
    centred *= observed
    np.multiply(centred, centred, out=squares)
    precisions = 1.0 / variances
    log_terms = _LOG_2PI + np.log(variances)
    log_weights = _log_weights(params)
    coefficients = np.concatenate(
        [
            -0.5 * precisions,
            precisions * offsets,
            -0.5 * (precisions * offsets**2 + log_terms),
            log_weights[:, np.newaxis],
        ],
        axis=1,
    )
    log_prob = coefficients @ features
    # Components far from r (relative to their widths) lose digits in the expansion:
    # evaluate them exactly, as the complete-data kernel does.
    far = (precisions * offsets**2).sum(axis=1) > amplification_limit(np.float64)
    for k in np.flatnonzero(far):
        exact = centred - observed * offsets[k][:, np.newaxis]
        log_prob[k] = log_weights[k] - 0.5 * (
            precisions[k] @ (exact * exact) + log_terms[k] @ observed
        )
    return _DiagonalTerms(log_prob, features, offsets, variances, means)


def _diagonal_blocks(X, params, variances):
    """``(rows, terms)`` of `_diagonal_terms` over bounded blocks covering every row."""
    n_components, n_features = params.means.shape
    block_rows = default_chunk_rows(n_features, n_components)
    for start in range(0, X.shape[0], block_rows):
        rows = slice(start, start + block_rows)
        yield rows, _diagonal_terms(X[rows], params, variances)


def _diagonal_variances(params: MixtureParams) -> np.ndarray | None:
    """The variances if every component covariance is diagonal, else None."""
    dense = params.covariance.dense_covariances(*params.means.shape)
    variances = np.diagonal(dense, axis1=1, axis2=2)
    off_diagonal = dense - variances[:, :, np.newaxis] * np.eye(dense.shape[1])
    return variances.astype(np.float64) if not off_diagonal.any() else None


def _log_weights(params: MixtureParams) -> np.ndarray:
    """``log pi_k`` (``-inf`` for an empty component, without a warning)."""
    weights = np.asarray(params.weights, dtype=np.float64)
    return np.log(np.where(weights > 0, weights, 1.0)) + np.where(weights > 0, 0.0, -np.inf)


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
    variances = _diagonal_variances(params)
    if variances is not None:
        for rows, terms in _diagonal_blocks(X, params, variances):
            result[rows] = terms.log_prob.T
        return result.astype(X.dtype, copy=False)
    n_missing = _count_missing(missing)
    complete = n_missing == 0
    if complete.any():
        result[complete] = MixtureParams.weighted_log_prob(params, X[complete])
    result[n_missing == X.shape[1]] = _log_weights(params)
    informative = np.flatnonzero((n_missing > 0) & (n_missing < X.shape[1]))
    blocks = _precision_blocks(X, missing, n_missing, informative, params, conditionals=False)
    for rows, terms in blocks:
        result[rows] = terms.log_prob.T
    return result.astype(X.dtype, copy=False)


@dataclass(frozen=True, eq=False)
class ObservedDataParams(MixtureParams):
    """`MixtureParams` whose densities marginalise NaN coordinates out.

    Anything that reads densities through ``weighted_log_prob`` (``score_samples``,
    ``predict_proba``, ``predict``, `gaussmix.engine.core.estep.log_responsibilities`) then
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


def _weighted_responsibilities(log_prob, weights, labels):
    """``w r`` in place of ``log_prob`` (K, n), and each row's log-likelihood term.

    Labelled rows get one-hot responsibilities and the joint log-density of the row
    and its label.
    """
    labelled = np.flatnonzero(labels != UNLABELLED) if labels is not None else None
    if labelled is not None:
        joint = log_prob[labels[labelled], labelled]
    log_density = normalise_columns(log_prob, weights)
    if labelled is not None:
        log_prob[:, labelled] = 0.0
        log_prob[labels[labelled], labelled] = weights[labelled]
        log_density[labelled] = joint
    return log_prob, log_density


def _block_statistics(terms, weights, labels, scatter, shift) -> Stats:
    """`Stats` of a block of rows from a masked kernel's terms (``weights`` float64)."""
    weighted_resp, log_density = _weighted_responsibilities(terms.log_prob, weights, labels)
    first, second = terms.moments(weighted_resp, scatter)
    with np.errstate(invalid="ignore"):
        log_likelihood = float(log_density @ weights)
    return Stats(
        weighted_resp.sum(axis=1),
        first,
        second,
        shift,
        log_likelihood,
        float(weights.sum()),
    )


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
    stats = _empty_statistics(params, scatter)
    variances = _diagonal_variances(params)
    if variances is not None:
        # Every row through the masked kernel; rows with nothing observed weigh 0.
        for rows, terms in _diagonal_blocks(X, params, variances):
            weights = np.where(terms.informative, sample_weight[rows], 0.0)
            block_labels = None if labels is None else labels[rows]
            stats = stats + _block_statistics(terms, weights, block_labels, scatter, stats.shift)
        return stats
    missing = np.isnan(X)
    n_missing = _count_missing(missing)
    complete = n_missing == 0
    if complete.any():
        stats = stats + _complete_rows_statistics(
            X[complete],
            sample_weight[complete],
            params,
            scatter,
            None if labels is None else labels[complete],
        )
    informative = np.flatnonzero((n_missing > 0) & (n_missing < X.shape[1]))
    for rows, terms in _precision_blocks(X, missing, n_missing, informative, params):
        weights = sample_weight[rows].astype(np.float64)
        block_labels = None if labels is None else labels[rows]
        stats = stats + _block_statistics(terms, weights, block_labels, scatter, stats.shift)
    return stats


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
