"""Projections of rows on full precision factors, and the bound that prunes them.

A full form's log-densities are squared norms of the rows' projections on each
component's precision factor. `projection_blocks` cuts triangular factors into column
blocks so the products skip their zeros. When the components' means span few directions,
`SubspaceBound` gives a cheap lower bound on every distance (the Mahalanobis distance
within that span), and `pruned_distances` projects in full only the pairs the
responsibilities' normalisation could keep: the others fall below the negligible
threshold either way, so the responsibilities are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PROJECTION_BLOCK",
    "PRUNE_MAX_COST",
    "PRUNE_MAX_SHARE",
    "PRUNE_PROBE_COLUMNS",
    "SubspaceBound",
    "block_distances",
    "projection_blocks",
    "pruned_distances",
]


#: Features per block of the blocked projection (`projection_blocks`).
PROJECTION_BLOCK = 32


def projection_blocks(factors: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of columns of the precision factors projected by one product each.

    Upper-triangular factors (as every Cholesky factor here is) are cut into blocks of
    `PROJECTION_BLOCK` columns, so that the products skip the zeros below the diagonal;
    any other factor is projected whole.
    """
    n_features = factors.shape[-1]
    triangular = not np.any(np.tril(factors, -1))
    if not triangular or n_features < 2 * PROJECTION_BLOCK:
        return [(0, n_features)]
    edges = list(range(0, n_features, PROJECTION_BLOCK)) + [n_features]
    return list(zip(edges[:-1], edges[1:], strict=True))


def block_distances(products, augmented, n_components) -> np.ndarray:
    """Squared norms (K, n) of the projections on every block of every component."""
    n_samples = augmented.shape[1]
    distances: np.ndarray | None = None
    for width, operand in products:
        used = operand.shape[1]
        projected = (operand @ augmented[:used]).reshape(n_components, width, n_samples)
        part = np.einsum("kdn,kdn->kn", projected, projected)
        distances = part if distances is None else np.add(distances, part, out=distances)
    assert distances is not None, "no products"
    return distances


#: Above this share of (component, row) pairs in question after the bound, every pair is
#: projected in full. The share is first measured exactly on a chunk's leading columns.
PRUNE_MAX_SHARE, PRUNE_PROBE_COLUMNS = 0.25, 64
#: The bound is used when its product costs at most this share of the full projection.
PRUNE_MAX_COST = 0.35


@dataclass(frozen=True)
class SubspaceBound:
    """Each component's Mahalanobis distance within the span of the means' differences.

    ``operand`` (K r, d + 1) maps the ``ONES_FIRST`` columns to whitened coordinates
    ``R_k B^T (x - mu_k)``, with ``B`` (d, r) an orthonormal basis of that span and
    ``R_k`` the inverse Cholesky factor of ``B^T Sigma_k B``: their squared norm is the
    distance of the marginal of ``B^T x``, never more than the full distance.
    """

    operand: np.ndarray
    rank: int

    @classmethod
    def build(cls, covariances, offsets, full_cost, dtype) -> SubspaceBound | None:
        """The bound for these parameters, or None where it would not pay."""
        n_components, n_features = offsets.shape
        if n_components < 2:
            return None
        spread = offsets - offsets.mean(axis=0)
        _, singular, directions = np.linalg.svd(spread, full_matrices=False)
        rank = int(np.count_nonzero(singular > 1e-8 * singular[0])) if singular[0] > 0 else 0
        if rank == 0 or n_components * rank * (n_features + 1) > PRUNE_MAX_COST * full_cost:
            return None
        basis = directions[:rank].T
        try:
            lower = np.linalg.cholesky(basis.T @ covariances @ basis)
        except np.linalg.LinAlgError:
            return None
        whitening = np.linalg.inv(lower) @ basis.T  # (K, r, d): R_k B^T
        operand = np.empty((n_components, rank, n_features + 1))
        operand[:, :, 0] = -np.einsum("krd,kd->kr", whitening, offsets)
        operand[:, :, 1:] = whitening
        if not np.all(np.isfinite(operand)):
            return None
        return cls(operand.reshape(-1, n_features + 1).astype(dtype), rank)

    def distances(self, augmented) -> np.ndarray:
        """Lower bounds (K, n) on the squared distances of the ``ONES_FIRST`` columns."""
        projected = (self.operand @ augmented).reshape(-1, self.rank, augmented.shape[1])
        return np.einsum("krn,krn->kn", projected, projected)


