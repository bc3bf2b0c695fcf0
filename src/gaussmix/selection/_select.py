"""`select_model`: fit every (number of components, covariance model) and rank them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..checks.parameters import validate_parameters
from ..engine.core.hierarchical import hierarchical_partitions
from ..engine.core.initialization import INITIALIZERS
from ..engine.core.noise import initial_noise_mask
from ..engine.covariance.models import (
    MODELS,
    canonical_name,
    model_order,
    models_for_features,
)
from ..estimators import GaussianMixture
from ._cells import fit_cell
from ._result import ModelSelectionResult
from ._sweep_data import sweep_data

__all__ = ["select_model", "CRITERIA", "CellDone"]


#: Criteria `select_model` can rank by (all lower-is-better).
CRITERIA = ("bic", "aic", "icl")

#: EM settings of a sweep unless the caller overrides them: tighter than a single
#: fit's defaults so that log-likelihoods compare with mclust's to two decimals.
SWEEP_DEFAULTS = {"tol": 1e-5, "max_iter": 1000}


@dataclass(frozen=True)
class CellDone:
    """What `select_model` tells its ``progress`` callback after each fitted cell.

    Attributes
    ----------
    n_done, n_total : int
        Cells finished so far (this one included) and cells in the sweep.
    n_components : int
    covariance_type : str
        The cell just finished (an mclust code).
    status : str
        ``"converged"``, ``"max_iter"``, ``"failed"`` or ``"degenerate"``.
    """

    n_done: int
    n_total: int
    n_components: int
    covariance_type: str
    status: str


def _checked_components(n_components) -> list[int]:
    values: list[Any] = [n_components] if np.isscalar(n_components) else list(n_components)
    if not values or not all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in values
    ):
        raise ValueError(
            f"n_components must be a positive integer or an iterable of them, got "
            f"{n_components!r}. Use e.g. n_components=range(1, 10)."
        )
    return sorted(set(int(k) for k in values))


def _checked_models(covariance_types) -> list[str]:
    if isinstance(covariance_types, str):
        if covariance_types == "all":
            return list(MODELS)
        covariance_types = [covariance_types]
    names = [canonical_name(name) for name in covariance_types]
    if not names:
        raise ValueError('covariance_types is empty. Use "all" or a list such as ["VVV", "EEE"].')
    return [name for name in model_order() if name in names]


def _seed(random_state) -> int | None:
    """One integer seed for every cell, so that the table does not depend on n_jobs."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def select_model(
    X,
    n_components=range(1, 10),
    covariance_types="all",
    criterion: str = "bic",
    *,
    init_params: str = "hierarchical",
    n_jobs: int | None = None,
    random_state=None,
    sample_weight=None,
    hierarchical_max_rows: int = 2000,
    progress: Callable[[CellDone], object] | None = None,
    allow_degenerate: bool = False,
    **estimator_params,
) -> ModelSelectionResult:
    """Fit Gaussian mixtures over numbers of components and covariance models; pick the best.

    The Python counterpart of mclust's ``Mclust``/``mclustBIC``: every combination of
    ``n_components`` and ``covariance_types`` is fitted by EM, scored by ``criterion``
    (lower is better), and the best fitted model is returned as ``best_estimator_``.
    Cells that cannot be fitted are NaN in the table with the reason in ``errors_``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a data source
        The data; a DataFrame's column names are kept by the fitted estimators. A data
        source (`ParquetSource`, a memory map wrapped in a source, a
        ``StandardizedSource``) is never loaded: each cell's EM reads it in chunks, the
        hierarchical tree is grown on its bounded initialisation sample, and the
        criteria are sums over its chunks (``sample_weight`` must then be None: name a
        weight column in the source).
    n_components : int or iterable of int, default=range(1, 10)
        Numbers of components to try.
    covariance_types : "all", str or list of str, default="all"
        mclust codes (``"VVV"``, ``"EEI"``, ...) or scikit-learn aliases; ``"all"`` tries
        the fourteen models in mclust's order. On data with one feature, as in mclust,
        only the univariate ``"E"`` (equal variance) and ``"V"`` (varying variance)
        exist: each code becomes the one with its volume letter, and the tables,
        summary and names say ``"E"`` and ``"V"``.
    criterion : {"bic", "aic", "icl"}, default="bic"
        What ``table_`` holds and the ranking uses; all three are computed.
    init_params : str, default="hierarchical"
        ``"hierarchical"`` grows one model-based agglomerative tree (VVV criterion on
        SVD-scaled data, as mclust) and starts each K from its cut at K; any other
        `GaussianMixture` ``init_params`` value is used per fit.
    n_jobs : int, default=None
        Fits run in parallel with joblib when set (-1: all cores). The table does not
        depend on it. Each fit uses one BLAS thread.
    random_state : int, RandomState or None, default=None
        Seed of every fit; the same seed gives the same table.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights, used by every EM fit and criterion (n is their sum).
        The hierarchical tree is grown on the rows with positive weight, unweighted.
    hierarchical_max_rows : int, default=2000
        Above this many rows the hierarchical tree is grown on a random subset.
    progress : callable, default=None
        Called as ``progress(event)`` with a `CellDone` after each cell, in the order
        of the table (K, then model), e.g. to drive a progress bar. It runs in the
        calling thread; an exception it raises stops the sweep.
    allow_degenerate : bool, default=False
        Degenerate cells (a component collapsed onto tied values, fewer distinct rows
        than the model needs, or as many parameters as data values; see
        ``docs/model-selection.md``) are marked ``"degenerate"`` in ``status_table_``,
        listed in ``degenerate_`` and shown as NaN (mclust's NA). True keeps their
        values and lets one be the best.
    **estimator_params
        Further `GaussianMixture` parameters (``reg_covar``, ``tol``, ``max_iter``, ...).
        Unless given, ``tol=1e-5`` and ``max_iter=1000``. With ``missing="marginalize"``
        X may hold NaN: every cell's EM marginalises them, and the hierarchical tree
        (and each cell's starting partition) is built on X with each NaN replaced by its
        column's mean. With ``noise=True`` (or a boolean mask) every cell has a uniform
        noise component; the initial noise rows are found once, and the hierarchical
        tree is grown on the other rows (see ``docs/model-selection.md``).

    Returns
    -------
    result : ModelSelectionResult
        ``table_``, ``best_params_``, ``best_estimator_``, ``summary()``, ``plot()``, ...

    Raises
    ------
    ValueError
        If an argument is invalid, or if no cell at all could be fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from gaussmix import select_model
    >>> result = select_model(load_iris().data, n_components=[1, 2, 3],
    ...                       covariance_types=["VEV", "VVV"], random_state=0)
    >>> result.best_params_["covariance_type"]
    'VEV'
    """
    components, models = _checked_sweep(
        criterion, n_components, covariance_types, init_params, progress, estimator_params
    )
    seed = _seed(random_state)
    marginalize = estimator_params.get("missing", "error") == "marginalize"
    data = sweep_data(X, sample_weight, marginalize=marginalize, random_state=seed)
    models = models_for_features(models, data.n_features)  # one feature: mclust's E and V
    params = _cell_parameters(estimator_params, seed)
    noise_mask = _initial_noise_rows(data, params)
    if noise_mask is not None:
        params["noise"] = noise_mask
    if init_params != "hierarchical":
        params["init_params"] = init_params
    partitions = _starting_partitions(
        data, components, init_params, noise_mask, hierarchical_max_rows, seed
    )
    cells = _fitted_cells(data, components, models, partitions, params, n_jobs, progress)
    return ModelSelectionResult.from_cells(
        cells,
        criterion=criterion,
        n_samples=data.total_weight,
        n_features=data.n_features,
        allow_degenerate=bool(allow_degenerate),
    )


