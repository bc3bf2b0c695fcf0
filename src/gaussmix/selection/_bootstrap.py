"""Parametric bootstrap likelihood-ratio test for the number of components.

McLachlan (1987); mclust's ``mclustBootstrapLRT``. For K against K + 1 components under one
covariance model, the statistic ``LRT = 2 (log L_{K+1} - log L_K)`` has no chi-squared
null distribution (the K-component model lies on the boundary of the K + 1 one), so its
distribution is simulated: samples of the data's size are drawn from the fitted K model,
both models are refitted to each sample, and the p-value is the share of bootstrap
statistics at least as large as the observed one.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from threadpoolctl import threadpool_limits

from ..engine.core.degeneracy import DegenerateFitWarning
from ..engine.covariance.models import canonical_name
from ..estimators import GaussianMixture
from ._select import _seed

__all__ = ["bootstrap_lrt", "BootstrapLRTResult"]


def _log_likelihood(X, n_components, covariance_type, params) -> float:
    """Total log-likelihood of the best fit, NaN if the fit fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DegenerateFitWarning)
            with np.errstate(all="ignore"):
                model = GaussianMixture(
                    n_components=n_components, covariance_type=covariance_type, **params
                ).fit(X)
                value = float(model.score_samples(X).sum())
    except ValueError:
        return np.nan
    return value if np.isfinite(value) else np.nan


def _fit_pair(X, n_components, covariance_type, params):
    """The null (K) fit as a model and both log-likelihoods."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateFitWarning)
        null = GaussianMixture(
            n_components=n_components, covariance_type=covariance_type, **params
        ).fit(X)
    null_loglik = float(null.score_samples(X).sum())
    alternative = _log_likelihood(X, n_components + 1, covariance_type, params)
    return null, null_loglik, alternative


def _replicate(null_model, n_samples, n_components, covariance_type, params, seed):
    """One bootstrap statistic: sample from the null model, refit K and K + 1."""
    sampler = copy.copy(null_model).set_params(random_state=seed)
    sample, _ = sampler.sample(n_samples)
    fit_params = {**params, "random_state": seed}
    null = _log_likelihood(sample, n_components, covariance_type, fit_params)
    alternative = _log_likelihood(sample, n_components + 1, covariance_type, fit_params)
    # The K + 1 model contains the K model: a smaller maximum is a local optimum, never
    # evidence; clip at zero as the likelihood-ratio statistic cannot be negative.
    return max(2 * (alternative - null), 0.0) if np.isfinite(alternative - null) else np.nan


class BootstrapLRTResult:
    """Outcome of `bootstrap_lrt`.

    Attributes
    ----------
    covariance_type : str
        The mclust code of the tested model.
    table_ : DataFrame
        One row per test of K against K + 1: ``n_components`` (K), ``statistic`` (the
        observed LRT), ``p_value``, ``n_boot`` (bootstrap fits that succeeded).
    bootstrap_statistics_ : dict
        ``{K: ndarray}``: the simulated statistics of each test.
    """

    def __init__(self, covariance_type, rows, statistics):
        self.covariance_type = covariance_type
        self.table_ = pd.DataFrame(
            rows, columns=["n_components", "statistic", "p_value", "n_boot"]
        ).set_index("n_components")
        self.bootstrap_statistics_ = statistics

    def summary(self, level: float = 0.05) -> str:
        """The tests as text, mclust style, with the decision at ``level``."""
        lines = [
            "-" * 60,
            f"Bootstrap sequential LRT for the number of mixture components ({self.covariance_type})",
            "-" * 60,
            f"{'test':>10} {'LRT':>10} {'p-value':>9} {'boot':>6}",
        ]
        for k, row in self.table_.iterrows():
            lines.append(
                f"{f'{k} vs {k + 1}':>10} {row['statistic']:>10.3f} {row['p_value']:>9.4f} "
                f"{int(row['n_boot']):>6}"
            )
        significant = self.table_["p_value"] <= level
        first_kept = next((k for k, s in significant.items() if not s), None)
        if first_kept is not None:
            lines.append(
                f"\nAt level {level}: {first_kept} component(s) (the first test not rejected)."
            )
        else:
            lines.append(f"\nAt level {level}: every test rejects; try more components.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BootstrapLRTResult {self.covariance_type}: {len(self.table_)} tests>"


def bootstrap_lrt(
    X,
    covariance_type: str = "VVV",
    max_components: int = 4,
    n_boot: int = 999,
    *,
    random_state=None,
    n_jobs: int | None = None,
    **estimator_params,
) -> BootstrapLRTResult:
    """Bootstrap likelihood-ratio tests of K against K + 1 components, K = 1 .. max_components - 1.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default="VVV"
        Any mclust code or scikit-learn alias.
    max_components : int, default=4
        The largest number of components in any test (the last test is
        ``max_components - 1`` against ``max_components``).
    n_boot : int, default=999
        Bootstrap samples per test.
    random_state : int, RandomState or None, default=None
        Seeds the samples and fits; the same seed gives the same table whatever ``n_jobs``.
    n_jobs : int, default=None
        Bootstrap replicates in parallel with joblib.
    **estimator_params
        Further `GaussianMixture` parameters for every fit (``reg_covar``, ``n_init``, ...).
        Unless given: ``init_params="kmeans"``, ``n_init=2``, ``tol=1e-5``, ``max_iter=500``.

    Returns
    -------
    result : BootstrapLRTResult
        ``table_`` with the observed statistic and bootstrap p-value of each test,
        ``bootstrap_statistics_``, ``summary()``.

    Notes
    -----
    The p-value is ``(1 + #{bootstrap >= observed}) / (1 + n_boot)`` over the replicates
    whose fits succeeded, so it is never zero.
    """
    name = canonical_name(covariance_type)
    if not isinstance(max_components, (int, np.integer)) or max_components < 2:
        raise ValueError(
            f"max_components must be an integer >= 2, got {max_components!r}; the tests "
            "compare K with K + 1 components for K < max_components."
        )
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}; e.g. n_boot=999.")
    values = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    seed = _seed(random_state)
    params = {
        "init_params": "kmeans",
        "n_init": 2,
        "tol": 1e-5,
        "max_iter": 500,
        **estimator_params,
        "random_state": seed,
    }
    seeds = np.random.SeedSequence(seed).generate_state(n_boot * (max_components - 1))
    rows, statistics = [], {}
    with threadpool_limits(limits=1, user_api="blas"):
        for k in range(1, max_components):
            null, null_loglik, alternative = _fit_pair(values, k, name, params)
            observed = max(2 * (alternative - null_loglik), 0.0)
            replicate_seeds = seeds[(k - 1) * n_boot : k * n_boot]
            simulated = np.array(
                Parallel(n_jobs=n_jobs)(
                    delayed(_replicate)(null, values.shape[0], k, name, params, int(s))
                    for s in replicate_seeds
                )
            )
            simulated = simulated[np.isfinite(simulated)]
            p_value = (1 + np.sum(simulated >= observed)) / (1 + simulated.size)
            rows.append((k, observed, p_value, simulated.size))
            statistics[k] = simulated
    return BootstrapLRTResult(name, rows, statistics)
