"""One cell of a selection sweep: fit one (K, covariance model) and record what happened.

Failure is data: a cell that cannot be fitted (singular covariance, too few rows, an
emptied component) comes back with NaN values and the reason, and the sweep goes on.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..engine.core import criteria
from ..engine.core.estep import statistics_about_data_mean
from ..engine.core.mstep import m_step
from ..engine.covariance.forms import FullForm, SingularCovarianceError
from ..engine.covariance.models import get_covariance_model
from ..estimators import GaussianMixture
from ._sweep_data import CriteriaTerms, SweepData

__all__ = ["Cell", "fit_cell"]

#: Status of a cell: converged, stopped at max_iter, failed (the value is NaN), or
#: degenerate (fitted, but a component collapsed: see `gaussmix.engine.core.degeneracy`).
CONVERGED, MAX_ITER, FAILED = "converged", "max_iter", "failed"
DEGENERATE = "degenerate"


@dataclass
class Cell:
    """What one fit of the sweep produced.

    Attributes
    ----------
    n_components, covariance_type : int, str
        The cell's coordinates.
    status : str
        ``"converged"``, ``"max_iter"``, ``"failed"`` or ``"degenerate"``.
    reason : str
        Why the cell failed or is degenerate; for a fit whose EM ran into a singular
        covariance and was replayed with mclust's stopping rule (see
        `_stopped_before_singularity`), how it stopped; empty otherwise.
    log_likelihood, bic, aic, icl : float
        Total (weighted) log-likelihood and the criteria, lower is better; NaN if failed.
    n_parameters : int
        Free parameters as mclust counts them.
    cluster_sizes : ndarray of shape (n_components,) or None
        Rows assigned to each component by the fitted model (None if failed).
    noise_size : int or None
        Rows assigned to the noise component (None without one).
    estimator : GaussianMixture or None
        The fitted model (None if failed).
    """

    n_components: int
    covariance_type: str
    n_parameters: int
    status: str = FAILED
    reason: str = ""
    log_likelihood: float = np.nan
    bic: float = np.nan
    aic: float = np.nan
    icl: float = np.nan
    cluster_sizes: np.ndarray | None = field(default=None, repr=False)
    noise_size: int | None = None
    estimator: GaussianMixture | None = field(default=None, repr=False)


def _initial_from_labels(X, sample_weight, labels, n_components, covariance_type, reg_covar):
    """``weights_init``, ``means_init``, ``precisions_init`` from a hard partition.

    The first M-step of EM started from the partition's one-hot responsibilities, as
    mclust starts ``me`` from a hierarchical classification. Rows labelled -1 (initial
    noise) take no part.
    """
    model = get_covariance_model(covariance_type)
    labelled = labels >= 0
    X, sample_weight, labels = X[labelled], sample_weight[labelled], labels[labelled]
    resp = np.zeros((X.shape[0], n_components))
    resp[np.arange(X.shape[0]), labels] = 1.0
    stats = statistics_about_data_mean(X, sample_weight, resp, model.scatter)
    params = m_step(stats, model, reg_covar)
    dense = FullForm.from_covariances(params.covariance.dense_covariances(n_components, X.shape[1]))
    return {
        "weights_init": params.weights / params.weights.sum(),
        "means_init": params.means,
        "precisions_init": dense.precisions,
    }


def fit_cell(
    data: SweepData,
    n_components,
    covariance_type,
    labels,
    estimator_params,
    shared: dict | None = None,
) -> Cell:
    """Fit one cell; never raises for a fit that fails, records it instead.

    Parameters
    ----------
    data : SweepData
        What the cell fits (an array as the user gave it, or a data source), and the
        complete rows its start is computed from.
    n_components : int
    covariance_type : str
        An mclust code.
    labels : ndarray of shape (n_start_rows,) or None
        Initial hard partition of ``data.start_rows`` (from the hierarchical tree); None
        lets the estimator's ``init_params`` choose.
    estimator_params : dict
        Further `GaussianMixture` parameters.
    shared : dict, optional
        The fits from the partitions' starts that the cells of one sweep (the same
        data, partitions and ``estimator_params``) have made so far, by (K, model): an
        EVE or VVE cell also starts from other models' fits (`EXTRA_STARTS`), which are
        those models' own cells' first fits, made once when the cells share this dict.
    """
    model = get_covariance_model(covariance_type)
    cell = Cell(
        n_components,
        covariance_type,
        n_parameters=model.n_parameters(n_components, data.n_features),
    )
    params = dict(estimator_params)
    n_weighted = int(np.count_nonzero(data.start_weights))
    if n_weighted <= n_components:
        cell.reason = f"too few rows ({n_weighted}) for {n_components} components"
        return cell
    try:
        if labels is not None:
            if np.unique(labels[labels >= 0]).size < n_components:
                cell.reason = "the initial partition has fewer clusters than components"
                return cell
            # The partition's M-step gives every initial parameter; the estimator's own
            # initialiser is then overridden: make it the cheapest one that is never singular.
            params["init_params"] = "random"
            params.update(
                _initial_from_labels(
                    data.start_rows,
                    data.start_weights,
                    labels,
                    n_components,
                    covariance_type,
                    params.get("reg_covar", 1e-6),
                )
            )
        estimator, terms, converged, note = _best_of_starts(
            data, n_components, covariance_type, params, labels, shared
        )
        cell.reason = note
        if not np.isfinite(terms.log_likelihood):
            cell.reason = "the log-likelihood is not finite (a component collapsed)"
            return cell
        if estimator.collapse_reason_ is not None:  # EM stopped before a singular M-step
            cell.reason = _short_reason(SingularCovarianceError(estimator.collapse_reason_))
            return cell
    except (SingularCovarianceError, ValueError, np.linalg.LinAlgError) as exc:
        cell.reason = _short_reason(exc)
        return cell
    n_samples, n_parameters = data.total_weight, estimator.n_parameters_
    cell.n_parameters = n_parameters  # one more with a noise component
    cell.bic = criteria.bic(terms.log_likelihood, n_parameters, n_samples)
    cell.aic = criteria.aic(terms.log_likelihood, n_parameters)
    cell.icl = cell.bic + terms.classification_penalty
    cell.log_likelihood = terms.log_likelihood
    # Rows of the Gaussian clusters (a noise component's column, if any, is left out).
    all_sizes = terms.cluster_sizes
    cell.cluster_sizes = all_sizes[:n_components]
    cell.noise_size = int(all_sizes[n_components]) if all_sizes.size > n_components else None
    cell.estimator = estimator
    cell.status = CONVERGED if converged else MAX_ITER
    degeneracy = getattr(estimator, "_degeneracy_reason", None)
    if degeneracy is not None:
        cell.status, cell.reason = DEGENERATE, degeneracy
    return cell


#: Models with one orientation shared by every component (EVE, VVE): from the
#: hierarchical start, their EM can end in a worse optimum than mclust's from the same
#: start (gaussmix's M-step finds a better orientation at first, which can lead EM into
#: another basin; a better M-step does not help, the basins are EM's). Their cells also
#: start from the responsibilities of these models' fits from the same partition, and
#: keep the best log-likelihood. VVE's come from its neighbours with equal volumes, EVE
#: (one orientation) and EVV (one per component), and from VEV: on the eight mclust
#: reference data sets each of the three is the only start that reaches mclust's
#: optimum in one cell (EVV diabetes VVE,8; EVE chevron VVE,8; VEV USArrests VVE,6).
EXTRA_STARTS = {"EVE": ("VEV", "VVI"), "VVE": ("VEV", "EVE", "EVV")}


def _best_of_starts(data: SweepData, n_components, covariance_type, params, labels, shared=None):
    """`_fit_from` the cell's start and, for `EXTRA_STARTS` models, from the others.

    Returns the best fit by log-likelihood; raises the first start's error if no
    start can be fitted. ``shared``: see `fit_cell`.
    """
    helpers = EXTRA_STARTS.get(covariance_type, ())
    if labels is None or not data.in_memory or params.get("noise", False) is not False:
        helpers, shared = (), None  # no cell starts from another's fit
    if shared:
        # Cells share fits with the same K only: those of a K done before are let go.
        for done in [key for key in shared if key[0] != n_components]:
            del shared[done]
    key = (n_components, covariance_type)
    own = _made_once(
        shared if covariance_type in _HELPERS else None,
        key,
        lambda: _plain_fit(data, n_components, covariance_type, params),
    )
    try:
        best = _fit_from(data, n_components, covariance_type, params, labels, own)
    except (SingularCovarianceError, ValueError, np.linalg.LinAlgError) as exc:
        best, error = None, exc
    if shared is not None and key in shared:
        # The other cells read only the estimator; the training data (a converted copy
        # of a DataFrame, the weights) need not stay alive for the rest of the sweep.
        shared[key] = replace(own, source=None)
    for helper in helpers:
        try:
            start = _start_from_model(
                data, n_components, covariance_type, helper, params, labels, shared
            )
            candidate = _fit_from(data, n_components, covariance_type, start, labels)
        except (SingularCovarianceError, ValueError, np.linalg.LinAlgError):
            continue
        if best is None or candidate[1].log_likelihood > best[1].log_likelihood + 1e-9:
            best = candidate
    if best is None:
        raise error
    return best


@dataclass(frozen=True)
class _PlainFit:
    """One start fitted as ``GaussianMixture.fit`` fits it, not yet judged.

    Attributes
    ----------
    estimator : GaussianMixture or None
        The fitted estimator (None if the fit raised); its degeneracy is not checked.
    source : DataSource or None
        The training data as the fit read them.
    error : Exception or None
        What the fit raised.
    convergence_warnings : tuple of warnings.WarningMessage
        The ConvergenceWarnings the fit gave.
    """

    estimator: GaussianMixture | None
    source: Any
    error: Exception | None
    convergence_warnings: tuple = ()


def _plain_fit(data: SweepData, n_components, covariance_type, params) -> _PlainFit:
    """Fit one start; a fit that raises a singular covariance is recorded, not raised."""
    estimator = GaussianMixture(
        n_components=n_components, covariance_type=covariance_type, **params
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        with np.errstate(all="ignore"):
            try:
                source = estimator._fit(
                    data.fit_input, data.fit_weight, estimator.batch_size, check_degeneracy=False
                )
            except (SingularCovarianceError, ValueError, np.linalg.LinAlgError) as exc:
                return _PlainFit(None, None, _without_frames(exc))
    convergence = tuple(w for w in caught if issubclass(w.category, ConvergenceWarning))
    return _PlainFit(estimator, source, None, convergence)


def _without_frames(exc: Exception) -> Exception:
    """``exc`` and the exceptions it was raised from, with no tracebacks: kept for other
    cells, an error must not keep the failed fit's frames (and arrays) alive."""
    chained: BaseException | None = exc
    while chained is not None:
        chained.with_traceback(None)
        chained = chained.__cause__ or chained.__context__
    return exc


