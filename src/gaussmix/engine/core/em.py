"""The EM driver: iterations, convergence, restarts; written once for every model and source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from ..covariance.forms import SingularCovarianceError
from .params import ComponentParams, MixtureParams
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
    collapse : str or None
        Why EM stopped early, when an M-step could not produce valid parameters (a
        component collapsed: its covariance is not positive definite). ``params`` are
        then those entering that iteration, whose mean log-likelihood is the last of
        ``lower_bounds``; None when every M-step succeeded.
    """

    params: ParamsT
    lower_bounds: np.ndarray
    converged: bool
    n_iter: int
    collapse: str | None = None

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
    can_stop_at_collapse = objective is None
    objective = objective or (lambda stats, _: stats.mean_log_likelihood)
    lower_bounds: list[float] = []
    converged = False
    for n_iter in range(1, max_iter + 1):
        stats = e_step(params)
        try:
            new_params = m_step(stats, params)
        except SingularCovarianceError as exc:
            if not (
                can_stop_at_collapse
                and isinstance(params, MixtureParams)
                and _valid_stop(params, stats, lower_bound)
            ):
                raise
            # The likelihood grows without bound towards the collapse: keep the valid
            # parameters entering this iteration (whose log-likelihood this E-step gave)
            # and say why EM stopped.
            lower_bounds.append(stats.mean_log_likelihood)
            monitor.iteration_done(n_iter, lower_bounds[-1], lower_bounds[-1] - lower_bound)
            return EMResult(params, np.asarray(lower_bounds), False, n_iter, str(exc))
        params = new_params
        previous, lower_bound = lower_bound, objective(stats, params)
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        monitor.iteration_done(n_iter, lower_bound, change)
        if abs(change) < tol:
            converged = True
            break
    return EMResult(params, np.asarray(lower_bounds), converged, len(lower_bounds))


def _valid_stop(params: MixtureParams, stats: Stats, previous_bound: float) -> bool:
    """Whether EM may stop at ``params`` when the M-step after them fails.

    They must be usable (every parameter and precision finite) and an EM iterate worth
    keeping: their log-likelihood finite and not below the previous one (EM never lowers
    it; when rounding has, the path is no longer EM's and the fit fails instead).
    """
    bound = stats.mean_log_likelihood
    with np.errstate(all="ignore"):
        precisions_finite = bool(np.all(np.isfinite(params.covariance.precisions)))
    return (
        params.is_finite()
        and precisions_finite
        and np.isfinite(bound)
        and bound >= previous_bound - 1e-9 * (1.0 + abs(previous_bound))
    )


#: An `EMResult` or a subclass carrying more of the run's state.
ResultT = TypeVar("ResultT", bound="EMResult")


def best_of_restarts(n_init: int, run: Callable[[int], ResultT]) -> ResultT:
    """Run ``run(i)`` for ``i < n_init`` and keep the result with the highest lower bound.

    A run that stopped at a collapse (``collapse`` set) is kept only if every run did.
    Ties keep the earliest run.
    """

    def rank(result: ResultT) -> tuple[bool, float]:
        return result.collapse is None, result.lower_bound

    best: ResultT | None = None
    for run_index in range(n_init):
        result = run(run_index)
        if best is None or rank(result) > rank(best):
            best = result
    assert best is not None
    return best
