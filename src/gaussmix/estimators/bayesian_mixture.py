"""`BayesianGaussianMixture`: a drop-in replacement for ``sklearn.mixture.BayesianGaussianMixture``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..checks.parameters import (
    Rule,
    check_initial_array,
    is_real,
    one_of,
    optional_array,
    validate_parameters,
)
from ..checks.sklearn_wording import (
    ILL_DEFINED_COVARIANCE,
    bad_degrees_of_freedom_prior,
    with_advice,
)
from ..engine.bayesian.map_prior import mean_and_covariance
from ..engine.bayesian.variational import (
    WEIGHT_PRIORS,
    NormalWishartPrior,
    VariationalPosterior,
    evidence_lower_bound,
    merged_partition,
    pooled_responsibilities,
    variational_chunk_statistics,
    variational_update,
)
from ..engine.core.em import EMResult, run_em
from ..engine.core.estep import statistics_about_data_mean, statistics_from_responsibilities
from ..engine.core.initialization import initial_responsibilities
from ..engine.core.params import MixtureParams
from ..engine.covariance.models import MODELS, get_covariance_model, names_with
from ._base import MixtureBase
from ._prior import data_statistics
from .gaussian_mixture import GaussianMixture

__all__ = ["BayesianGaussianMixture"]

#: Initialisations that give hard clusters, pooled before variational Bayes starts.
_POOLED_INITIALIZERS = frozenset({"kmeans"})

#: Default of `prune` and of `n_effective_components_`: components below 1% weight.
DEFAULT_PRUNE_THRESHOLD = 0.01


def _positive_or_none(value: object) -> bool | np.bool_:
    return value is None or (is_real(value) and np.isfinite(value) and value > 0)


def _positive_number_or_none() -> Rule:
    return Rule(_positive_or_none, "None or a finite number > 0")


def _variational_covariance_types() -> list[str]:
    """scikit-learn's names of the models with a variational posterior (full, tied, ...)."""
    return [MODELS[code].sklearn_name or code for code in names_with("supports_variational")]


