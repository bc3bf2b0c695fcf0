"""`GaussianMixture`: a drop-in replacement for ``sklearn.mixture.GaussianMixture``."""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.utils import check_random_state

from ..checks.parameters import (
    check_initial_array,
    check_magnitude,
    check_sample_weight,
    one_of,
    optional_array,
    validate_parameters,
)
from ..checks.sklearn_wording import (
    precision_not_positive,
    weights_not_normalised,
    weights_out_of_range,
    with_advice,
)
from ..engine.core import criteria
from ..engine.core.em import EMResult
from ..engine.core.params import MixtureParams
from ..engine.covariance.forms import DiagonalForm, FullForm, SingularCovarianceError, SphericalForm
from ..engine.covariance.models import (
    ALIASES,
    COVARIANCE_TYPES,
    UNIVARIATE_MODELS,
    get_covariance_model,
)
from ._base import MixtureBase
from ._degenerate import record_degeneracy, warn_if_degenerate
from ._fit_plan import FitPlan, compiled_rows
from ._incomplete import MISSING_RULES, IncompleteDataMixin
from ._noise import NOISE_RULES, noise_start
from ._prior import PRIOR_RULE, m_step_under_prior
from ._scale import STREAMING_RULES, MinibatchRunner, OnlineEMMixin, total_log_likelihood

__all__ = ["GaussianMixture"]


