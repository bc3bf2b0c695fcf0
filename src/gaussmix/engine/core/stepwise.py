"""Online (stepwise) EM: running sufficient statistics blended batch by batch.

Cappé & Moulines (2009), "On-line expectation-maximization algorithm for latent data
models", J. R. Statist. Soc. B 71(3): after batch ``t`` with per-sample statistics
``s_t`` (an E-step under the current parameters, divided by the batch's weight),

    S_t = (1 - gamma_t) S_{t-1} + gamma_t s_t,      gamma_t = (t0 + t)^(-kappa),

and the parameters are the M-step of ``S_t``. With kappa in (0.5, 1] the steps
satisfy the Robbins-Monro conditions; t0 >= 0 damps the first steps.

`Stats` hold moments about a shift ``c``; running statistics are moved to the batch's
shift before blending (`reshift`), exactly and without squaring large numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..covariance.scatter import Scatter
from .em import EMResult
from .params import MixtureParams
from .stats import Stats

__all__ = ["step_size", "reshift", "blend", "normalized", "run_minibatch_em"]


def step_size(t: int, offset: float, decay: float) -> float:
    """``(offset + t) ** -decay``, capped at 1."""
    return float(min(1.0, (offset + t) ** -decay))


def reshift(stats: Stats, shift: np.ndarray, scatter: Scatter) -> Stats:
    """The same statistics with moments about ``shift`` instead of ``stats.shift``.

    The scatter about the mean does not depend on the shift, so
    ``second' = W + first' first'^T / n`` with ``first' = first + n (c - c')``.
    """
    counts = stats.counts
    scatter_about_mean = scatter.about_mean(stats.second, stats.first, counts)
    first = stats.first + counts[:, np.newaxis] * (stats.shift - shift)
    safe_counts = np.where(counts > 0, counts, 1.0)
    second = scatter_about_mean + scatter.outer(first) / safe_counts.reshape(
        -1, *([1] * (stats.second.ndim - 1))
    )
    return Stats(
        counts=counts,
        first=first,
        second=second,
        shift=shift,
        log_likelihood=stats.log_likelihood,
        total_weight=stats.total_weight,
    )


def normalized(stats: Stats) -> Stats:
    """Statistics per unit of sample weight (``total_weight`` becomes 1)."""
    return stats.scaled(1.0 / stats.total_weight)


def blend(running: Stats | None, batch: Stats, step: float, scatter: Scatter) -> Stats:
    """``(1 - step) * running + step * batch``, both per unit weight, about the batch's shift.

    ``running=None`` (no history) returns the batch's normalised statistics.
    """
    batch = normalized(batch)
    if running is None:
        return batch
    return reshift(running, batch.shift, scatter).scaled(1.0 - step) + batch.scaled(step)


def run_minibatch_em(
    params: MixtureParams,
    passes: Callable[[], Iterable[Callable[[MixtureParams], Stats]]],
    m_step: Callable[[Stats, MixtureParams], MixtureParams],
    scatter: Scatter,
    *,
    offset: float,
    decay: float,
    tol: float,
    max_passes: int,
) -> tuple[EMResult, Stats | None, int]:
    """Stepwise EM over repeated passes of batches.

    Parameters
    ----------
    params : MixtureParams
        Starting parameters.
    passes : callable
        ``passes()`` yields, for one pass over the data, one ``e_step(params) -> Stats``
        per batch.
    m_step : callable
        ``m_step(stats, params) -> params``.
    scatter : Scatter
        The second moments the statistics hold.
    offset, decay : float
        ``t0`` and ``kappa`` of the step size ``(t0 + t)^-kappa``.
    tol : float
        Stop when the weighted mean log-likelihood of a pass changes by less.
    max_passes : int
        Maximum number of passes.

    Returns
    -------
    result : EMResult
        ``lower_bounds`` holds each pass's weighted mean log-likelihood (of each batch
        under the parameters entering it); ``n_iter`` counts passes.
    running : Stats or None
        The running statistics at the end.
    n_steps : int
        Batches processed.
    """
    running: Stats | None = None
    n_steps = 0
    lower_bounds: list[float] = []
    converged = False
    for _ in range(max_passes):
        log_likelihood = weight = 0.0
        for e_step in passes():
            stats = e_step(params)
            running = blend(running, stats, step_size(n_steps, offset, decay), scatter)
            params = m_step(running, params)
            n_steps += 1
            log_likelihood += stats.log_likelihood
            weight += stats.total_weight
        lower_bounds.append(log_likelihood / weight)
        if len(lower_bounds) > 1 and abs(lower_bounds[-1] - lower_bounds[-2]) < tol:
            converged = True
            break
    return (
        EMResult(params, np.asarray(lower_bounds), converged, len(lower_bounds)),
        running,
        n_steps,
    )
