"""Density estimation as a task of its own (mclust's ``densityMclust``), with highest-density
regions.

A mixture chosen by BIC is a flexible density estimate. Its highest-density region
(HDR) at probability ``p`` (Hyndman 1996) is the smallest region holding probability
``p``: the set ``{x : f(x) >= f_p}`` whose level ``f_p`` is the ``1 - p`` quantile of
``f(Y)`` for ``Y`` drawn from ``f``. Two estimates of that quantile are offered:

* ``hdr_source="data"`` (mclust's ``hdrlevels``): the quantile of the density at the
  training rows. It agrees with `AnomalyDetector`: the 95% HDR's boundary is the
  threshold of ``contamination=0.05``.
* ``hdr_source="model"``: the quantile over rows drawn from the fitted mixture, which
  estimates the model's own HDR (use it when the data are few).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._fitted import model_rows

__all__ = ["DensityEstimator", "density_estimate", "HDR_SOURCES"]

#: Where the highest-density-region levels are read from.
HDR_SOURCES = ("data", "model")


def _checked_probabilities(probabilities) -> np.ndarray:
    values = np.atleast_1d(np.asarray(probabilities, dtype=np.float64))
    if values.ndim != 1 or values.size == 0 or not np.all((values > 0) & (values < 1)):
        raise ValueError(
            "probabilities must be numbers in (0, 1), e.g. 0.95 or [0.5, 0.95]; got "
            f"{probabilities!r}."
        )
    return values


class DensityEstimator(DensityMixin, BaseEstimator):
    """A Gaussian mixture density chosen by BIC, with highest-density regions.

    `fit` runs `select_model` over the numbers of components and covariance models
    and keeps the best mixture as ``model_``; `score_samples` is its log-density and
    `hdr_levels` / `in_region` describe its highest-density regions.

    Parameters
    ----------
    n_components : int or iterable of int, default=range(1, 10)
        Numbers of components to try.
    covariance_types : "all", str or list of str, default="all"
        Covariance models to try (mclust codes or scikit-learn names).
    criterion : {"bic", "aic", "icl"}, default="bic"
        Selection criterion (mclust's ``densityMclust`` uses BIC).
    hdr_source : {"data", "model"}, default="data"
        Quantiles of the density at the training rows (as mclust), or at
        ``n_hdr_samples`` rows drawn from the fitted mixture.
    n_hdr_samples : int, default=100_000
        Rows drawn for ``hdr_source="model"``.
    random_state : int, RandomState or None, default=None
        Seed of the fits and of the draws.

    Attributes
    ----------
    model_ : GaussianMixture
        The selected mixture.
    selection_ : ModelSelectionResult
        The whole selection table (``selection_.plot()`` for the BIC plot).
    reference_log_density_ : ndarray
        Sorted log-densities whose quantiles give the HDR levels.
    n_features_in_ : int
    feature_names_in_ : ndarray
        When `fit` was given a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import DensityEstimator
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, 300), rng.normal(5, 0.5, 100)])[:, None]
    >>> density = DensityEstimator(n_components=range(1, 4), random_state=0).fit(X)
    >>> float(density.in_region(X, 0.95).mean())
    0.95
    """

    def __init__(
        self,
        n_components=range(1, 10),
        covariance_types="all",
        criterion="bic",
        *,
        hdr_source="data",
        n_hdr_samples=100_000,
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_types = covariance_types
        self.criterion = criterion
        self.hdr_source = hdr_source
        self.n_hdr_samples = n_hdr_samples
        self.random_state = random_state

    def fit(self, X, y=None, **select_params):
        """Select the mixture by the criterion and store the HDR reference densities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        **select_params
            Passed to `select_model` (e.g. ``n_jobs``, ``progress``).

        Returns
        -------
        self : DensityEstimator
        """
        from ..selection import select_model

        if self.hdr_source not in HDR_SOURCES:
            raise ValueError(f"hdr_source must be 'data' or 'model'; got {self.hdr_source!r}.")
        if (
            isinstance(self.n_hdr_samples, bool)
            or not isinstance(self.n_hdr_samples, (int, np.integer))
            or self.n_hdr_samples < 100
        ):
            raise ValueError(
                f"n_hdr_samples must be an integer >= 100; got {self.n_hdr_samples!r}."
            )
        result = select_model(
            X,
            n_components=self.n_components,
            covariance_types=self.covariance_types,
            criterion=self.criterion,
            random_state=self.random_state,
            **select_params,
        )
        model = result.best_estimator_
        if self.hdr_source == "data":
            reference = model.score_samples(X)
        else:
            draws = _draw(model, self.n_hdr_samples, self.random_state)
            reference = model.score_samples(model_rows(model, draws))
        self.selection_ = result
        self.model_ = model
        self.reference_log_density_ = np.sort(np.asarray(reference, dtype=np.float64))
        self.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            self.feature_names_in_ = model.feature_names_in_
        return self

    def score_samples(self, X):
        """Log-density of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "model_")
        return self.model_.score_samples(X)

    def score(self, X, y=None):
        """Mean log-density per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Draw rows from the density (see `GaussianMixture.sample`).

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "model_")
        return self.model_.sample(n_samples)

    def hdr_log_levels(self, probabilities) -> np.ndarray:
        """Log-density levels of the highest-density regions holding ``probabilities``.

        The level of probability ``p`` is the ``1 - p`` quantile (linear interpolation)
        of ``reference_log_density_``.

        Parameters
        ----------
        probabilities : float or array-like of float in (0, 1)

        Returns
        -------
        log_levels : ndarray of shape (n_probabilities,)
            Decreasing as the probability grows (a larger region has a lower boundary).
        """
        check_is_fitted(self, "model_")
        probabilities = _checked_probabilities(probabilities)
        return np.quantile(self.reference_log_density_, 1.0 - probabilities)

    def hdr_levels(self, probabilities) -> np.ndarray:
        """Density levels of the highest-density regions (mclust's ``hdrlevels``).

        The HDR at probability ``p`` is ``{x : density(x) >= level}``.

        Parameters
        ----------
        probabilities : float or array-like of float in (0, 1)

        Returns
        -------
        levels : ndarray of shape (n_probabilities,)
        """
        return np.exp(self.hdr_log_levels(probabilities))

    def in_region(self, X, probability: float) -> np.ndarray:
        """Whether each row lies in the highest-density region holding ``probability``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        probability : float in (0, 1)

        Returns
        -------
        inside : ndarray of bool, shape (n_samples,)
        """
        if np.ndim(probability) != 0:
            raise ValueError(f"probability must be one number in (0, 1); got {probability!r}.")
        (level,) = self.hdr_log_levels(probability)
        return self.score_samples(X) >= level

    def plot(self, X=None, *, probabilities=(0.5, 0.75, 0.95), ax=None, dims=(0, 1)):
        """The density with its highest-density regions; see `gaussmix.plot.density_regions`."""
        from ..plotting.toolkit import density_regions

        return density_regions(self, X, probabilities=probabilities, ax=ax, dims=dims)


def _draw(model, n_samples: int, random_state) -> np.ndarray:
    """Rows drawn from a fitted mixture with a seed of our own (the model is not changed)."""
    rng = check_random_state(random_state)
    params = model._params
    counts = rng.multinomial(n_samples, params.weights / params.weights.sum())
    covariances = params.covariance.dense_covariances(*params.means.shape)
    return np.vstack(
        [
            rng.multivariate_normal(params.means[k], covariances[k], size=count)
            for k, count in enumerate(counts)
            if count
        ]
    )


def density_estimate(X, n_components=range(1, 10), covariance_types="all", **params):
    """Fit a `DensityEstimator` (mclust's ``densityMclust``): a mixture density chosen by BIC.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or iterable of int, default=range(1, 10)
    covariance_types : "all", str or list of str, default="all"
    **params
        Other `DensityEstimator` parameters (``criterion``, ``hdr_source``,
        ``random_state``, ...).

    Returns
    -------
    density : DensityEstimator
        Fitted.
    """
    return DensityEstimator(n_components, covariance_types, **params).fit(X)