class GaussianMixture(IncompleteDataMixin, OnlineEMMixin, MixtureBase):
    """Gaussian mixture model fitted by Expectation-Maximization.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture` with the same
    parameters, attributes and methods, plus exact sample weights, all of mclust's
    covariance parametrisations, float32 computation and bounded memory (the E-step
    runs over row chunks and only accumulates sufficient statistics).

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default="full"
        The covariance model: a scikit-learn name (``"full"``, ``"tied"``, ``"diag"``,
        ``"spherical"``) or an mclust code (``"VVV"``, ``"EEE"``, ``"VVI"``, ``"VII"``, ...).
        scikit-learn names give scikit-learn's attribute shapes; mclust codes give
        covariances of shape (n_components, n_features, n_features). On one feature,
        mclust's univariate ``"E"`` (equal variance) and ``"V"`` (varying variance)
        are accepted too.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood per sample.
    reg_covar : float, default=1e-6
        Non-negative ridge added to every variance; 0 is allowed.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest final log-likelihood is kept.
    init_params : {"best-of-kmeans", "kmeans", "k-means++", "random", "random_from_data", \
"hierarchical"}, default="best-of-kmeans"
        How the initial responsibilities are chosen. ``"best-of-kmeans"`` runs k-means 10
        times on a sample of at most 10,000 rows and starts from the partition whose
        mixture has the highest log-likelihood (on every row; see
        ``docs/benchmarks-init.md``): a single k-means run often ends in a partition
        that merges two clusters. ``"kmeans"`` is scikit-learn's default (one k-means run
        on every in-memory row): with it, the same ``random_state`` starts exactly where
        scikit-learn starts. ``"hierarchical"`` cuts mclust's model-based agglomerative
        tree at ``n_components`` clusters.
    weights_init : array-like of shape (n_components,), default=None
        Initial mixing weights.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped as ``precisions_`` is.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.
    warm_start : bool, default=False
        If True, each ``fit`` starts from the previous solution (and ``n_init`` is ignored).
    verbose : int, default=0
        0 silent, 1 prints each initialisation, 2 also prints iterations. A small
        in-memory fit whose EM loop runs compiled (see ``docs/architecture.md``) prints
        its iterations when the loop returns, so their time lapses are not the
        iterations' own; the initialisation's total time lapse is.
    verbose_interval : int, default=10
        Iterations between progress lines.
    batch_size : int or None, default=None
        None fits by full EM. An integer fits by mini-batch (online) EM over batches of
        that many rows, ``max_iter`` passes at most; for data too large for full passes
        to be affordable. A constructor parameter, as in ``MiniBatchKMeans``, so that
        ``clone``, pipelines and grid searches carry it.
    learning_offset : float, default=10.0
        ``t0`` of the online EM step size ``(t0 + t) ** -learning_decay`` (mini-batch
        fits and `partial_fit`); larger values damp the first steps.
    learning_decay : float, default=0.7
        ``kappa`` of the step size, in (0.5, 1]: how fast old batches are forgotten.
    missing : {"error", "marginalize"}, default="error"
        What NaN in X means. ``"error"`` refuses it. ``"marginalize"`` treats NaN as a
        value missing at random: EM runs on each row's observed coordinates
        (Ghahramani & Jordan 1994), and ``score_samples``, ``predict_proba`` and
        ``predict`` use the marginal density of the observed coordinates. Rows with
        every value missing are ignored (with a warning). See ``docs/incomplete-data.md``.
    prior : None, "default" or ConjugatePrior, default=None
        None fits by maximum likelihood. ``"default"`` (mclust's ``priorControl()``) or a
        `ConjugatePrior` fits by MAP-EM (Fraley & Raftery 2007): the M-step returns the
        posterior mode, which keeps covariances from collapsing even with
        ``reg_covar=0``. Supported for EII, VII, EEI, VVI, EEE (tied) and VVV (full).
        `bic` then uses the log-likelihood at the MAP estimate, as mclust does. See
        ``docs/bayesian.md``.
    noise : bool or array-like of bool of shape (n_samples,), default=False
        Add a uniform noise component for scattered outliers (Banfield & Raftery 1993,
        mclust's ``initialization$noise``), fitted jointly with the Gaussians. True
        starts from the rows a nearest-neighbour clutter rule flags; a boolean array
        (one entry per training row) gives the initial noise rows. Rows most probably
        noise get label -1 in `predict`; `predict_proba` gains a last column for the
        noise; `score_samples`, `bic` and `sample` include it; it adds one parameter.
        In-memory data without missing values or labels (full EM, mini-batch EM or
        `partial_fit`). See ``docs/model-selection.md``.
    noise_volume : float or None, default=None
        Volume V of the noise region (density 1/V). None takes mclust's ``hypvol``:
        the smaller of the data's bounding box and its principal-components box.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Component covariances: (n_components, n_features, n_features) for ``"full"`` and
        every mclust code, (n_features, n_features) for ``"tied"``,
        (n_components, n_features) for ``"diag"``, (n_components,) for ``"spherical"``.
    precisions_ : ndarray
        Inverses of the covariances, same shape.
    precisions_cholesky_ : ndarray
        Cholesky factors ``P`` of the precisions (``precision = P @ P.T``), same shape.
    converged_ : bool
        Whether the kept initialisation converged.
    collapse_reason_ : str or None
        Why EM stopped before ``max_iter`` without converging: its next M-step could not
        give a component a positive definite covariance (the component collapsing onto a
        point, where the likelihood grows without bound), so the parameters entering that
        step were kept and a ``ConvergenceWarning`` said so. Such parameters are not a
        maximum of the likelihood. None when every M-step succeeded. Read-only; like
        ``converged_`` it describes the last `fit` and is saved in model files.
    degeneracy_reason_ : str or None
        Why the fitted mixture is degenerate (a component whose covariance sits at the
        floor of what the data can define: its likelihood is that of a spike, and mclust
        reports such a fit as NA), as the ``DegenerateFitWarning`` of the last `fit`
        said; None for a sound fit, a fit with a prior, and a model loaded from a file.
        `select_model` never picks a degenerate fit as the best.
    n_iter_ : int
        EM iterations of the kept initialisation.
    lower_bound_ : float
        Mean log-likelihood per sample at the last iteration of the kept initialisation.
    lower_bounds_ : list of float
        Mean log-likelihood per sample at every iteration of the kept initialisation.
    n_parameters_ : int
        Number of free parameters (as mclust counts them), used by `bic` and `aic`.
    n_features_in_ : int
        Number of features seen in `fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when `fit` was given a DataFrame with string column names.
    n_steps_ : int
        Online EM steps taken (batches of a mini-batch fit, calls of `partial_fit`);
        0 after a full-EM `fit`.
    n_missing_values_ : int
        Number of missing (NaN) values in the training data (0 unless
        ``missing="marginalize"``).
    noise_weight_ : float
        Weight of the noise component (0.0 without one); ``weights_`` then sum to
        ``1 - noise_weight_``.
    noise_volume_ : float or None
        Volume of the noise region, None without a noise component.

    See Also
    --------
    sklearn.mixture.GaussianMixture : the estimator this one replaces.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(np.sort(gm.means_[:, 0]))
    array([-0.,  6.])
    """

    _rules = {
        **MixtureBase._rules,
        "covariance_type": one_of(lambda: (*COVARIANCE_TYPES, *UNIVARIATE_MODELS)),
        "weights_init": optional_array(),
        "means_init": optional_array(),
        "precisions_init": optional_array(),
        **STREAMING_RULES,
        **MISSING_RULES,
        "prior": PRIOR_RULE,
        **NOISE_RULES,
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="best-of-kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        batch_size=None,
        learning_offset=10.0,
        learning_decay=0.7,
        missing="error",
        prior=None,
        noise=False,
        noise_volume=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.batch_size = batch_size
        self.learning_offset = learning_offset
        self.learning_decay = learning_decay
        self.missing = missing
        self.prior = prior
        self.noise = noise
        self.noise_volume = noise_volume

    # ------------------------------------------------------------------ fitting
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most probable component of each row.

        Equivalent to ``fit(X).predict(X)`` but with one final E-step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        self._fit(X, sample_weight, self.batch_size, y)
        return self.predict(X)

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the mixture's parameters by EM.

        Parameters
        ----------
        X : array-like, numpy.memmap, dask.array.Array, dask.dataframe.DataFrame or \
ParquetSource of shape (n_samples, n_features)
            Training data; a DataFrame's column names are kept. Memory maps and
            Parquet files are read chunk by chunk, Dask collections are reduced on
            their workers (see ``docs/scale.md``).
        y : array-like of shape (n_samples,), default=None
            Optional partial labels for semi-supervised EM: a component index
            (0..n_components-1) for labelled rows and -1 for the others. Labelled rows
            keep their component; the labels also seed the initialisation. A ``y``
            without any -1 is ignored (as scikit-learn's mixtures ignore ``y``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. Integer weights give the same model as
            repeating rows.

        Returns
        -------
        self : GaussianMixture
            The fitted estimator.
        """
        self._fit(X, sample_weight, self.batch_size, y)
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online EM (Cappé & Moulines 2009) on the batch ``X``.

        The first call initialises the model from its batch (``init_params``, then EM on
        the batch). Each later call computes the batch's sufficient statistics under the
        current parameters, blends them into running statistics with step
        ``(learning_offset + t) ** -learning_decay`` and re-estimates the parameters.
        The model can be used after every call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or any input `fit` accepts
            One batch of rows.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        self : GaussianMixture
        """
        return self._online_em_step(X, sample_weight)

    def _fit(self, X, sample_weight, batch_size, y=None, *, check_degeneracy: bool = True):
        """Validate the parameters and the data, then fit; returns the data source.

        All or nothing: if anything fails or interrupts the fit (KeyboardInterrupt
        included), the estimator is restored to its state before the call, unfitted
        or with its previous complete parameters. ``check_degeneracy=False`` leaves
        the degeneracy check (and its warning) to the caller (`_record_degeneracy`).
        """
        validate_parameters(self.get_params(deep=False), self._rules)
        with self._all_or_nothing():
            with self._reading_training_data():
                data = self._training_source(X, sample_weight)
            rows = data.in_memory()
            if rows is not None:  # in memory: cheap to check
                check_magnitude(rows[0], getattr(self, "feature_names_in_", None))
            self._check_missing_values(data)
            self._fit_source(data, batch_size, labels=self._read_labels(y, data))
        if check_degeneracy:
            warn_if_degenerate(self, data)
        else:  # no stale reason from an earlier fit
            self.__dict__.pop("_degeneracy_reason", None)
        return data

    def _record_degeneracy(self, data, responsibilities=None) -> str | None:
        """Record (and return) why the fit is degenerate, or None, without warning.

        For callers of ``_fit(..., check_degeneracy=False)`` that keep the fit.

        Parameters
        ----------
        data : DataSource
            The training data, as `_fit` returned them.
        responsibilities : ndarray of shape (n_samples, n_columns), optional
            ``predict_proba`` of all of ``data``'s rows, if the caller has them.

        Returns
        -------
        reason : str or None
        """
        return record_degeneracy(self, data, responsibilities)

    def _fit_source(self, data, batch_size, labels=None) -> None:
        """Fit by full EM (``batch_size=None``) or mini-batch EM over a data source.

        ``labels`` (a component per row, -1 if unknown) makes the fit semi-supervised.
        """
        model = get_covariance_model(self.covariance_type)
        model.check_n_features(data.n_features)
        self._check_parameter_memory(model, data)
        self._run_and_store(self._fit_plan(data, model, batch_size, labels), data.dtype)

    def _run_and_store(self, plan: FitPlan, dtype) -> None:
        """Run ``plan``'s EM runs and keep the best as this estimator's fit."""
        best = self._best_of_runs(plan.run, plan.warm, plan.monitor, dtype)
        self._store_fit(best, plan.model, dtype)
        self._running_stats, self.n_steps_ = best.running, best.n_steps

    def _warm_refits(self, X, sample_weight=None):
        """Fit, then fit again from the previous fit at each further step: a generator.

        For replays that call ``fit`` over and over with ``warm_start=True`` (e.g. with
        ``max_iter=1``, one EM iteration per call). The first ``next()`` fits as ``fit``
        does; each later one computes what another ``fit(X, sample_weight=...)`` would,
        but the data are validated and the fit planned once, not at every step, and no
        step checks the fit for degeneracy: each ``next()`` returns the training data
        source, for `_record_degeneracy` on the fit the caller keeps. A step that fails
        raises as ``fit`` does and leaves the previous step's fit in place.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, as for `fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, as for `fit`.

        Yields
        ------
        data : DataSource
            The validated training data.
        """
        if not self.warm_start:
            raise ValueError("_warm_refits continues fits: it needs warm_start=True.")
        data = self._fit(X, sample_weight, self.batch_size, check_degeneracy=False)
        yield data
        # Planned after the first fit, so the plan is warm: each run starts from the last.
        planned = self._fit_plan(data, self._model, self.batch_size, None)
        while True:
            # A new model instance, as each fit makes one: some (EVE, VVE) remember their
            # last estimate and would start the next M-step from it.
            model = get_covariance_model(self.covariance_type)
            with self._all_or_nothing():
                if self.batch_size is None:
                    plan = dataclasses.replace(planned, model=model)
                else:  # each fit's mini-batches come from a fresh random state
                    plan = self._fit_plan(data, model, self.batch_size, None)
                self._run_and_store(plan, data.dtype)
            yield data

    def _fit_plan(self, data, model, batch_size, labels) -> FitPlan:
        """Check the parameters against the data and decide everything the EM runs need."""
        m_step = m_step_under_prior(self.prior, data, self.n_components, model)
        initial = self._checked_initial_parameters(data.n_features)
        random_state = check_random_state(self.random_state)
        X, weights = data.initialization_sample(random_state)
        X = self._initialization_rows(X, weights)
        self._check_enough_weighted_rows(weights)
        e_step = self._e_step(data, model.scatter, labels)
        noise = noise_start(self, data, X, weights, labels)
        warm = self._continues_previous_fit(data.n_features)
        monitor = self._progress_monitor()
        minibatch = (
            MinibatchRunner(self, data, model, batch_size, random_state)
            if batch_size is not None
            else None
        )
        return FitPlan(
            estimator=self,
            model=model,
            m_step=m_step,
            e_step=e_step,
            X=X,
            weights=weights,
            initial=initial,
            random_state=random_state,
            labels=labels,
            noise=noise,
            warm=warm,
            monitor=monitor,
            minibatch=minibatch,
            source=data,
            compiled_rows=compiled_rows(
                data,
                model,
                self.n_components,
                plain_em=(
                    self.prior is None
                    and noise is None
                    and labels is None
                    and minibatch is None
                    and self.missing != "marginalize"
                ),
            ),
        )

    def _continues_previous_fit(self, n_features: int) -> bool:
        """Whether this fit starts from the previous one (``warm_start`` on a fitted model)."""
        warm = self.warm_start and hasattr(self, "converged_")
        if warm and self._params.n_features != n_features:
            raise ValueError(
                f"warm_start=True continues the previous fit, which had "
                f"{self._params.n_features} features, but X has {n_features}; pass data "
                "with the same columns or set warm_start=False."
            )
        return warm

    def _checked_initial_parameters(self, n_features: int) -> dict:
        """Validate weights_init, means_init and precisions_init against the data's shape."""
        n_components = self.n_components
        initial = {}
        if self.weights_init is not None:
            initial["weights"] = _checked_weights_init(self.weights_init, n_components)
        if self.means_init is not None:
            initial["means"] = check_initial_array(
                "means_init", self.means_init, (n_components, n_features), "means"
            )
        if self.precisions_init is not None:
            form = self._public_form()
            precisions = check_initial_array(
                "precisions_init",
                self.precisions_init,
                form.compact_shape(n_components, n_features),
                f"{self.covariance_type} precision",
            )
            matrices = not issubclass(form, (DiagonalForm, SphericalForm))
            try:
                if matrices and not np.allclose(precisions, np.swapaxes(precisions, -1, -2)):
                    raise SingularCovarianceError("not symmetric")
                initial["covariance"] = form.from_precisions(precisions)
            except SingularCovarianceError as exc:
                raise ValueError(
                    with_advice(
                        precision_not_positive(self.covariance_type, matrices),
                        "precisions_init must be symmetric positive definite (positive for "
                        "'diag' and 'spherical'); pass inverse covariances.",
                    )
                ) from exc
        return initial

    def _public_form(self):
        """The storage form in which users see (and give) covariances and precisions."""
        if self.covariance_type in ALIASES:
            return get_covariance_model(self.covariance_type).form
        return FullForm

    def _store_fit(self, result: EMResult, model, dtype) -> None:
        self._store_em_result(result, model, dtype, self.covariance_type not in ALIASES)
        self.n_parameters_ = int(model.n_parameters(*result.params.means.shape)) + (
            result.params.noise is not None
        )

    # ------------------------------------------------------------------ criteria
    def bic(self, X, sample_weight=None):
        """Bayesian information criterion ``-2 log L + p log n``; lower is better.

        mclust reports ``2 log L - p log n`` (higher is better): the same number with
        the opposite sign.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights; n is their sum.

        Returns
        -------
        bic : float
        """
        log_likelihood, n = total_log_likelihood(self, X, sample_weight)
        return criteria.bic(log_likelihood, self.n_parameters_, n)

    def aic(self, X, sample_weight=None):
        """Akaike information criterion ``-2 log L + 2 p``; lower is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        aic : float
        """
        log_likelihood, _ = total_log_likelihood(self, X, sample_weight)
        return criteria.aic(log_likelihood, self.n_parameters_)

    def icl(self, X, sample_weight=None):
        """Integrated completed likelihood ``BIC - 2 sum_n log max_k p(k | x_n)``; lower is better.

        The BIC penalised by the classification's entropy (Biernacki, Celeux & Govaert
        2000), computed as mclust's ``icl`` does: with the hard (MAP) classification, the
        penalty is ``-2 sum_n log max_k r_nk``. Well-separated clusters add almost nothing;
        overlapping components are penalised. mclust reports the opposite sign.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights; n is their sum.

        Returns
        -------
        icl : float
        """
        resp = self.predict_proba(X)
        weights = check_sample_weight(sample_weight, resp.shape[0], np.float64)
        return self.bic(X, sample_weight) + criteria.classification_penalty(weights, resp)

    @property
    def collapse_reason_(self) -> str | None:
        """Why EM stopped at a collapse before ``max_iter``, or None (see the class's
        Attributes)."""
        self._fitted_params()
        return getattr(self, "_collapse", None)

    @property
    def degeneracy_reason_(self) -> str | None:
        """Why the last fit is degenerate, or None (see the class's Attributes)."""
        self._fitted_params()
        return getattr(self, "_degeneracy_reason", None)

    @property
    def noise_weight_(self):
        """Weight of the noise component (0.0 without one)."""
        noise = self._fitted_params().noise
        return 0.0 if noise is None else float(noise.weight)

    @property
    def noise_volume_(self):
        """Volume of the noise region (None without a noise component)."""
        noise = self._fitted_params().noise
        return None if noise is None else noise.region.volume

    def _n_parameters(self):
        """Number of free parameters (scikit-learn's private name, kept for drop-in use)."""
        return self.n_parameters_

    # ------------------------------------------------------------------ persistence
    @classmethod
    def _from_fitted(
        cls,
        init_params: dict,
        params: MixtureParams,
        *,
        lower_bounds,
        converged: bool,
        n_iter: int,
        output_dtype="float64",
        feature_names=None,
        n_steps: int = 0,
        n_missing_values: int = 0,
        collapse: str | None = None,
    ) -> GaussianMixture:
        """A fitted estimator rebuilt from saved parameters (the hook of `gaussmix.load`).

        ``params`` must already be validated; the fit bookkeeping goes through
        `_store_fit`, exactly as after `fit`.
        """
        estimator = cls(**init_params)
        result = EMResult(
            params, np.asarray(lower_bounds, dtype=np.float64), converged, n_iter, collapse
        )
        model = get_covariance_model(estimator.covariance_type)
        estimator._store_fit(result, model, np.dtype(output_dtype))
        estimator.n_features_in_ = params.n_features
        if feature_names is not None:
            estimator.feature_names_in_ = np.asarray(feature_names, dtype=object)
        estimator.n_steps_ = int(n_steps)
        estimator.n_missing_values_ = int(n_missing_values)
        return estimator


def _checked_weights_init(value, n_components: int) -> np.ndarray:
    """``weights_init`` as n_components numbers in [0, 1] summing to 1 (within 1e-6)."""
    weights = check_initial_array("weights_init", value, (n_components,), "weights")
    smallest, largest, total = float(weights.min()), float(weights.max()), float(weights.sum())
    if smallest < 0 or largest > 1:
        raise ValueError(
            with_advice(
                weights_out_of_range(smallest, largest),
                f"weights_init must be non-negative and sum to 1; its weights range from "
                f"{smallest:.6g} to {largest:.6g}.",
            )
        )
    if not np.isclose(total, 1.0, rtol=0, atol=1e-6):
        raise ValueError(
            with_advice(
                weights_not_normalised(total),
                f"weights_init must be non-negative and sum to 1; got sum {total:.6g}. "
                "Divide the weights by their sum.",
            )
        )
    return weights
