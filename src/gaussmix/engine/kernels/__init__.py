"""Compiled kernels: whole EM fits of small in-memory tables without returning to Python.

The kernels are written once, with Numba (`em_loop`), and compiled on first use; the
machine code is cached on disk, so later processes load it instead. Everything here is
optional: when Numba is not installed, cannot be imported with this NumPy, or the
environment variable ``GAUSSMIX_COMPILED`` is ``0``, `compiled_em_available` is False and
every fit takes the NumPy path, which computes the same numbers to rounding (the parity
is tested; see `run_compiled_em` for where rounding can matter).

This package imports nothing else from gaussmix: it works on plain arrays.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CompiledRun",
    "ShiftedMoments",
    "compiled_statistics",
    "compiled_em_available",
    "constraint_codes",
    "run_compiled_em",
    "OrientationSearch",
    "compiled_shared_orientation",
    "worth_compiling",
]

#: ``GAUSSMIX_COMPILED=0`` turns the compiled kernels off (every fit uses NumPy).
ENVIRONMENT_SWITCH = "GAUSSMIX_COMPILED"

# Up to this much work per E-step (n K d^2) the compiled loops beat the NumPy path, whose
# BLAS products win on larger tables: measured per iteration (benchmarks/bench_compiled.py,
# docs/benchmarks-compiled.md) the compiled VVV loop was 17x faster at 150 x 4, K = 3
# (7,200) and 1.7x at 2,000 x 4, K = 3 (96,000); from about 240,000 on (5,000 x 4, K = 3)
# it was as often slower as faster.
_MAX_WORK = 150_000

_LETTER_CODES = {"I": 0, "E": 1, "V": 2}


@functools.cache
def _loaded_kernels():
    """The compiled module, or None when Numba is unavailable (imported once, lazily)."""
    try:
        from . import em_loop
    except ImportError:  # no Numba, or a Numba that does not support this NumPy
        return None
    except Exception as error:  # noqa: BLE001 - any failure only costs speed
        # Numba refuses at import when it finds no writable place for its cache
        # (RuntimeError "no locator available"); NUMBA_CACHE_DIR fixes that.
        warnings.warn(
            f"gaussmix's compiled kernels are off ({type(error).__name__}: {error}); fits "
            "use the NumPy path, which gives the same results more slowly. If Numba "
            "cannot write its cache, set NUMBA_CACHE_DIR to a writable folder.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return em_loop


@functools.cache
def _loaded_orientation_kernels():
    """The compiled shared-orientation module, or None when Numba is unavailable."""
    try:
        from . import shared_orientation
    except ImportError:  # no Numba, or a Numba that does not support this NumPy
        return None
    return shared_orientation


def compiled_em_available() -> bool:
    """Whether fits may use the compiled kernels.

    Returns
    -------
    bool
        True when Numba is importable and ``GAUSSMIX_COMPILED`` is not ``0``.
    """
    if os.environ.get(ENVIRONMENT_SWITCH, "1").strip() == "0":
        return False
    return _loaded_kernels() is not None


def worth_compiling(n_samples: int, n_features: int, n_components: int) -> bool:
    """Whether a fit of this size is faster compiled than through NumPy's BLAS.

    Parameters
    ----------
    n_samples, n_features, n_components : int
        The table's rows and columns and the mixture's components.

    Returns
    -------
    bool
        True when an E-step's work ``n K d^2`` is at most the measured bound.
    """
    return n_samples * n_components * n_features * n_features <= _MAX_WORK


def constraint_codes(letters: str) -> tuple[int, int, int]:
    """mclust's three constraint letters as (volume, shape, orientation) codes.

    Parameters
    ----------
    letters : str
        mclust's model name (``"VEV"``); a univariate one (``"E"``, ``"V"``) has the
        identity's shape and orientation.

    Returns
    -------
    tuple of int
        Each letter's code: 0 for I(dentity), 1 for E(qual), 2 for V(arying).
    """
    padded = (letters + "II")[:3]
    return _LETTER_CODES[padded[0]], _LETTER_CODES[padded[1]], _LETTER_CODES[padded[2]]


@dataclass(frozen=True)
class CompiledRun:
    """What `run_compiled_em` returns.

    Attributes
    ----------
    weights, means, covariances : ndarray
        Parameters after the last completed iteration (dense covariances, (K, d, d)).
    lower_bounds : ndarray of shape (n_iter,)
        Mean log-likelihood entering each completed iteration.
    converged : bool
        Whether the change of the mean log-likelihood fell below ``tol``.
    handed_back : bool
        Whether the next iteration needs the NumPy path (a covariance that is not
        positive definite, a row of zero density, values that are not finite); the
        parameters are then those entering it.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    lower_bounds: np.ndarray
    converged: bool
    handed_back: bool