#: The models whose cells' first fits other cells start from.
_HELPERS = frozenset(helper for helpers in EXTRA_STARTS.values() for helper in helpers)


def _made_once(shared: dict | None, key, make: Callable[[], _PlainFit]) -> _PlainFit:
    """``make()``, or what it made for ``key`` before when ``shared`` keeps the sweep's fits."""
    if shared is None:
        return make()
    if key not in shared:
        shared[key] = make()
    return shared[key]


def _start_from_model(
    data: SweepData, n_components, covariance_type, helper, params, labels, shared=None
):
    """Initial parameters of ``covariance_type`` from a ``helper`` model's fit's responsibilities.

    The helper's fit is its own cell's first fit (from the same partition, with the
    same parameters), taken from ``shared`` if that cell or another has made it.
    """
    reg_covar = params.get("reg_covar", 1e-6)

    def helper_fit() -> _PlainFit:
        helper_params = {
            **params,
            **_initial_from_labels(
                data.start_rows, data.start_weights, labels, n_components, helper, reg_covar
            ),
        }
        return _plain_fit(data, n_components, helper, helper_params)

    fitted = _made_once(shared, (n_components, helper), helper_fit)
    if fitted.error is not None or fitted.estimator is None:
        raise fitted.error or RuntimeError(f"the {helper} fit left no estimator")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            resp = fitted.estimator.predict_proba(data.fit_input)[:, :n_components]
    model = get_covariance_model(covariance_type)
    stats = statistics_about_data_mean(data.start_rows, data.start_weights, resp, model.scatter)
    start = m_step(stats, model, reg_covar)
    dense = FullForm.from_covariances(
        start.covariance.dense_covariances(n_components, data.n_features)
    )
    return {
        **params,
        "weights_init": start.weights / start.weights.sum(),
        "means_init": start.means,
        "precisions_init": dense.precisions,
    }


