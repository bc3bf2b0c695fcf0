"""How much of each component's second moment the E-step accumulates.

Models whose covariances are diagonal need only the diagonal of the weighted scatter
matrices, which costs ``d`` instead of ``d^2`` per row and component. A covariance model
names the scatter it needs; the E-step asks that scatter to accumulate.
"""

from __future__ import annotations

import numpy as np

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

    def outer(self, vectors):
        return vectors[:, :, np.newaxis] * vectors[:, np.newaxis, :]


class DiagonalScatter(Scatter):
    """Only the diagonals of the scatter matrices."""

    name = "diagonal"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def accumulate(self, differences, weights):
        return weights @ (differences * differences)

    def outer(self, vectors):
        return vectors * vectors


FULL_SCATTER = FullScatter()
DIAGONAL_SCATTER = DiagonalScatter()