class BayesianGaussianMixture(MixtureBase):
    """Variational Bayesian Gaussian mixture (finite Dirichlet or Dirichlet process).

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture` with the
    same parameters, defaults, fitted attributes and methods, computed on gaussmix's
    engine: the variational update is a conjugate update of the E-step's sufficient
    statistics, so exact ``sample_weight``, float32 data and bounded memory (row
    chunks) work as in `GaussianMixture`. Components the data do not need get weights
    near zero; `n_effective_components_` counts the others and `prune` returns a plain
    `GaussianMixture` with them only.

    Parameters
    ----------
    n_components : int, default=1
        Upper bound on the number of components (the truncation level).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        The covariance model (mclust VVV, EEE, VVI, VII).
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (the total over the
        data, as scikit-learn uses it).
    reg_covar : float, default=1e-6
        Non-negative ridge added to each component's empirical covariance.
    max_iter : int, default=100
        Maximum number of iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the initial responsibilities are chosen.
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}, \
default="dirichlet_process"
        Stick-breaking (truncated Dirichlet process) or finite Dirichlet prior on the weights.
    weight_concentration_prior : float or None, default=None
        Concentration ``gamma_0 > 0``; small values favour few components.
        None means ``1 / n_components``.
    mean_precision_prior : float or None, default=None
        ``beta_0 > 0``, the prior's weight on ``mean_prior`` in pseudo-points. None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        Prior mean of the component means. None means the (weighted) data mean.
    degrees_of_freedom_prior : float or None, default=None
        Wishart degrees of freedom ``nu_0 > n_features - 1``. None means ``n_features``.
    covariance_prior : float or array-like, default=None
        Wishart scale inverse: (n_features, n_features) for "full" and "tied",
        (n_features,) for "diag", a float for "spherical". None means the (weighted,
        unbiased) covariance of the data, in that shape.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of `sample`.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the previous solution.
    verbose : int, default=0
        0 silent, 1 prints each initialisation, 2 also prints iterations.
    verbose_interval : int, default=10
        Iterations between progress lines.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean weights.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means of the component means.
    covariances_, precisions_, precisions_cholesky_ : ndarray
        Inverse posterior mean precisions, their inverses and Cholesky factors, in
        scikit-learn's shapes for ``covariance_type``.
    weight_concentration_prior_ : float
    weight_concentration_ : ndarray of shape (n_components,) or tuple of two such arrays
        Posterior Dirichlet concentrations, or the Beta parameters of the sticks.
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        A single value for ``"tied"``.
    covariance_prior_ : float or ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The lower bound of the kept initialisation (up to the constants scikit-learn drops).
    lower_bounds_ : list of float
        The lower bound after every iteration; it never decreases.
    n_effective_components_ : int
        Components with weight of at least 1% (`prune`'s default threshold).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    sklearn.mixture.BayesianGaussianMixture : the estimator this one replaces.
    GaussianMixture : maximum likelihood (or MAP with ``prior=``) by EM.

    Notes
    -----
    Restarts (``n_init``) are compared by their final lower bound, as in scikit-learn;
    see ``docs/bayesian.md`` for the choice of initialisation with many components.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import BayesianGaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(6, 1, (200, 2))])
    >>> bgm = BayesianGaussianMixture(n_components=6, weight_concentration_prior=0.01,
    ...                               random_state=0).fit(X)
    >>> bgm.n_effective_components_
    2
    >>> bgm.prune().n_components
    2
    """

    _rules = {
        **MixtureBase._rules,
        "covariance_type": one_of(_variational_covariance_types),
        "weight_concentration_prior_type": one_of(WEIGHT_PRIORS),
        "weight_concentration_prior": _positive_number_or_none(),
        "mean_precision_prior": _positive_number_or_none(),
        "mean_prior": optional_array(),
        "degrees_of_freedom_prior": _positive_number_or_none(),
        "covariance_prior": Rule(
            lambda v: v is None or isinstance(v, (np.ndarray, list, tuple)) or _positive_or_none(v),
            "None, a number > 0 (spherical) or an array",
        ),
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------------ fitting
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the variational posterior and return the most probable component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row (integer weights act as repeated rows).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        validate_parameters(self.get_params(deep=False), self._rules)
        with self._all_or_nothing():
            data = self._training_source(X, sample_weight)
            self._fit_variational(data)
        return self.predict(X)

    def _fit_variational(self, data) -> None:
        """Run the restarts of variational EM over ``data`` and store the best posterior."""
        model = get_covariance_model(self.covariance_type)
        self._check_parameter_memory(model, data)
        random_state = check_random_state(self.random_state)
        X_start, weights = data.initialization_sample(random_state)
        self._check_enough_weighted_rows(weights)
        prior = self._checked_prior(data)
        weight_prior = WEIGHT_PRIORS[self.weight_concentration_prior_type]

        def e_step(posterior):
            return data.map_reduce(
                lambda X_chunk, w_chunk: variational_chunk_statistics(
                    X_chunk, w_chunk, posterior, model.scatter
                )
            )

        def update(stats, posterior=None):
            return variational_update(stats, prior, model, weight_prior, self.reg_covar)

        def lower_bound(stats, posterior):
            return evidence_lower_bound(stats.log_likelihood, posterior)

        warm = self.warm_start and hasattr(self, "converged_")
        monitor = self._progress_monitor()

        def run(run_index: int) -> EMResult:
            if warm:
                start = self._params
            else:
                resp = self._initial_responsibilities(X_start, weights, random_state)
                shift = np.broadcast_to(prior.mean, (self.n_components, X_start.shape[1]))
                start = update(
                    statistics_from_responsibilities(X_start, weights, resp, shift, model.scatter)
                )
            result = run_em(
                start,
                e_step,
                update,
                tol=self.tol,
                max_iter=self.max_iter,
                lower_bound=self.lower_bound_ if warm else -np.inf,
                monitor=monitor,
                objective=lower_bound,
            )
            return result

        try:
            best = self._best_of_runs(run, warm, monitor)
        except ValueError as exc:
            if self.covariance_prior is None:
                _explain_singular_default_prior(self.covariance_prior_, exc)
            raise
        self._store_fit(best, model, data.dtype)

    def _initial_responsibilities(self, X, weights, random_state) -> np.ndarray:
        """Initial responsibilities by ``init_params`` (tests replace this hook).

        With ``"kmeans"``, the ``n_components`` k-means clusters are then pooled while
        the classification BIC improves (`merged_partition`), largest first, and the
        remaining components start empty: k-means with many clusters cuts every true
        component into pieces that variational Bayes takes hundreds of iterations to
        merge, and a stick-breaking prior works best with its heaviest sticks first.
        """
        resp = initial_responsibilities(
            self.init_params, X, weights, self.n_components, random_state
        )
        if self.init_params not in _POOLED_INITIALIZERS:
            return resp
        model = get_covariance_model(self.covariance_type)
        stats = statistics_about_data_mean(X, weights, resp, model.scatter)
        return pooled_responsibilities(resp, merged_partition(stats, model, self.reg_covar))

    def _checked_prior(self, data) -> NormalWishartPrior:
        """The prior with data-driven defaults; records the ``*_prior_`` attributes."""
        data_mean, data_covariance = mean_and_covariance(data_statistics(data))
        n_features = data_mean.shape[0]
        self.weight_concentration_prior_ = (
            1.0 / self.n_components
            if self.weight_concentration_prior is None
            else float(self.weight_concentration_prior)
        )
        self.mean_precision_prior_ = (
            1.0 if self.mean_precision_prior is None else float(self.mean_precision_prior)
        )
        self.mean_prior_ = (
            data_mean
            if self.mean_prior is None
            else check_initial_array("mean_prior", self.mean_prior, (n_features,), "means")
        )
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = float(n_features)
        elif self.degrees_of_freedom_prior > n_features - 1:
            self.degrees_of_freedom_prior_ = float(self.degrees_of_freedom_prior)
        else:
            raise ValueError(
                with_advice(
                    bad_degrees_of_freedom_prior(n_features, self.degrees_of_freedom_prior),
                    f"degrees_of_freedom_prior={self.degrees_of_freedom_prior} must be greater "
                    f"than n_features - 1 = {n_features - 1}; use None for n_features.",
                )
            )
        self.covariance_prior_ = _checked_covariance_prior(
            self.covariance_prior, data_covariance, self.covariance_type
        )
        return NormalWishartPrior(
            weight_concentration=self.weight_concentration_prior_,
            mean_precision=self.mean_precision_prior_,
            mean=np.asarray(self.mean_prior_, dtype=np.float64),
            degrees_of_freedom=self.degrees_of_freedom_prior_,
            covariance=self.covariance_prior_,
        )

    def _store_fit(self, result: EMResult[VariationalPosterior], model, dtype) -> None:
        posterior = result.params
        self._store_em_result(result, model, dtype, dense_covariances=False)
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.degrees_of_freedom_ = posterior.degrees_of_freedom

    # ------------------------------------------------------------------ pruning
    @property
    def n_effective_components_(self) -> int:
        """Number of components with weight of at least 1% (see `prune`)."""
        check_is_fitted(self, "converged_")
        return int(np.count_nonzero(self._params.weights >= DEFAULT_PRUNE_THRESHOLD))

    def prune(self, threshold: float = DEFAULT_PRUNE_THRESHOLD) -> GaussianMixture:
        """A fitted `GaussianMixture` with only the components of weight >= ``threshold``.

        The kept components keep their means and covariances (the posterior point
        estimates); their weights are divided by their sum. The result predicts, scores
        and samples as a maximum-likelihood mixture does; it ran no EM iterations of
        its own (``n_iter_ == 0``, empty ``lower_bounds_``).

        Parameters
        ----------
        threshold : float, default=0.01
            Minimum weight of a kept component, in [0, 1).

        Returns
        -------
        GaussianMixture
        """
        check_is_fitted(self, "converged_")
        weights = self._params.weights
        if not (isinstance(threshold, numbers.Real) and 0 <= threshold < 1):
            raise ValueError(
                f"Invalid threshold={threshold!r}: expected a number in [0, 1), the minimum "
                "weight of a kept component."
            )
        keep = np.flatnonzero(weights >= threshold)
        if keep.size == 0:
            raise ValueError(
                f"No component has weight >= threshold={threshold}; the largest weight is "
                f"{weights.max():.4g}. Use a smaller threshold."
            )
        params = _select_components(self._params.mixture_params(), keep)
        mixture_args = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name in GaussianMixture._rules
        }
        mixture_args["n_components"] = int(keep.size)
        return GaussianMixture._from_fitted(
            mixture_args,
            params,
            lower_bounds=[],
            converged=self.converged_,
            n_iter=0,
            output_dtype=self._output_dtype,
            feature_names=getattr(self, "feature_names_in_", None),
        )