def run_compiled_em(
    X: np.ndarray,
    sample_weight: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    constraint: str,
    *,
    reg_covar: float,
    tol: float,
    max_iter: int,
    lower_bound: float,
    inner_tol: float = 1e-8,
    inner_max_iter: int = 100,
) -> CompiledRun:
    """EM from the given parameters under a covariance constraint, compiled.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows (converted to contiguous float64).
    sample_weight : ndarray of shape (n_samples,)
    weights, means, covariances : ndarray
        Starting parameters; covariances dense, shape (K, d, d).
    constraint : str
        mclust's code of a model whose M-step is compiled: EII, VII, EEI, VEI, VVI, EVI,
        EEE, VEE, EEV, VEV, EVV, VVV (or the univariate E, V). For another (EVE, VVE)
        the first M-step hands back.
    reg_covar, tol : float
    max_iter : int
    lower_bound : float
        Mean log-likelihood before the first iteration.
    inner_tol : float, default=1e-8
    inner_max_iter : int, default=100
        Tolerance and iteration cap of the iterative M-steps (VEI, VEE, VEV), as the
        model's (`CovarianceModel`); they start from the current covariances' volumes.

    Returns
    -------
    CompiledRun
        The parameters, trace and status. They equal the NumPy path's to rounding; a
        fit that approaches a collapse (a variance shrinking towards rounding residue)
        or an iterative M-step can amplify that rounding in its last iterations, so
        such fits may end at a slightly different point than the NumPy path.

    Raises
    ------
    RuntimeError
        If the kernels are unavailable (check `compiled_em_available` first).
    """
    kernels = _loaded_kernels()
    if kernels is None:
        raise RuntimeError("The compiled kernels need Numba; check compiled_em_available().")
    volume, shape, orientation = constraint_codes(constraint)
    weights = np.array(weights, dtype=np.float64)
    means = np.array(means, dtype=np.float64)
    covariances = np.array(covariances, dtype=np.float64)
    trace = np.empty(max(max_iter, 0))
    n_iter, status = kernels.em_fit(
        np.ascontiguousarray(X, dtype=np.float64),
        np.ascontiguousarray(sample_weight, dtype=np.float64),
        weights,
        means,
        covariances,
        volume,
        shape,
        orientation,
        float(reg_covar),
        float(tol),
        int(max_iter),
        float(lower_bound),
        trace,
        float(inner_tol),
        int(inner_max_iter),
    )
    return CompiledRun(
        weights=weights,
        means=means,
        covariances=covariances,
        lower_bounds=trace[:n_iter].copy(),
        converged=status == kernels.CONVERGED,
        handed_back=status == kernels.HANDED_BACK,
    )


@dataclass(frozen=True)
class ShiftedMoments:
    """One E-step's statistics about the means it used (the fields of ``Stats``).

    Attributes
    ----------
    counts : ndarray of shape (K,)
    first : ndarray of shape (K, d)
    second : ndarray of shape (K, d, d) or (K, d)
        Full second moments, or their diagonals.
    log_likelihood : float
        ``sum_n w_n log p(x_n)``.
    total_weight : float
    """

    counts: np.ndarray
    first: np.ndarray
    second: np.ndarray
    log_likelihood: float
    total_weight: float


def compiled_statistics(
    X: np.ndarray,
    sample_weight: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    *,
    full: bool,
) -> ShiftedMoments | None:
    """An E-step's statistics about ``means``, compiled, for any covariance model.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64
    sample_weight : ndarray of shape (n_samples,), float64
    weights, means, covariances : ndarray
        The parameters; covariances dense, shape (K, d, d).
    full : bool
        Full second moments, or only their diagonals.

    Returns
    -------
    ShiftedMoments or None
        None when a covariance is not positive definite or a row has zero density (the
        NumPy path then decides what that means).
    """
    kernels = _loaded_kernels()
    if kernels is None:
        raise RuntimeError("The compiled kernels need Numba; check compiled_em_available().")
    ok, log_likelihood, total_weight, counts, first, second = kernels.e_step_statistics(
        np.ascontiguousarray(X, dtype=np.float64),
        np.ascontiguousarray(sample_weight, dtype=np.float64),
        np.asarray(weights, dtype=np.float64),
        np.asarray(means, dtype=np.float64),
        np.ascontiguousarray(covariances, dtype=np.float64),
        full,
    )
    if not ok:
        return None
    return ShiftedMoments(
        counts=counts,
        first=first,
        second=second if full else np.diagonal(second, axis1=1, axis2=2).copy(),
        log_likelihood=float(log_likelihood),
        total_weight=float(total_weight),
    )


