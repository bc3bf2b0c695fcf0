"""Sufficient statistics of one EM iteration.

Every E-step, whatever the covariance model and wherever the data lives, reduces a
chunk of rows to a :class:`Stats`; statistics of disjoint chunks add up to the
statistics of their union. The M-step reads nothing but a `Stats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Stats"]


@dataclass(frozen=True, eq=False)
class Stats:
    """Weighted sufficient statistics of a Gaussian mixture, shifted for precision.

    With responsibilities ``r[n, k]``, sample weights ``w[n]`` and a per-component
    shift ``c[k]`` (normally the means used in the E-step):

    Parameters
    ----------
    counts : ndarray of shape (n_components,)
        ``sum_n w[n] r[n, k]``: the soft count of each component.
    first : ndarray of shape (n_components, n_features)
        ``sum_n w[n] r[n, k] (x[n] - c[k])``.
    second : ndarray of shape (n_components, n_features, n_features) or (n_components, n_features)
        ``sum_n w[n] r[n, k] (x[n] - c[k]) (x[n] - c[k])^T``, or only its diagonal
        when the covariance model needs no more.
    shift : ndarray of shape (n_components, n_features)
        The shifts ``c[k]``. Two `Stats` add only if their shifts are equal.
    log_likelihood : float
        ``sum_n w[n] log p(x[n])`` under the parameters of the E-step.
    total_weight : float
        ``sum_n w[n]``.

    Notes
    -----
    Moments are kept around ``c[k]`` rather than the origin so that data far from
    the origin loses no precision: the scatter about the mean is
    ``second - first first^T / counts``, a difference of two small numbers when ``c``
    is close to the mean, instead of ``E[x x^T] - mu mu^T``, a difference of two huge ones.
    """

    counts: np.ndarray
    first: np.ndarray
    second: np.ndarray
    shift: np.ndarray
    log_likelihood: float
    total_weight: float

    def __add__(self, other: Stats) -> Stats:
        """The statistics of both chunks' rows together (both about the same shift)."""
        if not isinstance(other, Stats):
            return NotImplemented
        if self.shift is not other.shift and not np.array_equal(self.shift, other.shift):
            raise ValueError("Stats computed around different shifts cannot be added.")
        return Stats(
            counts=self.counts + other.counts,
            first=self.first + other.first,
            second=self.second + other.second,
            shift=self.shift,
            log_likelihood=self.log_likelihood + other.log_likelihood,
            total_weight=self.total_weight + other.total_weight,
        )

    @property
    def n_components(self) -> int:
        """Number of mixture components."""
        return self.counts.shape[0]

    @property
    def n_features(self) -> int:
        """Number of features."""
        return self.first.shape[1]

    @property
    def mean_log_likelihood(self) -> float:
        """Weighted mean log-likelihood per sample: the EM convergence criterion."""
        return self.log_likelihood / self.total_weight

    def scaled(self, factor: float) -> Stats:
        """Return the statistics multiplied by ``factor`` (used to blend streams)."""
        return Stats(
            counts=self.counts * factor,
            first=self.first * factor,
            second=self.second * factor,
            shift=self.shift,
            log_likelihood=self.log_likelihood * factor,
            total_weight=self.total_weight * factor,
        )
