"""How much of each component's second moment the E-step accumulates.

Models whose covariances are diagonal need only the diagonal of the weighted scatter
matrices, which costs ``d`` instead of ``d^2`` per row and component. A covariance model
names the scatter it needs; the E-step asks that scatter to accumulate.
"""

from __future__ import annotations

import functools

import numpy as np

from .precision import amplification_limit

__all__ = [
    "Scatter",
    "FullScatter",
    "DiagonalScatter",
    "FULL_SCATTER",
    "DIAGONAL_SCATTER",
    "CANCELLATION",
]

#: A scatter variance at most this fraction of the second moment it was computed from
#: (``second - first^2 / n``) is rounding residue: 64 units of rounding, more than the
#: subtraction and the tiny count an emptied component gets can leave.
CANCELLATION = 64 * np.finfo(np.float64).eps


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
        rows: np.ndarray | None = None,
        reference: np.ndarray | None = None,
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
        rows : ndarray of shape (n_samples, n_features), optional
            The chunk's rows themselves (not centred), same dtype as ``centred``: whole
            rows are gathered faster than columns when components go one by one.
        reference : ndarray of shape (n_features,), optional
            The reference point ``r`` (float64) the columns were centred at; required
            with ``rows``, which are then centred exactly as the columns were.

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
        """Scatter about the weighted mean, from moments about the shift.

        A variance that the subtraction leaves at the level of its own rounding error
        (at most `CANCELLATION` times the second moment it came from, e.g. a component
        on one row, or on rows tied in one column) is exactly zero: it is set to 0,
        with its row and column of a full scatter, so that whether such a component
        is singular never depends on rounding (mclust sees an exact zero there).
        """
        safe_counts = np.where(counts > 0, counts, 1.0)
        correction = self.outer(first) / safe_counts.reshape(-1, *([1] * (second.ndim - 1)))
        return self._without_rounding_residue(second - correction, second)

    def _without_rounding_residue(self, scatter: np.ndarray, second: np.ndarray) -> np.ndarray:
        """``scatter`` with variances lost to cancellation set to exactly zero."""
        variances = self.variances(scatter)
        lost = variances <= CANCELLATION * self.variances(second)
        if not np.any(lost):
            return scatter
        return self.zero_variances(scatter, lost)

    def variances(self, second: np.ndarray) -> np.ndarray:
        """The (K, d) variances (diagonals) of second moments in this scatter's shape."""
        raise NotImplementedError

    def zero_variances(self, scatter: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """A copy of ``scatter`` without the ``lost`` (K, d) variances and their covariances."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FullScatter(Scatter):
    """Full d x d scatter matrices."""

    name = "full"

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def accumulate(self, differences, weights):
        return (differences * weights[:, np.newaxis]).T @ differences

    def centred_second_moments(
        self,
        centred,
        weighted_resp,
        offsets,
        counts,
        first_about_reference,
        squares_about_reference=None,
        rows=None,
        reference=None,
    ):
        n_features, n_samples = centred.shape
        # Per component, only the rows with a non-zero weighted responsibility count (the
        # E-step makes negligible ones exact zeros): when components are well separated
        # that is about n rows in all instead of K n, and the per-component symmetric
        # updates beat one packed product even with many components.
        nonzero = weighted_resp > 0
        active = np.count_nonzero(nonzero, axis=1)
        if not _per_component_is_cheaper(active, n_samples, n_features):
            about_reference = _packed_products_moments(centred, weighted_resp)
            return _exact_about_shifts(
                about_reference,
                centred,
                weighted_resp,
                nonzero,
                offsets,
                counts,
                first_about_reference,
            )
        if rows is None:
            rows, reference = centred.T, None
        gathered = active < GATHER_FRACTION * n_samples
        second = np.empty((len(active), n_features, n_features))
        second[gathered] = _gathered_moments(
            rows, offsets[gathered], weighted_resp[gathered], nonzero[gathered], reference
        )
        # Components active on most rows: all columns scaled at once (one pass; moving
        # them to c_k first would take a second one), then shifted like the packed moments.
        dense = np.flatnonzero(~gathered)
        if dense.size:
            second[dense] = _exact_about_shifts(
                _scaled_moments(centred, weighted_resp[dense]),
                centred,
                weighted_resp[dense],
                nonzero[dense],
                offsets[dense],
                counts[dense],
                first_about_reference[dense],
            )
        return second

    def outer(self, vectors):
        return vectors[:, :, np.newaxis] * vectors[:, np.newaxis, :]

    def variances(self, second):
        return np.diagonal(second, axis1=-2, axis2=-1)

    def zero_variances(self, scatter, lost):
        kept = ~lost
        return scatter * kept[:, :, np.newaxis] * kept[:, np.newaxis, :]


class DiagonalScatter(Scatter):
    """Only the diagonals of the scatter matrices."""

    name = "diagonal"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def accumulate(self, differences, weights):
        return weights @ (differences * differences)

    def centred_second_moments(
        self,
        centred,
        weighted_resp,
        offsets,
        counts,
        first_about_reference,
        squares_about_reference=None,
        rows=None,
        reference=None,
    ):
        # sum r (x - c)^2 = sum r (x - r0)^2 - 2 (c - r0) sum r (x - r0) + N (c - r0)^2:
        # one product for all components, about the reference point r0.
        about_reference = squares_about_reference
        if about_reference is None:
            about_reference = (weighted_resp @ np.square(centred).T).astype(np.float64)
        second = about_reference - offsets * (
            2.0 * first_about_reference - counts[:, np.newaxis] * offsets
        )
        inexact = _cancelling(second, offsets, counts, centred.dtype)
        for k in inexact:
            differences = centred - offsets[k].astype(centred.dtype)[:, np.newaxis]
            second[k] = np.square(differences) @ weighted_resp[k]
        return second

    def outer(self, vectors):
        return vectors * vectors

    def variances(self, second):
        return second

    def zero_variances(self, scatter, lost):
        return np.where(lost, 0.0, scatter)


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
    cross = (
        offsets[:, :, np.newaxis]
        * (first_about_reference - 0.5 * counts[:, np.newaxis] * offsets)[:, np.newaxis, :]
    )
    return about_reference - cross - np.swapaxes(cross, 1, 2)


#: Below this fraction of rows with a non-zero responsibility, a component's rows are
#: gathered before its update (a copy of the active rows costs less than scaling all).
GATHER_FRACTION = 0.5


def _per_component_is_cheaper(active: np.ndarray, n_samples: int, n_features: int) -> bool:
    """Whether per-component symmetric updates beat the packed product for this chunk.

    ``active`` (K,) counts each component's non-zero weighted responsibilities among
    ``n_samples`` rows. The costs, in nanoseconds on one thread, were fitted to timings
    of both paths on this project's benchmark machine for d = 2..64, K = 2..32 at the
    default chunk lengths: a component's update costs about ``13 + 2.7 d`` per row it
    reads (its active rows when gathered, otherwise all rows at 0.8 of that cost) plus
    4 us; the packed product ``3 + d (d + 1) / 2 (1 + 0.03 K)`` per row of the chunk.
    Only the ratio matters.
    """
    n_components = active.shape[0]
    read = np.where(active < GATHER_FRACTION * n_samples, active, 0.8 * n_samples)
    per_component = float(read.sum()) * (13.0 + 2.7 * n_features) + 4000.0 * n_components
    packed = n_samples * (3.0 + n_features * (n_features + 1) / 2 * (1.0 + 0.03 * n_components))
    return per_component < packed


def _exact_about_shifts(
    about_reference, centred, weighted_resp, nonzero, offsets, counts, first_about_reference
) -> np.ndarray:
    """Moments about ``c_k`` from moments about the reference point; components that the
    shift would leave inexact (`_cancelling`) are recomputed about ``c_k`` directly."""
    second = _shift_full_moments(about_reference, offsets, counts, first_about_reference)
    inexact = _cancelling(np.diagonal(second, axis1=1, axis2=2), offsets, counts, centred.dtype)
    if inexact.size:
        second[inexact] = _gathered_moments(
            centred.T, offsets[inexact], weighted_resp[inexact], nonzero[inexact]
        )
    return second


def _scaled_moments(centred, weighted_resp) -> np.ndarray:
    """``sum_n w r (x - r0)(x - r0)^T`` per component from all columns, in float64.

    Each component scales the centred columns by ``sqrt(w r)`` and multiplies them by their
    own transpose, which NumPy computes as a symmetric rank-n update (exactly symmetric,
    half the flops).
    """
    n_features, n_samples = centred.shape
    roots = np.sqrt(weighted_resp)
    scaled = np.empty_like(centred)
    moments = np.empty((weighted_resp.shape[0], n_features, n_features))
    for k in range(weighted_resp.shape[0]):
        np.multiply(centred, roots[k], out=scaled)
        moments[k] = scaled @ scaled.T
    return moments


def _gathered_moments(rows, offsets, weighted_resp, nonzero, reference=None) -> np.ndarray:
    """``sum_n w r (x - c_k)(x - c_k)^T`` per component over its active rows only, about
    ``c_k = r + offsets[k]``, in float64.

    Parameters
    ----------
    rows : ndarray of shape (n_samples, n_features)
        The chunk's rows (any memory order; C order gathers fastest), or its centred
        columns transposed.
    offsets : ndarray of shape (n_components, n_features)
        ``c_k - r`` (float64).
    weighted_resp : ndarray of shape (n_components, n_samples)
        ``w[n] r[n, k]``, same dtype as ``rows``.
    nonzero : ndarray of bool, shape (n_components, n_samples)
        ``weighted_resp > 0``.
    reference : ndarray of shape (n_features,), optional
        The reference point ``r`` when ``rows`` are not centred at it yet. The rows are
        then centred as `forms.centred_columns` centres them, rounding included, so the
        moments match the first moments taken from those columns (in float32, far from
        the origin, subtracting ``c_k`` at once would not).

    Rows with a zero weighted responsibility add exact zeros: they are skipped, not
    approximated. A component's active rows are copied, moved to ``c_k``, scaled by
    ``sqrt(w r)`` and multiplied by their own transpose (a symmetric rank-m update).
    """
    n_features = rows.shape[1]
    local_offsets = np.asarray(offsets, dtype=np.float64).astype(rows.dtype)
    local_reference = None if reference is None else reference.astype(rows.dtype)
    moments = np.empty((weighted_resp.shape[0], n_features, n_features))
    for k in range(weighted_resp.shape[0]):
        # Indices of a boolean row come four times faster than a float row's.
        active = np.flatnonzero(nonzero[k])
        block = np.take(rows, active, axis=0)
        if local_reference is not None:
            block -= local_reference
        block -= local_offsets[k]
        block *= np.sqrt(weighted_resp[k, active])[:, np.newaxis]
        moments[k] = block.T @ block
    return moments


FULL_SCATTER = FullScatter()
DIAGONAL_SCATTER = DiagonalScatter()
