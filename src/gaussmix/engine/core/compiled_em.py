"""EM on a small in-memory table through the compiled kernels, the NumPy path after them.

`run_em_compiled_first` runs as many iterations as the compiled loop
(`gaussmix.engine.kernels`) can and continues with `run_em` from the parameters it
handed back, if it handed any back; the caller sees one `EMResult`, with the trace,
iteration count and progress events of a fit run wholly by `run_em` (to rounding; a fit
near a collapse or with an iterative M-step can end elsewhere, see `run_compiled_em`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..covariance.models import CovarianceModel
from ..covariance.scatter import FULL_SCATTER, Scatter
from ..kernels import (
    compiled_em_available,
    compiled_statistics,
    run_compiled_em,
    worth_compiling,
)
from .em import EMMonitor, EMResult, run_em
from .params import MixtureParams
from .stats import Stats

__all__ = ["can_run_compiled", "compiled_e_step", "run_em_compiled_first"]


def can_run_compiled(X: np.ndarray, n_components: int) -> bool:
    """Whether E-steps over the rows ``X`` may run compiled.

    The whole EM loop runs compiled when the model's M-step is compiled too
    (``model.compiled_constraint``); otherwise only the E-step is.

    Parameters
    ----------
    X : ndarray
        The training rows.
    n_components : int

    Returns
    -------
    bool
        True for float64 rows few enough for the compiled loops to beat NumPy's
        products, with the kernels available.
    """
    return (
        X.dtype == np.float64
        and X.ndim == 2
        and worth_compiling(X.shape[0], X.shape[1], n_components)
        and compiled_em_available()
    )


def compiled_e_step(
    rows: tuple[np.ndarray, np.ndarray],
    scatter: Scatter,
    numpy_e_step: Callable[[MixtureParams], Stats],
) -> Callable[[MixtureParams], Stats]:
    """``e_step(params) -> Stats`` over ``rows``, compiled (``numpy_e_step`` where it cannot be).

    The statistics are about the E-step's means. Parameters the compiled step refuses
    (a covariance that is not positive definite, a row of zero density) and parameters
    with a noise component go to ``numpy_e_step``, whose handling of them is the
    reference.

    Parameters
    ----------
    rows : (X, sample_weight)
        Every training row and its weight, in memory.
    scatter : Scatter
        Which second moments the model needs (full or diagonal).
    numpy_e_step : callable
        The NumPy path's E-step over the same rows.

    Returns
    -------
    callable
        ``e_step(params) -> Stats``.
    """
    X, sample_weight = rows
    full = scatter is FULL_SCATTER

    def e_step(params: MixtureParams) -> Stats:
        if params.noise is not None:
            return numpy_e_step(params)
        n_components, n_features = params.means.shape
        moments = compiled_statistics(
            X,
            sample_weight,
            params.weights,
            params.means,
            params.covariance.dense_covariances(n_components, n_features),
            full=full,
        )
        if moments is None:
            return numpy_e_step(params)
        return Stats(
            counts=moments.counts,
            first=moments.first,
            second=moments.second,
            shift=np.asarray(params.means, dtype=np.float64),
            log_likelihood=moments.log_likelihood,
            total_weight=moments.total_weight,
        )

    return e_step


def run_em_compiled_first(
    params: MixtureParams,
    rows: tuple[np.ndarray, np.ndarray],
    model: CovarianceModel,
    e_step: Callable[[MixtureParams], Stats],
    m_step: Callable[[Stats, MixtureParams], MixtureParams],
    *,
    reg_covar: float,
    tol: float,
    max_iter: int,
    lower_bound: float = -np.inf,
    monitor: EMMonitor | None = None,
) -> EMResult[MixtureParams]:
    """`run_em`'s result for a maximum-likelihood fit, computed compiled where it can be.

    Parameters
    ----------
    params : MixtureParams
        Starting parameters (no noise component).
    rows : (X, sample_weight)
        Every training row and its weight, in memory (`can_run_compiled` is True).
    model : CovarianceModel
        The covariance model; ``model.compiled_constraint`` names its compiled M-step,
        and iterative M-steps take ``model.inner_tol`` and ``model.inner_max_iter``.
    e_step, m_step : callable
        The NumPy path's steps, used from the first iteration the compiled loop hands
        back (see `run_em`).
    reg_covar, tol, max_iter, lower_bound, monitor
        As for `run_em`. The compiled iterations are reported to ``monitor`` after the
        compiled loop returns, all at once (their timing is not observable).

    Returns
    -------
    EMResult
        As `run_em` returns it: the compiled iterations and any run by `run_em` after a
        hand-back, counted and traced as one run.
    """
    X, sample_weight = rows
    n_components, n_features = params.means.shape
    if model.compiled_constraint is None:
        raise ValueError(f"The compiled kernels have no M-step for {model.name}.")
    compiled = run_compiled_em(
        X,
        sample_weight,
        params.weights,
        params.means,
        params.covariance.dense_covariances(n_components, n_features),
        model.compiled_constraint,
        reg_covar=reg_covar,
        tol=tol,
        max_iter=max_iter,
        lower_bound=lower_bound,
        inner_tol=model.inner_tol,
        inner_max_iter=model.inner_max_iter,
    )
    _replay(monitor, compiled.lower_bounds, lower_bound)
    n_compiled = len(compiled.lower_bounds)
    if n_compiled:
        params = MixtureParams(
            weights=compiled.weights,
            means=compiled.means,
            covariance=model.form.from_covariances(
                model.form.compact_from_dense(compiled.covariances)
            ),
        )
        lower_bound = float(compiled.lower_bounds[-1])
    if not compiled.handed_back:
        return EMResult(params, compiled.lower_bounds, compiled.converged, n_compiled)
    rest = run_em(
        params,
        e_step,
        m_step,
        tol=tol,
        max_iter=max_iter - n_compiled,
        lower_bound=lower_bound,
        monitor=_Offset(monitor, n_compiled) if monitor else None,
    )
    return EMResult(
        rest.params,
        np.concatenate([compiled.lower_bounds, rest.lower_bounds]),
        rest.converged,
        n_compiled + rest.n_iter,
        rest.collapse,
    )


def _replay(monitor: EMMonitor | None, lower_bounds: np.ndarray, lower_bound: float) -> None:
    """Report the compiled iterations to ``monitor`` as `run_em` would have."""
    if monitor is None:
        return
    for n_iter, bound in enumerate(lower_bounds, start=1):
        monitor.iteration_done(n_iter, float(bound), float(bound) - lower_bound)
        lower_bound = float(bound)


class _Offset(EMMonitor):
    """Passes iteration events on with the compiled iterations added to their count."""

    def __init__(self, monitor: EMMonitor, offset: int):
        self.monitor, self.offset = monitor, offset

    def iteration_done(self, n_iter: int, lower_bound: float, change: float) -> None:
        """Forward the event, counting from the start of the whole run."""
        self.monitor.iteration_done(n_iter + self.offset, lower_bound, change)
