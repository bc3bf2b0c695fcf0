"""One `GaussianMixture` fit as a plan: what it decided before EM, and how each run goes.

``GaussianMixture._fit_source`` validates the parameters against the data, then builds
a `FitPlan`: the covariance model, the M-step (maximum likelihood or the posterior mode
under a prior), the E-step over the data source, the initialisation rows, the
user-given starting parameters, the noise component's start and whether the fit
continues the previous one. ``plan.run(run_index)`` is one EM run from a fresh start
(or from the previous fit); the estimator keeps the best of ``n_init`` of them.

The plan reads the estimator's parameters and never writes to it: what a fit stores
is decided by the estimator once the best run is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.core.candidates import LikelihoodJudge, partition_start
from ..engine.core.compiled_em import (
    can_run_compiled,
    compiled_e_step,
    run_em_compiled_first,
)
from ..engine.core.em import EMMonitor, EMResult, run_em
from ..engine.core.estep import statistics_about_data_mean
from ..engine.core.initialization import initial_responsibilities
from ..engine.core.noise import noise_m_step
from ..engine.core.params import MixtureParams
from ..engine.core.stats import Stats
from ..engine.covariance.models import CovarianceModel
from ._noise import NoiseStart, with_noise
from ._scale import MinibatchRunner

__all__ = ["FitRun", "FitPlan", "compiled_rows"]


@dataclass(frozen=True, eq=False)
class FitRun(EMResult):
    """An EM run and the online-EM state it ended in.

    Attributes
    ----------
    running : Stats or None
        The running statistics of a mini-batch run (None after full EM); a later
        ``partial_fit`` blends into them.
    n_steps : int
        Online EM steps the run took (0 for full EM).
    """

    running: Stats | None = None
    n_steps: int = 0


@dataclass(frozen=True, eq=False)
class FitPlan:
    """Everything one fit decided before its first EM iteration.

    Attributes
    ----------
    estimator : GaussianMixture
        Whose parameters (``init_params``, ``reg_covar``, ``tol``, ``max_iter``, ...)
        the runs use; read only.
    model : CovarianceModel
    m_step : callable
        ``m_step(stats, model, reg_covar, previous=None) -> MixtureParams``: maximum
        likelihood, or the posterior mode under the estimator's prior.
    e_step : callable
        ``e_step(params) -> Stats`` over all the training data.
    X, weights : ndarray
        The rows (and their weights) the initial responsibilities are drawn from.
    initial : dict
        User-given starting ``weights``, ``means`` and ``covariance``.
    random_state : numpy.random.RandomState
    labels : ndarray or None
        A component per row (-1 if unknown) for semi-supervised EM.
    noise : NoiseStart or None
        The noise component's start, None without one.
    warm : bool
        Whether the fit continues the previous one (``warm_start``).
    monitor : EMMonitor or None
        Progress printer (``verbose``).
    minibatch : MinibatchRunner or None
        Runs mini-batch EM; None for full EM.
    source : DataSource or None
        Every training row: ``"best-of-kmeans"`` scores its finalists on it.
    compiled_rows : (X, sample_weight) or None
        Every training row, when the EM loop may run compiled (see `compiled_rows`).
    """

    estimator: Any
    model: CovarianceModel
    m_step: Callable[..., MixtureParams]
    e_step: Callable[[MixtureParams], Stats]
    X: np.ndarray
    weights: np.ndarray
    initial: dict
    random_state: np.random.RandomState
    labels: np.ndarray | None
    noise: NoiseStart | None
    warm: bool
    monitor: EMMonitor | None
    minibatch: MinibatchRunner | None
    source: Any = None
    compiled_rows: tuple[np.ndarray, np.ndarray] | None = None

    def run(self, run_index: int) -> FitRun:
        """One EM run (full or mini-batch) from `start`; ``run_index`` counts restarts."""
        start = self.start()
        if self.minibatch is not None:
            result, running, n_steps = self.minibatch(start, self.monitor)
            return _as_fit_run(result, running, n_steps)
        estimator = self.estimator
        if self.compiled_rows is not None and self.model.compiled_constraint:
            compiled = run_em_compiled_first(
                start,
                self.compiled_rows,
                self.model,
                self.e_step,
                self.update,
                reg_covar=estimator.reg_covar,
                tol=estimator.tol,
                max_iter=estimator.max_iter,
                lower_bound=estimator.lower_bound_ if self.warm else -np.inf,
                monitor=self.monitor,
            )
            return _as_fit_run(compiled)
        e_step = self.e_step
        if self.compiled_rows is not None:
            e_step = compiled_e_step(self.compiled_rows, self.model.scatter, self.e_step)
        result = run_em(
            start,
            e_step,
            self.update,
            tol=estimator.tol,
            max_iter=estimator.max_iter,
            lower_bound=estimator.lower_bound_ if self.warm else -np.inf,
            monitor=self.monitor,
        )
        return _as_fit_run(result)

    def update(self, stats: Stats, params: MixtureParams) -> MixtureParams:
        """The M-step of an EM iteration; a noise component keeps its share."""
        gaussian = self.m_step(stats, self.model, self.estimator.reg_covar, params.covariance)
        if params.noise is None:
            return gaussian
        return noise_m_step(stats, gaussian, params.noise)

    def start(self) -> MixtureParams:
        """Where a run starts: the previous fit when warm, else fresh initial parameters."""
        if self.warm:
            return self.estimator._params
        return self.initial_params(self.X, self.weights, self.labels, self.noise)

    def initial_params(
        self,
        X: np.ndarray,
        weights: np.ndarray,
        labels: np.ndarray | None = None,
        noise: NoiseStart | None = None,
    ) -> MixtureParams:
        """Parameters from the initial responsibilities, overridden by user-given ones.

        With a noise component (``noise``), the Gaussians start from the rows outside
        the initial noise and share their weight with it.
        """
        if noise is not None:
            gaussian_rows = ~noise.mask
            params = self.initial_params(X[gaussian_rows], weights[gaussian_rows])
            return with_noise(params, noise, weights)
        initial = self.initial
        if labels is None and initial.keys() >= {"weights", "means", "covariance"}:
            # Every parameter is given: initial responsibilities (n x K) would be discarded.
            return MixtureParams(**initial)
        estimator = self.estimator
        judge = LikelihoodJudge(
            partition_start(self.m_step, self.model, estimator.reg_covar),
            self.source if estimator.missing != "marginalize" else None,  # NaN: sample only
        )
        resp = initial_responsibilities(
            estimator.init_params, X, weights, estimator.n_components, self.random_state, judge
        )
        resp = estimator._seeded_responsibilities(resp, labels)
        stats = statistics_about_data_mean(X, weights, resp, self.model.scatter)
        params = self.m_step(stats, self.model, estimator.reg_covar)
        return MixtureParams(
            weights=initial.get("weights", params.weights),
            means=initial.get("means", params.means),
            covariance=initial.get("covariance", params.covariance),
        )


def compiled_rows(
    data, model: CovarianceModel, n_components: int, *, plain_em: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The training rows when a fit's EM iterations may run compiled, else None.

    Then the whole loop runs compiled if ``model.compiled_constraint``, else the E-steps.

    Parameters
    ----------
    data : DataSource
    model : CovarianceModel
    n_components : int
    plain_em : bool
        Whether the fit is plain maximum-likelihood EM over every row: no prior, no
        noise component, no labels, no missing values to marginalise, no mini-batches.
        The compiled loop implements nothing else.
    """
    rows = data.in_memory() if plain_em else None
    if rows is None or not can_run_compiled(rows[0], n_components):
        return None
    return rows


def _as_fit_run(result: EMResult, running: Stats | None = None, n_steps: int = 0) -> FitRun:
    return FitRun(
        params=result.params,
        lower_bounds=result.lower_bounds,
        converged=result.converged,
        n_iter=result.n_iter,
        collapse=result.collapse,
        running=running,
        n_steps=n_steps,
    )