@dataclass(frozen=True)
class OrientationSearch:
    """What `compiled_shared_orientation` found, and what the fit's next M-step starts from.

    Attributes
    ----------
    orientation : ndarray of shape (d, d)
        ``D``, eigenvectors as columns.
    values : ndarray of shape (K, d)
        Eigenvalues of each ``Sigma_k`` along ``D``'s columns (NaN when no estimate
        exists: a component without spread along some column).
    converged : bool
        Whether the last method used met the tolerance.
    majoriser_stalled : bool
        Whether majorise-minimise steps have stalled in this fit (Newton's method then
        serves its later M-steps).
    hessian_factors : ndarray of shape (2, P, P)
        Cholesky factors of Hessians (``P = d (d - 1) / 2``); ``reusable_slot`` names the
        one that may start the next M-step (-1: none).
    reusable_slot : int
    """

    orientation: np.ndarray
    values: np.ndarray
    converged: bool
    majoriser_stalled: bool
    hessian_factors: np.ndarray
    reusable_slot: int


def compiled_shared_orientation(
    scatter: np.ndarray,
    counts: np.ndarray,
    orientation: np.ndarray,
    *,
    varying_volume: bool,
    tol: float,
    max_iter: int,
    majoriser_stalled: bool,
    newton_max_features: int,
    newton_fallback_max_features: int,
    previous: OrientationSearch | None = None,
) -> OrientationSearch:
    """The EVE (``varying_volume=False``) or VVE M-step's orientation and eigenvalues, compiled.

    The NumPy reference is ``_SharedOrientation.estimate_covariances`` in
    ``gaussmix.engine.covariance.models.ellipsoidal``: Newton's method on ``D`` (its
    ``minimise_orientation``), or above ``newton_max_features`` features majorise-minimise
    steps until they stall (``majoriser_stalled``), Newton's method then taking over up to
    ``newton_fallback_max_features``.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
        ``W_k``.
    counts : ndarray of shape (K,)
        ``n_k``.
    orientation : ndarray of shape (d, d)
        Orthogonal start (not modified).
    varying_volume : bool
    tol : float
        Tolerance per unit of weight.
    max_iter : int
    majoriser_stalled : bool
        Whether majorise-minimise steps stalled earlier in this fit.
    newton_max_features, newton_fallback_max_features : int
    previous : OrientationSearch, optional
        The fit's previous M-step, when ``orientation`` is its orientation: its last
        exact Hessian starts this one.

    Returns
    -------
    OrientationSearch

    Raises
    ------
    RuntimeError
        If the kernels are unavailable (check `compiled_em_available` first).
    """
    kernels = _loaded_orientation_kernels()
    if kernels is None:
        raise RuntimeError("The compiled kernels need Numba; check compiled_em_available().")
    n_components, n_features, _ = scatter.shape
    n_pairs = n_features * (n_features - 1) // 2
    if previous is not None and previous.hessian_factors.shape[-1] == n_pairs:
        factors = previous.hessian_factors.copy()
        slot = previous.reusable_slot
    else:
        factors = np.empty((2, n_pairs, n_pairs))
        slot = -1
    state = np.array([slot, int(majoriser_stalled)], dtype=np.int64)
    orientation = np.array(orientation, dtype=np.float64, order="C")
    values = np.empty((n_components, n_features))
    status = kernels.shared_orientation_m_step(
        np.ascontiguousarray(scatter, dtype=np.float64),
        np.ascontiguousarray(counts, dtype=np.float64),
        bool(varying_volume),
        float(tol),
        int(max_iter),
        orientation,
        values,
        factors,
        state,
        int(newton_max_features),
        int(newton_fallback_max_features),
    )
    return OrientationSearch(
        orientation=orientation,
        values=values,
        converged=status == kernels.CONVERGED,
        majoriser_stalled=bool(state[kernels.MAJORISER_STALLED]),
        hessian_factors=factors,
        reusable_slot=int(state[kernels.REUSABLE_SLOT]),
    )
