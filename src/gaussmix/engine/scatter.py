"""How much of each component's second moment the E-step accumulates.

Models whose covariances are diagonal need only the diagonal of the weighted scatter
matrices, which costs ``d`` instead of ``d^2`` per row and component. A covariance model
names the scatter it needs; the E-step asks that scatter to accumulate.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.linalg import get_blas_funcs

from ._precision import amplification_limit

__all__ = ["Scatter", "FullScatter", "DiagonalScatter", "FULL_SCATTER", "DIAGONAL_SCATTER"]


class Scatter:
    """Accumulation rule for the second moments held in `Stats`."""

    name: str

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the accumulated second moments."""
        raise NotImplementedError

    def zeros(self, n_components: int, n_features: int, dtype=np.float64) -> np.ndarray:
        """Empty accumulator for ``n_components`` components."""
        return np.zeros(self.shape(n_components, n_features), dtype=dtype)

    def accumulate(self, differences: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``sum_n weights[n] * outer(differences[n], differences[n])`` (or its diagonal)."""
        raise NotImplementedError

    def centred_second_moments(
        self,
        centred: np.ndarray,
        weighted_resp: np.ndarray,
        offsets: np.ndarray,
        counts: np.ndarray,
        first_about_reference: np.ndarray,
        squares_about_reference: np.ndarray | None = None,
    ) -> np.ndarray:
        """Second moments of one chunk about each component's shift, in float64.

        Parameters
        ----------
        centred : ndarray of shape (n_features, n_samples)
            The chunk's rows minus a reference point ``r``, transposed.
        weighted_resp : ndarray of shape (n_components, n_samples)
            ``w[n] r[n, k]``, same dtype as ``centred``.
        offsets : ndarray of shape (n_components, n_features)
            Shifts minus the reference point, ``c_k - r`` (float64).
        counts : ndarray of shape (n_components,)
            ``sum_n w[n] r[n, k]`` (float64).
        first_about_reference : ndarray of shape (n_components, n_features)
            ``sum_n w[n] r[n, k] (x[n] - r)`` (float64).
        squares_about_reference : ndarray of shape (n_components, n_features), optional
            ``sum_n w[n] r[n, k] (x[n] - r)^2`` (float64) when the E-step computed it
            already (the diagonal scatter then needs no product of its own).

        Returns
        -------
        ndarray of shape `shape(n_components, n_features)`
            ``sum_n w[n] r[n, k] (x[n] - c_k)(x[n] - c_k)^T`` or its diagonal.
        """
        raise NotImplementedError

    def outer(self, vectors: np.ndarray) -> np.ndarray:
        """``outer(v_k, v_k)`` for each row ``v_k`` of ``vectors`` (or its diagonal)."""
        raise NotImplementedError

    def about_mean(self, second: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Scatter about the weighted mean, from moments about the shift."""
        safe_counts = np.where(counts > 0, counts, 1.0)
        correction = self.outer(first) / safe_counts.reshape(-1, *([1] * (second.ndim - 1)))
        return second - correction

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FullScatter(Scatter):
    """Full d x d scatter matrices."""

    name = "full"

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def accumulate(self, differences, weights):
        return (differences * weights[:, np.newaxis]).T @ differences

    def centred_second_moments(self, centred, weighted_resp, offsets, counts,
                               first_about_reference, squares_about_reference=None):
        n_components, n_samples = weighted_resp.shape
        n_features = centred.shape[0]
        # Per component, only the rows with a non-zero weighted responsibility count (the
        # E-step makes negligible ones exact zeros): when components are well separated
        # that is about n rows in all instead of K n, and the per-component symmetric
        # updates beat one packed product even with many components.
        if _per_component_is_cheaper(weighted_resp, n_features):
            about_reference = _per_component_moments(centred, weighted_resp)
        else:
            about_reference = _packed_products_moments(centred, weighted_resp)
        second = _shift_full_moments(about_reference, offsets, counts, first_about_reference)
        inexact = _cancelling(np.diagonal(second, axis1=1, axis2=2), offsets, counts,
                              centred.dtype)
        if inexact.size:
            second[inexact] = _exact_full_moments(centred, weighted_resp, offsets, inexact)
        return second

    def outer(self, vectors):
        return vectors[:, :, np.newaxis] * vectors[:, np.newaxis, :]


class DiagonalScatter(Scatter):
    """Only the diagonals of the scatter matrices."""

    name = "diagonal"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def accumulate(self, differences, weights):
        return weights @ (differences * differences)

    def centred_second_moments(self, centred, weighted_resp, offsets, counts,
                               first_about_reference, squares_about_reference=None):
        # sum r (x - c)^2 = sum r (x - r0)^2 - 2 (c - r0) sum r (x - r0) + N (c - r0)^2:
        # one product for all components, about the reference point r0.
        about_reference = squares_about_reference
        if about_reference is None:
            about_reference = (weighted_resp @ np.square(centred).T).astype(np.float64)
        second = about_reference - offsets * (2.0 * first_about_reference
                                              - counts[:, np.newaxis] * offsets)
        inexact = _cancelling(second, offsets, counts, centred.dtype)
        for k in inexact:
            differences = centred - offsets[k].astype(centred.dtype)[:, np.newaxis]
            second[k] = np.square(differences) @ weighted_resp[k]
        return second

    def outer(self, vectors):
        return vectors * vectors


def _cancelling(variances, offsets, counts, dtype) -> np.ndarray:
    """Components whose shifted moments lost too much precision to cancellation.

    Moving moments from the reference ``r`` to ``c_k`` subtracts terms of size
    ``N_k (c_k - r)^2`` from sums of that size; the result keeps about
    ``-log10(eps * N_k (c_k - r)^2 / variance)`` digits.
    """
    limit = amplification_limit(dtype)
    shifted = counts[:, np.newaxis] * offsets**2
    too_far = shifted > limit * np.maximum(variances, 0.0)
    return np.flatnonzero(too_far.any(axis=1))


@functools.lru_cache(maxsize=64)
def _triangle_indices(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n_features)


def _packed_products_moments(centred, weighted_resp) -> np.ndarray:
    """``sum_n w r (x - r0)(x - r0)^T`` for all components by one product, in float64.

    Each column's upper-triangular outer product is packed into ``d (d + 1) / 2`` rows;
    the weighted responsibilities (K, n) times those rows give every component's moments.
    """
    n_features, n_samples = centred.shape
    products = np.empty((n_features * (n_features + 1) // 2, n_samples), dtype=centred.dtype)
    start = 0
    for i in range(n_features):
        stop = start + n_features - i
        np.multiply(centred[i], centred[i:], out=products[start:stop])
        start = stop
    packed = (weighted_resp @ products.T).astype(np.float64)
    rows, columns = _triangle_indices(n_features)
    moments = np.empty((weighted_resp.shape[0], n_features, n_features))
    moments[:, rows, columns] = packed
    moments[:, columns, rows] = packed
    return moments


def _shift_full_moments(about_reference, offsets, counts, first_about_reference):
    """Moments about ``c_k`` from moments about the reference: ``M - d a^T - a d^T + N d d^T``."""
    cross = offsets[:, :, np.newaxis] * (
        first_about_reference - 0.5 * counts[:, np.newaxis] * offsets
    )[:, np.newaxis, :]
    return about_reference - cross - np.swapaxes(cross, 1, 2)


#: Fewest features for which the cost model below applies; with fewer, fixed per-call
#: overheads dominate and components go one by one only when K is small (d + 1 > 2 K).
SPARSE_MIN_FEATURES = 12


def _per_component_is_cheaper(weighted_resp: np.ndarray, n_features: int) -> bool:
    """Whether per-component symmetric updates over the active rows beat the packed product.

    The costs (microseconds, one thread) were fitted to timings of both paths on this
    project's benchmark machine for d = 12..64 and K = 8..16: a component's update costs
    about ``8.4e-4 d^1.3`` per active row (syrk gets more efficient as d grows), the
    packed product ``d (d + 1) / 2 (1e-3 + 5.5e-5 K)`` per row. Only the ratio matters.
    """
    n_components, n_samples = weighted_resp.shape
    if n_features < SPARSE_MIN_FEATURES:
        return n_features + 1 > 2 * n_components
    per_component = np.count_nonzero(weighted_resp) * 8.4e-4 * n_features**1.3
    packed = n_samples * n_features * (n_features + 1) / 2 * (1e-3 + 5.5e-5 * n_components)
    return bool(per_component < packed)

#: Below this fraction of rows with a non-zero responsibility, a component's rows are
#: gathered before its update (a copy of the active rows costs less than scaling all).
GATHER_FRACTION = 0.5


def _per_component_moments(centred, weighted_resp) -> np.ndarray:
    """``sum_n w r (x - r0)(x - r0)^T`` per component by symmetric rank-n updates, float64.

    Each component's update reads only its rows with a non-zero weighted responsibility
    when they are few: rows that add exact zeros are skipped, not approximated.
    """
    dtype = centred.dtype
    (syrk,) = get_blas_funcs(("syrk",), dtype=dtype)
    n_features, n_samples = centred.shape
    scaled = np.empty_like(centred)
    roots = np.sqrt(weighted_resp)
    upper = np.empty((weighted_resp.shape[0], n_features, n_features))
    for k in range(weighted_resp.shape[0]):
        active = np.flatnonzero(roots[k])
        if active.size == 0:
            upper[k] = 0.0
            continue
        if active.size < GATHER_FRACTION * n_samples:
            rows = np.take(centred, active, axis=1)
            rows *= roots[k, active]
        else:
            rows = np.multiply(centred, roots[k], out=scaled)
        # rows.T is (m, d) in Fortran order: syrk(trans=1) gives rows @ rows.T.
        upper[k] = syrk(1.0, rows.T, trans=1)
    return _symmetric_from_upper(upper)


def _exact_full_moments(centred, weighted_resp, offsets, components) -> np.ndarray:
    """Per component, exactly about ``c_k``: rows ``x - c_k`` scaled by ``sqrt(w r)``, then one
    symmetric rank-n update (syrk: half the flops of a general product). Float64 result."""
    dtype = centred.dtype
    (syrk,) = get_blas_funcs(("syrk",), dtype=dtype)
    n_features, n_samples = centred.shape
    scaled = np.empty((n_features, n_samples), dtype=dtype)
    local_offsets = offsets.astype(dtype)
    upper = np.empty((len(components), n_features, n_features))
    for index, k in enumerate(components):
        np.subtract(centred, local_offsets[k][:, np.newaxis], out=scaled)
        scaled *= np.sqrt(weighted_resp[k])
        # scaled.T is (n, d) in Fortran order: syrk(trans=1) gives scaled @ scaled.T.
        upper[index] = syrk(1.0, scaled.T, trans=1)
    return _symmetric_from_upper(upper)


def _symmetric_from_upper(upper: np.ndarray) -> np.ndarray:
    """Fill the strict lower triangles of stacked matrices from their upper triangles."""
    strict_upper = np.triu(upper, 1)
    return np.triu(upper) + np.swapaxes(strict_upper, -1, -2)


FULL_SCATTER = FullScatter()
DIAGONAL_SCATTER = DiagonalScatter()