def _fit_from(data: SweepData, n_components, covariance_type, params, labels, fitted=None):
    """Fit one start; returns (estimator, criteria terms, converged, note).

    ``fitted``: the start's `_plain_fit`, if already made.
    """
    if fitted is None:
        fitted = _plain_fit(data, n_components, covariance_type, params)
    estimator, replayed = fitted.estimator, False
    note = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        caught.extend(fitted.convergence_warnings)
        with np.errstate(all="ignore"):
            try:
                if fitted.error is not None:
                    raise fitted.error
                if estimator.collapse_reason_ is not None and labels is not None:
                    # EM stopped before a singular M-step (kept its last valid iterate).
                    raise SingularCovarianceError(estimator.collapse_reason_)
            except (SingularCovarianceError, ValueError, np.linalg.LinAlgError):
                if labels is None:
                    raise
                # EM left a valid start and ran into a singular covariance.
                estimator, note = _stopped_before_singularity(
                    data, n_components, covariance_type, params
                )
                replayed = True
                # Each single step "did not converge": judge the replay as a whole.
                caught[:] = [w for w in caught if w.category is not ConvergenceWarning]
                if not note.startswith(_STOPPED_BY_MCLUST_RULE):
                    caught.append(_NOT_CONVERGED)
            # The criteria as GaussianMixture.bic/aic/icl define them, from one pass
            # that gives the densities and the responsibilities.
            if replayed:  # the replay has checked its fit for degeneracy
                terms = data.criteria_terms(estimator)
            else:
                terms = _terms_and_degeneracy(data, estimator, fitted.source)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return estimator, terms, converged, note