def pruned_distances(products, bound, augmented, factor, constant, negligible) -> np.ndarray:
    """Squared distances (K, n): exact where the normalisation may keep the value, a
    lower bound (`SubspaceBound`) where it cannot.

    ``factor * bound + constant`` (factor < 0) bounds each log-density from above. A pair
    whose bound lies below ``L + negligible - 1``, with ``L`` an exact value of the same
    row, can only be zeroed by the normalisation: it keeps the bound (its value is then
    below the threshold as well). The one nat of margin covers rounding in the
    comparisons. The chunk's first `PRUNE_PROBE_COLUMNS` columns are projected in full
    and say how many pairs the bound leaves in question; where that is more than
    `PRUNE_MAX_SHARE` (components that overlap), the rest is projected in full too.
    """
    n_components, n_samples = constant.shape[0], augmented.shape[1]
    probe = min(n_samples, PRUNE_PROBE_COLUMNS)
    head = block_distances(products, augmented[:, :probe], n_components)
    if probe == n_samples:
        return head
    head_bounds = factor * bound.distances(augmented[:, :probe]) + constant
    if _too_many_in_question(head_bounds, (factor * head + constant).max(axis=0), negligible):
        rest = block_distances(products, augmented[:, probe:], n_components)
    else:
        rest = _pruned_tail(products, bound, augmented, probe, factor, constant, negligible)
    return np.concatenate([head, rest], axis=1)


def _pruned_tail(products, bound, augmented, start, factor, constant, negligible):
    """`pruned_distances` for the columns from ``start`` on: each row's most likely
    component by the bound is projected in full first and gives ``L``; then the pairs
    still in question. (Columns are gathered from the whole, contiguous ``augmented``:
    gathering from a column slice of it is three times slower. The copy sorted by
    leader is (d + 1) x n, a K-th of the projections the chunk budget allows for.)"""
    n_components = constant.shape[0]
    distances = bound.distances(augmented[:, start:])
    n_samples = distances.shape[1]
    bounds = factor * distances + constant
    leaders = bounds.argmax(axis=0)
    # The leaders, component by component, on columns sorted by leader (one gather).
    order = np.argsort(leaders, kind="stable")
    by_leader = np.take(augmented, order + start, axis=1)
    edges = np.concatenate([[0], np.cumsum(np.bincount(leaders, minlength=n_components))])
    for k in range(n_components):
        if edges[k + 1] > edges[k]:
            distances[k, order[edges[k] : edges[k + 1]]] = _component_norms(
                products, by_leader[:, edges[k] : edges[k + 1]], k
            )
    exact = factor * distances[leaders, np.arange(n_samples)] + constant[leaders, 0]
    if _too_many_in_question(bounds, exact, negligible):  # rows unlike the probe's
        return block_distances(products, augmented[:, start:], n_components)
    in_question = bounds >= exact + (negligible - 1.0)
    in_question[leaders, np.arange(n_samples)] = False
    for k in range(n_components):
        columns = np.flatnonzero(in_question[k])
        if columns.size:
            distances[k, columns] = _component_norms(
                products, np.take(augmented, columns + start, axis=1), k
            )
    return distances


def _too_many_in_question(bounds, exact, negligible) -> bool:
    """Whether more than `PRUNE_MAX_SHARE` of the pairs besides each row's most likely
    one have a bound within the margin of the row's exact value ``exact`` (n,). (That
    pair is always in question, so counting it would rule out pruning with few
    components.)"""
    n_components, n_samples = bounds.shape
    in_question = np.count_nonzero(bounds >= exact + (negligible - 1.0)) - n_samples
    return in_question > PRUNE_MAX_SHARE * (n_components - 1) * n_samples


def _component_norms(products, columns, component) -> np.ndarray:
    """Squared norms of one component's projection of the given columns, every block."""
    total: np.ndarray | None = None
    for width, operand in products:
        used = operand.shape[1]
        projected = operand[component * width : (component + 1) * width] @ columns[:used]
        part = np.einsum("dn,dn->n", projected, projected)
        total = part if total is None else np.add(total, part, out=total)
    assert total is not None, "no products"
    return total
