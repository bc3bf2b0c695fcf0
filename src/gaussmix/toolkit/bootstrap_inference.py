"""Bootstrap standard errors and intervals of a fitted mixture's parameters
(mclust's ``MclustBootstrap``).

Not to be confused with `gaussmix.bootstrap_lrt` (``selection/_bootstrap.py``), the
bootstrap likelihood-ratio test for the *number* of components: this module measures
how precisely the parameters of one fitted model are estimated.

Each replicate refits the model by EM, started from the fitted parameters, on

* ``"nonparametric"``: n rows drawn with replacement from the data (Efron 1979), or
* ``"weighted"``: all rows with weights ``n * Dirichlet(1, ..., 1)`` (the weighted
  likelihood bootstrap of Newton & Raftery 1994; gaussmix's EM uses sample weights
  exactly), which never leaves a component without rows.

Starting from the fitted parameters keeps most replicates in the fitted order; the
components of every replicate are then matched to the fitted ones explicitly (the
assignment of least total Mahalanobis distance between means, under the fitted
covariances), so a replicate whose labels switched is relabelled, not averaged in the
wrong place.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._fitted import check_fitted_mixture, model_rows

__all__ = ["BOOTSTRAP_METHODS", "MixtureBootstrap", "bootstrap", "match_components"]

#: Resampling schemes of `bootstrap`.
BOOTSTRAP_METHODS = ("nonparametric", "weighted")
#: Parameters summarised, in the order of the summary table.
_SUMMARISED = ("weights", "means", "variances")
_SINGULAR = ("weight", "mean", "variance")


def match_components(fitted_means, fitted_precisions, replicate_means) -> np.ndarray:
    """Which replicate component corresponds to each fitted component.

    Solves the assignment problem (Hungarian algorithm) whose cost of pairing fitted
    component ``k`` with replicate component ``j`` is the squared Mahalanobis distance
    ``(m_j - mu_k)' P_k (m_j - mu_k)`` under the fitted precision ``P_k``.

    Parameters
    ----------
    fitted_means : ndarray of shape (K, d)
    fitted_precisions : ndarray of shape (K, d, d)
    replicate_means : ndarray of shape (K, d)

    Returns
    -------
    order : ndarray of shape (K,)
        ``replicate[order]`` lists the replicate's components in the fitted order.
    """
    difference = replicate_means[np.newaxis, :, :] - fitted_means[:, np.newaxis, :]
    cost = np.einsum("kjd,kde,kje->kj", difference, fitted_precisions, difference)
    return linear_sum_assignment(cost)[1]


def _dense(mixture, name: str) -> np.ndarray:
    """``"covariances"`` or ``"precisions"`` of every component as (K, d, d)."""
    params = mixture._params
    covariances = np.asarray(
        params.covariance.dense_covariances(*params.means.shape), dtype=np.float64
    )
    return covariances if name == "covariances" else np.linalg.inv(covariances)


@dataclass(frozen=True)
class _Replicate:
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    relabelled: bool
    converged: bool


def _replicate_parameters(refit, fitted_means, fitted_precisions) -> _Replicate:
    """A refitted replicate's parameters, in the fitted components' order."""
    means = np.asarray(refit.means_, dtype=np.float64)
    order = match_components(fitted_means, fitted_precisions, means)
    return _Replicate(
        weights=np.asarray(refit.weights_, dtype=np.float64)[order],
        means=means[order],
        covariances=_dense(refit, "covariances")[order],
        relabelled=bool(np.any(order != np.arange(order.size))),
        converged=bool(refit.converged_),
    )


class MixtureBootstrap:
    """Bootstrap distribution of a fitted mixture's parameters. Made by `bootstrap`.

    Attributes
    ----------
    method : str
        ``"nonparametric"`` or ``"weighted"``.
    n_bootstrap : int
        Replicates asked for.
    estimates_ : dict of str to ndarray
        The fitted model's ``"weights"`` (K,), ``"means"`` (K, d), ``"covariances"``
        (K, d, d) and ``"variances"`` (K, d) (the covariances' diagonals).
    replicates_ : dict of str to ndarray
        The same parameters for every successful replicate, stacked on a first axis
        (n_replicates, ...), in the fitted model's component order.
    standard_errors_ : dict of str to ndarray
        Standard deviation of each parameter over the replicates (same shapes as
        ``estimates_``).
    n_replicates_ : int
        Replicates whose refit succeeded (the others are left out and counted in
        ``n_failed_``).
    n_failed_ : int
        Replicates whose refit failed (a singular covariance, an empty component, or
        EM that stopped before a collapse: the refit's ``collapse_reason_`` is set).
    n_relabelled_ : int
        Replicates whose components came out in another order and were matched back.
    n_not_converged_ : int
        Replicates whose EM stopped at ``max_iter`` (kept, as mclust keeps them).
    feature_names : list of str
    """

    def __init__(self, estimates, replicates, method, n_bootstrap, counts, feature_names):
        self.method = method
        self.n_bootstrap = n_bootstrap
        self.estimates_ = estimates
        self.replicates_ = replicates
        self.n_replicates_ = int(replicates["weights"].shape[0])
        self.n_failed_, self.n_relabelled_, self.n_not_converged_ = counts
        self.feature_names = list(feature_names)
        self.standard_errors_ = {
            name: values.std(axis=0, ddof=1) for name, values in replicates.items()
        }

    def intervals(self, level: float = 0.95) -> dict:
        """Percentile intervals: the (1 - level)/2 and (1 + level)/2 quantiles of the
        replicates.

        Parameters
        ----------
        level : float in (0, 1), default=0.95

        Returns
        -------
        intervals : dict of str to (lower, upper)
            For each parameter, two arrays shaped as the parameter.
        """
        if isinstance(level, bool) or not isinstance(level, (float, int)) or not 0 < level < 1:
            raise ValueError(f"level must be a probability in (0, 1), e.g. 0.95; got {level!r}.")
        tail = (1.0 - level) / 2.0
        return {
            name: (np.quantile(values, tail, axis=0), np.quantile(values, 1.0 - tail, axis=0))
            for name, values in self.replicates_.items()
        }

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """One row per weight, mean and variance: estimate, standard error, interval.

        Components are numbered from 1, in the fitted model's order.

        Parameters
        ----------
        level : float, default=0.95

        Returns
        -------
        table : DataFrame with columns parameter, component, feature, estimate,
            std_error, lower, upper
        """
        bounds = self.intervals(level)
        rows = []
        n_components, n_features = self.estimates_["means"].shape
        for name, label in zip(_SUMMARISED, _SINGULAR, strict=True):
            estimate = self.estimates_[name].reshape(n_components, -1)
            error = self.standard_errors_[name].reshape(n_components, -1)
            lower, upper = (b.reshape(n_components, -1) for b in bounds[name])
            for k in range(n_components):
                for j in range(estimate.shape[1]):
                    rows.append(
                        {
                            "parameter": label,
                            "component": k + 1,
                            "feature": self.feature_names[j] if name != "weights" else "",
                            "estimate": estimate[k, j],
                            "std_error": error[k, j],
                            "lower": lower[k, j],
                            "upper": upper[k, j],
                        }
                    )
        return pd.DataFrame(rows)

    def to_string(self, level: float = 0.95) -> str:
        """A header (replicates, failures, relabellings) and the `summary` table as text.

        Parameters
        ----------
        level : float, default=0.95

        Returns
        -------
        text : str
        """
        header = (
            f"{self.method.capitalize()} bootstrap: {self.n_replicates_} of "
            f"{self.n_bootstrap} replicates refitted"
            + (f" ({self.n_failed_} failed)" if self.n_failed_ else "")
            + f", {self.n_relabelled_} relabelled to the fitted components; "
            f"{100 * level:g}% percentile intervals."
        )
        table = self.summary(level).rename(columns={"std_error": "std. error"})
        return header + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.4g}")

    def __str__(self) -> str:
        """The summary table as text."""
        return self.to_string()

    def __repr__(self) -> str:
        """A one-line description for the console."""
        return (
            f"<MixtureBootstrap: {self.method}, {self.n_replicates_} replicates, "
            f"{self.estimates_['means'].shape[0]} components>"
        )

    def plot(self, *, level: float = 0.95, max_features: int = 4):
        """Replicates, estimates and intervals of the weights, means and variances; see
        `gaussmix.plot.bootstrap_intervals`."""
        from ..plotting.toolkit import bootstrap_intervals

        return bootstrap_intervals(self, level=level, max_features=max_features)


def _checked_method(method) -> str:
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, BOOTSTRAP_METHODS))}; got {method!r}."
        )
    return method


def _checked_count(n_bootstrap) -> int:
    if (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, (int, np.integer))
        or n_bootstrap < 2
    ):
        raise ValueError(
            f"n_bootstrap must be an integer >= 2 (199 or more for intervals); got {n_bootstrap!r}."
        )
    return int(n_bootstrap)


def bootstrap(
    model, X, n_bootstrap: int = 199, method: str = "nonparametric", *, random_state=None
) -> MixtureBootstrap:
    """Bootstrap standard errors and percentile intervals of a fitted mixture's weights,
    means and covariances (mclust's ``MclustBootstrap``).

    Every replicate refits the model (same covariance model, same K, its other
    settings) by EM started from the fitted parameters, on resampled rows
    (``"nonparametric"``) or on all rows with random Dirichlet weights (``"weighted"``,
    the weighted likelihood bootstrap). Replicate components are matched to the fitted
    ones (`match_components`), so label switching does not mix components up.

    Parameters
    ----------
    model : fitted GaussianMixture (or an AnomalyDetector around one)
        The model whose parameters are assessed; without a noise component.
    X : array-like of shape (n_samples, n_features)
        The data it was fitted to (rows with equal weight: a model fitted with
        ``sample_weight`` is refitted here without those weights).
    n_bootstrap : int, default=199
        Number of replicates.
    method : {"nonparametric", "weighted"}, default="nonparametric"
    random_state : int, RandomState or None, default=None
        Seed of the resampling; the same seed gives the same result.

    Returns
    -------
    result : MixtureBootstrap
        ``standard_errors_``, ``intervals(level)``, ``summary()``, ``plot()``.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    >>> model = gaussmix.GaussianMixture(2, random_state=0).fit(X)
    >>> result = gaussmix.bootstrap(model, X, n_bootstrap=49, random_state=0)
    >>> result.standard_errors_["means"].shape
    (2, 2)
    """
    mixture = _bootstrappable(model)
    method = _checked_method(method)
    n_bootstrap = _checked_count(n_bootstrap)
    values = _checked_rows(mixture, X)
    rng = check_random_state(random_state)
    fitted_means = np.asarray(mixture.means_, dtype=np.float64)
    fitted_precisions = _dense(mixture, "precisions")
    template = _refit_template(mixture)
    replicates, failed = [], 0
    for _ in range(n_bootstrap):
        rows, weights = _resampled(method, values, rng)
        try:  # every fit starts afresh from the *_init parameters, so one estimator serves
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                template.fit(model_rows(mixture, rows), sample_weight=weights)
        except (ValueError, np.linalg.LinAlgError):
            failed += 1  # a singular covariance or an emptied component in this replicate
            continue
        if template.collapse_reason_ is not None:
            failed += 1  # EM stopped before a singular M-step: the start, not a refit
            continue
        replicates.append(_replicate_parameters(template, fitted_means, fitted_precisions))
    if len(replicates) < 2:
        raise ValueError(
            f"only {len(replicates)} of {n_bootstrap} bootstrap refits succeeded; the model "
            "is too close to singular for this data (try fewer components or a constrained "
            "covariance model)."
        )
    stacked = _parameters(
        np.stack([r.weights for r in replicates]),
        np.stack([r.means for r in replicates]),
        np.stack([r.covariances for r in replicates]),
    )
    estimates = _parameters(
        np.asarray(mixture.weights_, dtype=np.float64),
        fitted_means,
        _dense(mixture, "covariances"),
    )
    names = getattr(mixture, "feature_names_in_", None)
    if names is None:
        names = [f"x{j + 1}" for j in range(values.shape[1])]
    counts = (
        failed,
        sum(r.relabelled for r in replicates),
        sum(not r.converged for r in replicates),
    )
    return MixtureBootstrap(estimates, stacked, method, n_bootstrap, counts, names)


def _bootstrappable(model):
    """The GaussianMixture inside ``model``, or a ValueError saying why not."""
    from ..estimators import GaussianMixture

    mixture = check_fitted_mixture(model, "bootstrap")
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(
            f"bootstrap refits a GaussianMixture; got a {type(mixture).__name__}. Fit a "
            "GaussianMixture (e.g. select_model's best_estimator_)."
        )
    return mixture


def _checked_rows(mixture, X) -> np.ndarray:
    """X as a float array with the model's number of features (NaN only if the model
    marginalises missing values)."""
    allow_missing = getattr(mixture, "missing", "error") == "marginalize"
    values = check_array(
        X, dtype=np.float64, ensure_all_finite="allow-nan" if allow_missing else True
    )
    if values.shape[1] != mixture.n_features_in_:
        raise ValueError(
            f"X has {values.shape[1]} features but the model was fitted on "
            f"{mixture.n_features_in_}; pass the data the model was fitted to."
        )
    return values


def _refit_template(mixture):
    """An unfitted copy of the model that starts EM from its fitted parameters."""
    return clone(mixture).set_params(
        weights_init=np.asarray(mixture.weights_, dtype=np.float64),
        means_init=np.asarray(mixture.means_, dtype=np.float64),
        precisions_init=np.asarray(mixture.precisions_, dtype=np.float64),
        n_init=1,
        warm_start=False,
        verbose=0,
        random_state=0,
    )


def _resampled(method: str, values: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """One replicate's rows and weights: rows drawn with replacement (nonparametric), or
    every row with weights n * Dirichlet(1, ..., 1) (weighted likelihood bootstrap)."""
    n_samples = values.shape[0]
    if method == "nonparametric":
        return values[rng.randint(0, n_samples, size=n_samples)], None
    return values, n_samples * rng.dirichlet(np.ones(n_samples))


def _parameters(weights, means, covariances) -> dict:
    """The summarised parameters, with the variances read off the covariances' diagonals
    (the last two axes)."""
    return {
        "weights": weights,
        "means": means,
        "covariances": covariances,
        "variances": np.diagonal(covariances, axis1=-2, axis2=-1).copy(),
    }