def _terms_and_degeneracy(data: SweepData, estimator, source) -> CriteriaTerms:
    """`SweepData.criteria_terms`, and the fit's degeneracy recorded: from one pass over
    the rows when they are an in-memory array (the distinct-row rule reads the
    responsibilities the criteria need)."""
    rows = getattr(source, "X", None)
    if data.in_memory and type(rows) is np.ndarray:
        terms, resp = data.terms_from_fitted_rows(estimator, rows)
        estimator._record_degeneracy(source, resp)
    else:
        terms = data.criteria_terms(estimator)
        estimator._record_degeneracy(source)
    return terms


#: mclust's convergence rule: relative change of the total log-likelihood below this.
MCLUST_RELATIVE_TOL = 1e-5
_STOPPED_BY_MCLUST_RULE = "stopped by mclust's relative tolerance"
_NOT_CONVERGED = warnings.WarningMessage("reached max_iter", ConvergenceWarning, __file__, 0)


def _stopped_before_singularity(data: SweepData, n_components, covariance_type, params):
    """Replay EM one iteration at a time and stop where mclust's rule would.

    The sweep's tolerance (on the mean log-likelihood per row) is tighter than mclust's
    (``|change| <= 1e-5 (1 + |log L|)`` on the total) and can carry EM on, from the very
    start mclust uses, into a component collapsing onto a few rows, where mclust had
    stopped with a finite fit. This replays EM step by step and returns the fit at the
    first iteration mclust's rule accepts. If EM meets the singular covariance before
    that, mclust too reports NA, and so does the cell.

    Returns
    -------
    estimator : GaussianMixture
    note : str
        How EM stopped.

    Raises
    ------
    SingularCovarianceError or ValueError
        If EM meets a singular covariance before mclust's rule stops it.
    """
    stepper = GaussianMixture(
        n_components=n_components,
        covariance_type=covariance_type,
        **{**params, "max_iter": 1, "warm_start": True},
    )
    # Each step is what another stepper.fit(...) computes, without validating the data
    # and planning the fit again (which cost more than the iteration itself).
    steps = stepper._warm_refits(data.fit_input, sample_weight=data.fit_weight)
    source = next(steps)
    previous = stepper.lower_bound_ * data.total_weight
    note = "reached max_iter"
    for iteration in range(2, int(params.get("max_iter", 100)) + 1):
        try:
            next(steps)
            if stepper.collapse_reason_ is not None:  # the step's M-step was singular
                raise SingularCovarianceError(stepper.collapse_reason_)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise SingularCovarianceError(
                f"EM ran into a singular covariance at iteration {iteration}, before "
                f"mclust's tolerance would stop it ({_short_reason(exc)})"
            ) from exc
        current = stepper.lower_bound_ * data.total_weight
        if abs(current - previous) <= MCLUST_RELATIVE_TOL * (1.0 + abs(current)):
            note = f"{_STOPPED_BY_MCLUST_RULE} at iteration {iteration}"
            break
        previous = current
    stepper._record_degeneracy(source)
    return stepper, note


def _short_reason(exc: Exception) -> str:
    """One reason per kind of failure, short enough for a summary line (the same text
    for every cell that failed the same way, so that a summary can group them)."""
    message = str(exc)
    if "single point or a flat set" in message:
        return (
            "a component holds its weight on (almost) a single point or a flat set; use "
            "fewer components or a larger reg_covar"
        )
    if any(
        sign in message.lower()
        for sign in ("not positive definite", "singular", "ill-defined empirical covariance")
    ):
        return "singular covariance (a component collapsed); increase reg_covar or use fewer components"
    return re.split(r"(?<!e\.g)(?<!i\.e)\. ", message)[0]
