"""The EM driver: iterations, convergence, restarts; written once for every model and source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .params import ComponentParams
from .stats import Stats

__all__ = ["EMResult", "EMMonitor", "run_em", "best_of_restarts"]


#: What an EM run iterates: `MixtureParams`, or a variational posterior.
ParamsT = TypeVar("ParamsT", bound=ComponentParams)


@dataclass(frozen=True, eq=False)
class EMResult(Generic[ParamsT]):
    """Outcome of one EM run.

    Parameters
    ----------
    params : MixtureParams or VariationalPosterior
        Parameters after the last M-step.
    lower_bounds : ndarray of shape (n_iter,)
        Mean log-likelihood of the parameters entering each iteration.
    converged : bool
        Whether the change of the mean log-likelihood fell below ``tol``.
    n_iter : int
        Iterations run.
    """

    params: ParamsT
    lower_bounds: np.ndarray
    converged: bool
    n_iter: int

    @property
    def lower_bound(self) -> float:
        """The last mean log-likelihood (``-inf`` when no iteration ran)."""
        return float(self.lower_bounds[-1]) if len(self.lower_bounds) else -np.inf


class EMMonitor:
    """Receives progress events; the base class ignores them."""

    def run_started(self, run_index: int) -> None:
        """A restart begins."""

    def iteration_done(self, n_iter: int, lower_bound: float, change: float) -> None:
        """One EM iteration finished."""

    def run_finished(self, result: EMResult) -> None:
        """A restart ended."""


def run_em(
    params: ParamsT,
    e_step: Callable[[ParamsT], Stats],
    m_step: Callable[[Stats, ParamsT], ParamsT],
    *,
    tol: float,
    max_iter: int,
    lower_bound: float = -np.inf,
    monitor: EMMonitor | None = None,
    objective: Callable[[Stats, ParamsT], float] | None = None,
) -> EMResult[ParamsT]:
    """Iterate E- and M-steps until the mean log-likelihood changes by less than ``tol``.

    Parameters
    ----------
    params : MixtureParams or VariationalPosterior
        Starting parameters.
    e_step : callable
        ``e_step(params) -> Stats`` over all the data.
    m_step : callable
        ``m_step(stats, params) -> params``.
    tol : float
        Convergence threshold on the change of the mean log-likelihood.
    max_iter : int
        Maximum number of iterations.
    lower_bound : float
        Mean log-likelihood before the first iteration (warm starts pass the last one).
    monitor : EMMonitor, optional
        Progress receiver.
    objective : callable, optional
        ``objective(stats, new_params) -> float``: the bound whose change decides
        convergence, from an E-step's statistics and the parameters the M-step made of
        them. Default: ``stats.mean_log_likelihood``. Variational fits pass their ELBO.
    """
    monitor = monitor or EMMonitor()
    objective = objective or (lambda stats, _: stats.mean_log_likelihood)
    lower_bounds: list[float] = []
    converged = False
    for n_iter in range(1, max_iter + 1):
        stats = e_step(params)
        params = m_step(stats, params)
        previous, lower_bound = lower_bound, objective(stats, params)
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        monitor.iteration_done(n_iter, lower_bound, change)
        if abs(change) < tol:
            converged = True
            break
    return EMResult(params, np.asarray(lower_bounds), converged, len(lower_bounds))


#: An `EMResult` or a subclass carrying more of the run's state.
ResultT = TypeVar("ResultT", bound="EMResult")


def best_of_restarts(n_init: int, run: Callable[[int], ResultT]) -> ResultT:
    """Run ``run(i)`` for ``i < n_init`` and keep the result with the highest lower bound.

    Ties keep the earliest run.
    """
    best: ResultT | None = None
    for run_index in range(n_init):
        result = run(run_index)
        if best is None or result.lower_bound > best.lower_bound:
            best = result
    assert best is not None
    return best