def _select_components(params: MixtureParams, keep: np.ndarray) -> MixtureParams:
    """The components ``keep`` of ``params``, weights renormalised."""
    form = params.covariance
    n_features = params.n_features
    # A form whose compact shape grows with the number of components stores one
    # covariance per component; otherwise (tied) all share one.
    per_component = form.compact_shape(1, n_features) != form.compact_shape(2, n_features)
    factors = form.precisions_cholesky[keep] if per_component else form.precisions_cholesky
    covariances = form.covariances[keep] if per_component else form.covariances
    weights = params.weights[keep]
    return MixtureParams(
        weights=weights / weights.sum(),
        means=params.means[keep],
        covariance=type(form)(covariances, factors),
    )


def _checked_covariance_prior(value, default_scale, covariance_type):
    """The Wishart scale inverse in the model's shape, validated, or the data default."""
    defaults = {
        "full": default_scale,
        "tied": default_scale,
        "diag": np.diag(default_scale).copy(),
        "spherical": float(np.diag(default_scale).mean()),
    }
    if value is None:
        return defaults[covariance_type]
    expected = np.shape(defaults[covariance_type])
    array = check_initial_array(
        "covariance_prior", value, expected, f"{covariance_type} covariance_prior"
    )
    how = {
        "full": "a symmetric positive definite (n_features, n_features) matrix",
        "tied": "a symmetric positive definite (n_features, n_features) matrix",
        "diag": "n_features positive variances",
        "spherical": "one positive variance",
    }[covariance_type]
    symmetric = array.ndim < 2 or np.allclose(array, array.T)
    positive = np.all(np.linalg.eigvalsh(array) > 0) if array.ndim == 2 else np.all(array > 0)
    if not (symmetric and positive):
        raise ValueError(f"covariance_prior for covariance_type={covariance_type!r} must be {how}.")
    return float(array) if array.ndim == 0 else array


def _explain_singular_default_prior(scale, error: ValueError) -> None:
    """Re-raise ``error`` with the cause when the default Wishart scale is singular.

    The default scale is the data's covariance (variances, average variance); the Wishart
    prior keeps every posterior covariance positive definite only if it is. A component
    that receives (almost) no rows keeps the prior as its posterior, so a singular prior
    makes its covariance singular whatever ``reg_covar`` is.
    """
    scale = np.asarray(scale, dtype=np.float64)
    try:
        if scale.ndim == 2:
            np.linalg.cholesky(scale)
        elif np.any(scale <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        variances = np.diag(scale) if scale.ndim == 2 else np.atleast_1d(scale)
        constant = np.flatnonzero(variances <= 0)
        why = (
            f"column(s) {constant.tolist()} of X are constant"
            if constant.size
            else "some columns of X are linear combinations of others"
        )
        raise ValueError(
            with_advice(
                ILL_DEFINED_COVARIANCE,
                "Here the default covariance_prior, the covariance of X, is singular: "
                f"{why}, and a component without rows keeps that prior as its covariance. "
                "Remove the redundant columns or pass a positive definite covariance_prior.",
            )
        ) from error