#: `GaussianMixture` parameters that the sweep sets per cell (the caller may not pass them).
_CHOSEN_PER_CELL = (
    "n_components",
    "covariance_type",
    "weights_init",
    "means_init",
    "precisions_init",
)


def _checked_sweep(
    criterion, n_components, covariance_types, init_params, progress, estimator_params
) -> tuple[list[int], list[str]]:
    """Validate `select_model`'s own arguments; return the sweep's K values and models.

    Raises
    ------
    ValueError, TypeError
        For the first invalid argument, in the order of the signature.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}.")
    components = _checked_components(n_components)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable or None, got {progress!r}.")
    models = _checked_models(covariance_types)
    if init_params not in INITIALIZERS:
        raise ValueError(f"init_params must be one of {sorted(INITIALIZERS)}, got {init_params!r}.")
    for name in _CHOSEN_PER_CELL:
        if name in estimator_params:
            raise TypeError(f"select_model chooses {name} itself; remove it from the arguments.")
    return components, models


def _cell_parameters(estimator_params: dict, seed: int | None) -> dict:
    """The `GaussianMixture` parameters every cell shares: `SWEEP_DEFAULTS`, then the caller's.

    Bad estimator parameters are the caller's error, not a failed cell: they are
    refused here, before any fit.
    """
    params = {**SWEEP_DEFAULTS, **estimator_params, "random_state": seed}
    template = GaussianMixture(**params)
    validate_parameters(template.get_params(deep=False), GaussianMixture._rules)
    return params


def _initial_noise_rows(data, params: dict) -> np.ndarray | None:
    """The rows every cell's noise component starts from (None without a noise component).

    With a noise component every cell starts from the same initial noise rows, found
    once, as mclust does.
    """
    noise = params.get("noise", False)
    if not data.in_memory and noise is not False:
        raise ValueError(
            "select_model cannot add a noise component to a data source read in chunks; "
            "fit in memory, or leave noise out."
        )
    return initial_noise_mask(noise, data.start_rows)


def _starting_partitions(
    data, components, init_params, noise_mask, max_rows: int, seed
) -> dict[int, np.ndarray | None]:
    """Each K's starting labels: cuts of one hierarchical tree, or None (the cell initialises).

    The tree is grown on the rows outside the initial noise; noise rows get label -1.
    """
    if init_params != "hierarchical":
        return {k: None for k in components}
    rows = slice(None) if noise_mask is None else ~noise_mask
    partitions = hierarchical_partitions(
        data.start_rows[rows],
        data.start_weights[rows],
        components,
        max_rows=max_rows,
        random_state=seed,
    )
    if noise_mask is None:
        return partitions
    return {k: _with_noise_rows(labels, noise_mask) for k, labels in partitions.items()}


def _fitted_cells(data, components, models, partitions, params, n_jobs, progress) -> list:
    """Fit every (K, model) cell, in table order, telling ``progress`` about each one.

    Each fit works on d x d matrices and (n x K) arrays: BLAS threads only contend
    (badly so on a loaded machine). Parallelism is across cells, by joblib. Cells
    fitted in this process share their first fits (an EVE or VVE cell also starts from
    other models' fits, see `fit_cell`); a worker process makes its own.
    """
    shared: dict = {}
    with threadpool_limits(limits=1, user_api="blas"):
        finished = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(fit_cell)(data, k, name, partitions[k], params, shared)
            for k in components
            for name in models
        )
        return _reported(finished, len(components) * len(models), progress)


def _with_noise_rows(labels, noise_mask):
    """Labels of the non-noise rows spread over all rows, -1 on the noise rows."""
    if labels is None:
        return None
    full = np.full(noise_mask.shape[0], -1, dtype=np.int64)
    full[~noise_mask] = labels
    return full


def _reported(finished, n_total: int, progress) -> list:
    """Collect the cells as they finish, telling ``progress`` about each one."""
    cells = []
    for cell in finished:
        cells.append(cell)
        if progress is not None:
            progress(
                CellDone(len(cells), n_total, cell.n_components, cell.covariance_type, cell.status)
            )
    return cells
