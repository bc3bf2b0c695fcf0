"""`MixtureClassifier`: mixture discriminant analysis (mclust's MclustDA and EDDA).

Each class ``c`` gets a density ``p(x | c)`` and a prior ``pi_c`` (its share of the
training weight); a row is assigned to the class with the largest ``pi_c p(x | c)``.

- ``model_type="MclustDA"``: ``p(x | c)`` is a Gaussian mixture fitted to the rows of
  class ``c`` alone, its number of components and covariance model chosen per class by
  `gaussmix.select_model` (BIC by default) over the grid given, or fixed.
- ``model_type="EDDA"``: one Gaussian per class, all classes under one covariance model
  (chosen by BIC over the grid): ``"EEE"`` (``"tied"``) is linear discriminant analysis,
  ``"VVV"`` (``"full"``) quadratic discriminant analysis, and the other twelve models lie
  between them. It is fitted as a mixture whose responsibilities are the known classes.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..checks.parameters import (
    check_sample_weight,
    integer,
    is_int,
    one_of,
    real,
    seed_like,
    validate_parameters,
)
from ..engine.core import criteria
from ..engine.core.estep import statistics_from_responsibilities
from ..engine.core.mstep import m_step
from ..engine.covariance.forms import SingularCovarianceError
from ..engine.covariance.models import (
    COVARIANCE_TYPES,
    MODELS,
    UNIVARIATE_MODELS,
    canonical_name,
    get_covariance_model,
    models_for_features,
)

if TYPE_CHECKING:
    from ..estimators import GaussianMixture

__all__ = ["MixtureClassifier"]

MODEL_TYPES = ("MclustDA", "EDDA")
_CRITERIA = ("bic", "aic", "icl")


def _as_list(value) -> list:
    if isinstance(value, (str, numbers.Integral)):
        return [value]
    return list(value)


def _covariance_grid(covariance_type) -> list[str]:
    names = list(MODELS) if covariance_type == "all" else _as_list(covariance_type)
    known = [*COVARIANCE_TYPES, *UNIVARIATE_MODELS]
    if not names or not all(isinstance(n, str) and n in known for n in names):
        raise ValueError(
            f"Invalid covariance_type={covariance_type!r}: expected 'all', one of "
            f"{', '.join(COVARIANCE_TYPES)} (or, on one feature, mclust's 'E' and 'V'), "
            "or a list of them."
        )
    return list(dict.fromkeys(canonical_name(n) for n in names))  # mclust codes, once each


def _components_grid(n_components) -> list[int]:
    try:
        values = _as_list(n_components)
    except TypeError:
        values = None
    if not values or not all(is_int(k) and k >= 1 for k in values):
        raise ValueError(
            f"Invalid n_components={n_components!r}: expected an integer >= 1 or a list of them."
        )
    return sorted({int(k) for k in values})


def _edda_fit(X, weights, onehot, model, reg_covar, tol, max_iter):
    """Class means, priors and covariances under ``model`` from known classes.

    Returns ``(params, log_likelihood, n_iter)``: the complete-data (classification)
    log-likelihood ``sum_n w_n log(pi_y N(x_n | mu_y, Sigma_y))``. Iterative M-steps
    are repeated (each from the previous covariances) until it stops increasing.
    """
    counts = weights @ onehot
    shift = (onehot * weights[:, np.newaxis]).T @ X / counts[:, np.newaxis]
    stats = statistics_from_responsibilities(X, weights, onehot, shift, model.scatter)
    labels = onehot.argmax(axis=1)
    params, previous, n_iter = None, -np.inf, 0
    while n_iter < max(max_iter, 1):
        n_iter += 1
        params = m_step(stats, model, reg_covar, None if params is None else params.covariance)
        weighted = params.weighted_log_prob(X)
        log_likelihood = float(weights @ weighted[np.arange(X.shape[0]), labels])
        if log_likelihood - previous <= tol * max(abs(log_likelihood), 1.0):
            break
        previous = log_likelihood
    return params, log_likelihood, n_iter


class MixtureClassifier(ClassifierMixin, BaseEstimator):
    """Mixture discriminant analysis: each class modelled by a Gaussian mixture.

    The Python counterpart of mclust's ``MclustDA`` (``model_type="MclustDA"``) and
    ``EDDA`` (``model_type="EDDA"``); see the module docstring and
    ``docs/incomplete-data.md``.

    Parameters
    ----------
    n_components : int or iterable of int, default=(1, 2, 3, 4, 5)
        Numbers of components tried for each class (MclustDA; EDDA uses one per class).
        Numbers larger than a class's row count are skipped for that class.
    covariance_type : str or iterable of str, default="all"
        Covariance models tried: mclust codes or scikit-learn aliases; ``"all"`` is the
        fourteen mclust models. A single name with a single ``n_components`` fixes the
        model. On one feature, as in mclust, only the univariate ``"E"`` (equal variance)
        and ``"V"`` (varying variance) are fitted: each name asked for becomes the one
        with its volume letter (``"all"`` gives both), and ``"E"`` and ``"V"`` may be
        named directly there.
    model_type : {"MclustDA", "EDDA"}, default="MclustDA"
        A mixture per class with its own model, or one Gaussian per class with one
        covariance model shared by all classes.
    criterion : {"bic", "aic", "icl"}, default="bic"
        What chooses among the candidates (lower is better). EDDA accepts "bic" and
        "aic" (with classes known, ICL equals BIC).
    reg_covar : float, default=1e-6
        Non-negative ridge added to every variance.
    tol : float, default=1e-5
        Convergence threshold of the EM fits.
    max_iter : int, default=1000
        Most EM iterations per fit.
    random_state : int, RandomState instance or None, default=None
        Seed of the per-class fits.
    n_jobs : int or None, default=None
        Parallel fits of a per-class model search (joblib).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_prior_ : ndarray of shape (n_classes,)
        Share of the training weight of each class.
    n_components_ : ndarray of shape (n_classes,)
        Components of each class's mixture (1 for EDDA).
    covariance_types_ : list of str
        Covariance model of each class (the same for every class under EDDA); ``"E"`` or
        ``"V"`` on one feature.
    estimators_ : list of GaussianMixture
        The fitted mixture of each class (MclustDA only; empty for EDDA).
    means_ : ndarray of shape (n_classes, n_features)
        Class means (EDDA only).
    covariances_ : ndarray of shape (n_classes, n_features, n_features)
        Class covariances (EDDA only).
    n_iter_ : int
        EDDA: M-step passes of the chosen model (1 unless its M-step is iterative);
        MclustDA: the most EM iterations any class's chosen mixture took.
    criterion_ : float
        EDDA: the criterion of the chosen shared model; MclustDA: the sum of the
        per-class criteria. Both are of the classification likelihood (classes known),
        which chose the model; `marginal_bic_` is what mclust reports.
    marginal_log_likelihood_ : float
        Log-likelihood of the training rows under the marginal density
        ``p(x) = sum_c pi_c p(x | c)`` (mclust's ``loglik`` of MclustDA and EDDA).
    marginal_n_parameters_ : int
        mclust's ``df``: the parameters of the class densities (the class priors are
        the observed shares, not counted).
    marginal_bic_ : float
        ``-2 marginal_log_likelihood_ + marginal_n_parameters_ log(n)``, n the total
        training weight; lower is better. mclust's ``bic`` is the same number with the
        opposite sign.
    n_features_in_ : int
        Number of features seen in `fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when `fit` was given a DataFrame with string column names.

    See Also
    --------
    sklearn.discriminant_analysis.LinearDiscriminantAnalysis : EDDA with ``"tied"``.
    sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis : EDDA with ``"full"``.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import MixtureClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(4, 1, (60, 2))])
    >>> y = np.repeat(["a", "b"], 60)
    >>> clf = MixtureClassifier(n_components=[1, 2], covariance_type=["VVV", "EII"],
    ...                         random_state=0).fit(X, y)
    >>> clf.predict([[0.0, 0.0], [4.0, 4.0]]).tolist()
    ['a', 'b']
    """

    _rules = {
        "model_type": one_of(MODEL_TYPES),
        "criterion": one_of(_CRITERIA),
        "reg_covar": real(0.0),
        "tol": real(0.0),
        "max_iter": integer(1),
        "random_state": seed_like(),
    }

    def __init__(
        self,
        n_components=(1, 2, 3, 4, 5),
        *,
        covariance_type="all",
        model_type="MclustDA",
        criterion="bic",
        reg_covar=1e-6,
        tol=1e-5,
        max_iter=1000,
        random_state=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.model_type = model_type
        self.criterion = criterion
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit a density to each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Class labels (any hashable values).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        self : MixtureClassifier
        """
        validate_parameters(self.get_params(deep=False), self._rules)
        models = _covariance_grid(self.covariance_type)
        components = _components_grid(self.n_components)
        if self.model_type == "EDDA" and self.criterion == "icl":
            raise ValueError("EDDA chooses its model by 'bic' or 'aic'; ICL equals BIC there.")
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        models = models_for_features(models, X.shape[1])  # one feature: mclust's E and V
        check_classification_targets(y)
        weights = check_sample_weight(sample_weight, X.shape[0], np.float64)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        onehot = np.eye(len(self.classes_))[y_index]
        class_weight = weights @ onehot
        if np.count_nonzero(class_weight) < 2:
            raise ValueError(
                "MixtureClassifier needs at least 2 classes with positive weight; got "
                f"{np.count_nonzero(class_weight)} class. Pass rows of several classes."
            )
        self.class_prior_ = class_weight / class_weight.sum()
        if self.model_type == "EDDA":
            self._fit_edda(X, weights, onehot, models)
        else:
            self._fit_mclustda(X, weights, y_index, components, models)
        self._store_marginal_criteria(X, weights)
        return self

    def _store_marginal_criteria(self, X, weights) -> None:
        """mclust's criteria of the fitted classifier: those of the marginal density
        ``p(x) = sum_c pi_c p(x | c)`` of the training rows (see `marginal_bic_`)."""
        with np.errstate(divide="ignore"):
            joint = self._class_log_density(X) + np.log(self.class_prior_)
        self.marginal_log_likelihood_ = float(weights @ logsumexp(joint, axis=1))
        self.marginal_n_parameters_ = self._mclust_n_parameters(X.shape[1])
        self.marginal_bic_ = criteria.bic(
            self.marginal_log_likelihood_, self.marginal_n_parameters_, weights.sum()
        )

    def _mclust_n_parameters(self, n_features: int) -> int:
        """mclust's ``df`` of a fitted MclustDA / EDDA model.

        The class priors are the observed class shares, not parameters. EDDA: the class
        means and one covariance model over the classes (``d C + nVarParams(model, d,
        C)``); MclustDA: each class's mixture, weights included (``sum_c (G_c - 1) + G_c
        d + nVarParams(model_c, d, G_c)``).
        """
        if self.model_type == "EDDA":
            n_classes = len(self._present)
            model = get_covariance_model(self.covariance_types_[self._present[0]])
            return int(
                model.n_covariance_parameters(n_classes, n_features) + n_classes * n_features
            )
        return int(sum(e.n_parameters_ for e in self.estimators_ if e is not None))

    def _fit_edda(self, X, weights, onehot, models) -> None:
        present = onehot[:, self.class_prior_ > 0]
        n = weights.sum()
        best = None
        reasons = []
        for name in models:
            model = get_covariance_model(name)
            try:
                params, log_likelihood, n_iter = _edda_fit(
                    X, weights, present, model, self.reg_covar, self.tol, self.max_iter
                )
            except SingularCovarianceError as exc:
                reasons.append(f"{name}: {exc}")
                continue
            n_parameters = model.n_parameters(*params.means.shape)
            if self.criterion == "bic":
                score = criteria.bic(log_likelihood, n_parameters, n)
            else:
                score = criteria.aic(log_likelihood, n_parameters)
            if best is None or score < best[0]:
                best = (score, name, params, n_iter)
        if best is None:
            raise ValueError(
                "No covariance model could be fitted to the classes ("
                + "; ".join(reasons)
                + "). Increase reg_covar or try other covariance models."
            )
        self.criterion_, name, params, self.n_iter_ = best
        n_classes, n_features = len(self.classes_), X.shape[1]
        self._edda_params = params
        self._present = np.flatnonzero(self.class_prior_ > 0)
        self.covariance_types_: list[str | None] = [canonical_name(name)] * n_classes
        self.n_components_ = np.ones(n_classes, dtype=int)
        self.estimators_: list[GaussianMixture | None] = []
        self.means_ = np.full((n_classes, n_features), np.nan)
        self.means_[self._present] = params.means
        self.covariances_ = np.full((n_classes, n_features, n_features), np.nan)
        self.covariances_[self._present] = params.covariance.dense_covariances(*params.means.shape)

    def _fit_mclustda(self, X, weights, y_index, components, models) -> None:
        from ..selection import select_model

        self.estimators_ = []
        self.covariance_types_ = []
        n_components = []
        total = 0.0
        for c in range(len(self.classes_)):
            rows = (y_index == c) & (weights > 0)
            if not rows.any():
                self.estimators_.append(None)
                self.covariance_types_.append(None)
                n_components.append(0)
                continue
            if rows.sum() < 2:
                raise ValueError(
                    f"Class {self.classes_[c]!r} has {rows.sum()} row with positive weight; "
                    "a mixture needs at least 2. Drop the class or add rows."
                )
            grid = [k for k in components if k < rows.sum()] or [1]
            result = select_model(
                X[rows],
                n_components=grid,
                covariance_types=models,
                criterion=self.criterion,
                random_state=self.random_state,
                sample_weight=weights[rows],
                n_jobs=self.n_jobs,
                reg_covar=self.reg_covar,
                tol=self.tol,
                max_iter=self.max_iter,
            )
            estimator = result.best_estimator_
            self.estimators_.append(estimator)
            self.covariance_types_.append(canonical_name(estimator.covariance_type))
            n_components.append(estimator.n_components)
            total += float(result.best_score_)
        self.n_components_ = np.array(n_components)
        self.criterion_ = total
        self.n_iter_ = max(e.n_iter_ for e in self.estimators_ if e is not None)

    # ------------------------------------------------------------------ prediction
    def _class_log_density(self, X) -> np.ndarray:
        """``log p(x | c)`` for each row and class; -inf for classes without weight."""
        out = np.full((X.shape[0], len(self.classes_)), -np.inf)
        if self.model_type == "EDDA" and hasattr(self, "_edda_params"):
            params = self._edda_params
            out[:, self._present] = params.covariance.log_gaussian(X, params.means)
            return out
        for c, estimator in enumerate(self.estimators_):
            if estimator is not None:
                out[:, c] = estimator.score_samples(X)
        return out

    def _joint_log_likelihood(self, X) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with np.errstate(divide="ignore"):
            return self._class_log_density(X) + np.log(self.class_prior_)

    def predict_log_proba(self, X):
        """Log posterior probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        joint = self._joint_log_likelihood(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Posterior probability of each class, ``pi_c p(x | c) / sum_c' pi_c' p(x | c')``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        joint = self._joint_log_likelihood(X)
        return self.classes_[joint.argmax(axis=1)]

    def __sklearn_tags__(self):
        """scikit-learn's tags: a classifier whose scores are meaningful."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = False
        return tags
