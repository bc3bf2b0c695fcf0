"""`AnomalyDetector`: low mixture density means anomaly (the chapter's bottom-5% rule)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..checks.parameters import Rule, validate_parameters
from .gaussian_mixture import GaussianMixture

__all__ = ["AnomalyDetector"]

#: The GaussianMixture parameters an AnomalyDetector forwards, with their defaults.
_MIXTURE_DEFAULTS = {
    name: GaussianMixture().get_params()[name]
    for name in (
        "n_components",
        "covariance_type",
        "tol",
        "reg_covar",
        "max_iter",
        "n_init",
        "init_params",
        "random_state",
    )
}

_CONTAMINATION = Rule(
    lambda v: (
        isinstance(v, (int, float, np.floating))
        and not isinstance(v, bool)
        and 0.0 <= float(v) <= 0.5
    ),
    "a number in [0, 0.5], the expected fraction of anomalies in the training data",
)


class AnomalyDetector(OutlierMixin, BaseEstimator):
    """Flag rows whose density under a fitted Gaussian mixture is unusually low.

    The mixture is fitted to the training data; the threshold is the ``contamination``
    quantile of the training rows' log-densities, so that a fraction ``contamination``
    of the training data falls below it (the chapter's "bottom 5%" rule with the
    default). Follows scikit-learn's outlier-detector conventions: ``predict`` gives +1
    for inliers and -1 for anomalies, ``decision_function`` is negative for anomalies.

    Parameters
    ----------
    contamination : float, default=0.05
        Expected fraction of anomalies in the training data, in [0, 0.5].
    mixture : estimator, default=None
        An unfitted density estimator with ``fit`` and ``score_samples`` (e.g. a
        configured `GaussianMixture`); it is cloned and fitted. None builds a
        `GaussianMixture` from the parameters below, which must then be left at their
        defaults when ``mixture`` is given.
    n_components, covariance_type, tol, reg_covar, max_iter, n_init, init_params, random_state
        Passed to `GaussianMixture` when ``mixture`` is None; same meaning and defaults.

    Attributes
    ----------
    mixture_ : estimator
        The fitted mixture.
    threshold_ : float
        Log-density below which a row is an anomaly.
    offset_ : float
        The same number under scikit-learn's name: ``decision_function = score_samples -
        offset_``.
    n_features_in_ : int
        Number of features seen in `fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when `fit` was given a DataFrame with string column names.
    n_iter_ : int
        EM iterations of the fitted mixture (when it reports them).

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import AnomalyDetector
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> detector = AnomalyDetector(contamination=0.05, random_state=0).fit(X)
    >>> int((detector.predict(X) == -1).sum())
    10
    """

    def __init__(
        self,
        contamination=0.05,
        mixture=None,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="best-of-kmeans",
        random_state=None,
    ):
        self.contamination = contamination
        self.mixture = mixture
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def _mixture_params(self) -> dict:
        return {name: getattr(self, name) for name in _MIXTURE_DEFAULTS}

    def _make_mixture(self):
        if self.mixture is None:
            return GaussianMixture(**self._mixture_params())
        changed = [
            name
            for name, default in _MIXTURE_DEFAULTS.items()
            if getattr(self, name) is not default and getattr(self, name) != default
        ]
        if changed:
            raise ValueError(
                f"AnomalyDetector got both mixture= and {', '.join(changed)}; set those "
                "parameters on the mixture you pass, or pass no mixture."
            )
        if not (hasattr(self.mixture, "fit") and hasattr(self.mixture, "score_samples")):
            raise TypeError(
                f"mixture must be a density estimator with fit and score_samples (e.g. "
                f"gaussmix.GaussianMixture); got {type(self.mixture).__name__}."
            )
        return clone(self.mixture)

    def fit(self, X, y=None):
        """Fit the mixture and set the threshold at the contamination quantile.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; a DataFrame's column names are kept.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : AnomalyDetector
            The fitted detector.
        """
        validate_parameters(
            {"contamination": self.contamination}, {"contamination": _CONTAMINATION}
        )
        self.mixture_ = self._make_mixture().fit(X)
        self._set_threshold(X)
        return self

    def _set_threshold(self, X) -> None:
        training_scores = np.asarray(self.mixture_.score_samples(X))
        # The scores are ours: partitioning them in place saves a copy of one per row.
        self.threshold_ = float(
            np.percentile(training_scores, 100.0 * float(self.contamination), overwrite_input=True)
        )
        self._copy_feature_attributes()

    @classmethod
    def from_fitted_mixture(cls, mixture, X, contamination=0.05) -> AnomalyDetector:
        """A detector around a mixture that is already fitted (e.g. a `select_model` winner).

        Only the threshold is computed, from the rows ``X`` (normally the training data);
        the mixture is used as it is, not refitted.

        Parameters
        ----------
        mixture : fitted GaussianMixture
            The density model.
        X : array-like of shape (n_samples, n_features), or a data source
            Rows whose log-density quantile sets the threshold (a source such as
            `ParquetSource` is read in batches; one log-density per row is kept).
        contamination : float, default=0.05
            Fraction of ``X`` to fall below the threshold, in [0, 0.5].

        Returns
        -------
        detector : AnomalyDetector
            A fitted detector whose ``mixture_`` is ``mixture``.
        """
        validate_parameters({"contamination": contamination}, {"contamination": _CONTAMINATION})
        check_is_fitted(mixture)
        detector = cls(contamination=contamination, mixture=mixture)
        detector.mixture_ = mixture
        detector._set_threshold(X)
        return detector

    def _copy_feature_attributes(self) -> None:
        self.n_features_in_ = self.mixture_.n_features_in_
        for name in ("feature_names_in_", "n_iter_"):
            if hasattr(self.mixture_, name):
                setattr(self, name, getattr(self.mixture_, name))

    @property
    def offset_(self):
        """The threshold under scikit-learn's name (``decision_function`` subtracts it)."""
        check_is_fitted(self, "threshold_")
        return self.threshold_

    def score_samples(self, X):
        """Log-density of each row under the fitted mixture (lower is more anomalous).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "threshold_")
        return self.mixture_.score_samples(X)

    def decision_function(self, X):
        """Log-density minus the threshold: negative for anomalies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        score : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.threshold_

    def predict(self, X):
        """+1 for inliers, -1 for anomalies (rows whose log-density is below the threshold).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @classmethod
    def _from_fitted(cls, init_params: dict, mixture, threshold: float) -> AnomalyDetector:
        """A fitted detector rebuilt from a fitted mixture and its threshold (`gaussmix.load`)."""
        detector = cls(**init_params)
        detector.mixture_ = mixture
        detector.threshold_ = float(threshold)
        detector._copy_feature_attributes()
        return detector
