"""What every gaussmix mixture estimator shares: validation, progress, inference.

`GaussianMixture` (maximum likelihood or MAP by EM) and `BayesianGaussianMixture`
(variational Bayes) differ only in how they fit. Once fitted, each holds a private
``_params`` value with ``weights``, ``means``, ``covariance`` (a `CovarianceForm`) and
``weighted_log_prob(X)``; everything below reads nothing else.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..checks.parameters import (
    boolean,
    integer,
    one_of,
    real,
    seed_like,
)
from ..checks.sklearn_wording import CONVERGENCE, bad_n_samples, too_few_samples, with_advice
from ..engine.core.em import EMMonitor, ResultT, best_of_restarts
from ..engine.core.estep import log_responsibilities
from ..engine.core.initialization import INITIALIZERS
from ..engine.core.memory import check_parameter_memory
from ..engine.core.params import MixtureParams
from ..engine.covariance.forms import (
    FullForm,
    SingularCovarianceError,
    singular_covariance_message,
)
from ._scale import SourceReadingMixin, inference_rows, map_rows, total_log_likelihood

__all__ = ["MixtureBase"]


class _VerboseMonitor(EMMonitor):
    """Prints progress as scikit-learn's ``verbose`` does."""

    def __init__(self, verbose: int, interval: int):
        self.verbose = verbose
        self.interval = interval

    def run_started(self, run_index):
        self._start = self._last = time.perf_counter()
        print(f"Initialization {run_index}")

    def iteration_done(self, n_iter, lower_bound, change):
        if n_iter % self.interval:
            return
        now = time.perf_counter()
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        else:
            print(
                f"  Iteration {n_iter}\t time lapse {now - self._last:.5f}s"
                f"\t ll change {change:.5f}"
            )
        self._last = now

    def run_finished(self, result):
        status = "converged" if result.converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        else:
            print(
                f"Initialization {status}. time lapse {time.perf_counter() - self._start:.5f}s"
                f"\t lower bound {result.lower_bound:.5f}"
            )


def _most_probable_component(X: np.ndarray, params) -> np.ndarray:
    """argmax_k of the weighted log-probabilities; -1 where a noise component wins."""
    weighted = params.weighted_log_prob(X)
    if getattr(params, "noise", None) is None:
        return weighted.argmax(axis=1)
    labels = params.with_noise_column(weighted).argmax(axis=1)
    labels[labels == weighted.shape[1]] = -1
    return labels


def _representable(params: MixtureParams, dtype) -> bool:
    """Whether every public parameter of ``params`` is finite in ``dtype``."""
    form = params.covariance
    arrays = (params.weights, params.means, form.covariances, form.precisions_cholesky)
    with np.errstate(all="ignore"):
        return all(
            np.all(np.isfinite(np.asarray(array).astype(dtype)))
            for array in (*arrays, form.precisions)
        )


class MixtureBase(SourceReadingMixin, DensityMixin, BaseEstimator):
    """Validation of the shared parameters and the inference methods of a fitted mixture.

    Subclasses define ``__init__`` (storing parameters only), ``fit_predict`` and extend
    ``_rules`` with their own parameters. ``fit_predict`` must set ``_params``,
    ``_output_dtype`` (the dtype of the training data), ``_dense_covariances`` (whether
    covariances are shown as (n_components, n_features, n_features)) and ``converged_``,
    normally through `_store_em_result`.
    """

    #: Rules of the parameters every mixture estimator has, as scikit-learn names them.
    _rules = {
        "n_components": integer(1),
        "tol": real(0.0),
        "reg_covar": real(0.0),
        "max_iter": integer(0),
        "n_init": integer(1),
        "init_params": one_of(INITIALIZERS),
        "random_state": seed_like(),
        "warm_start": boolean(),
        "verbose": integer(0),
        "verbose_interval": integer(1),
    }

    # ------------------------------------------------------------------ fitting
    def _check_enough_weighted_rows(self, weights: np.ndarray) -> None:
        """Refuse fewer rows with positive weight than ``n_components``."""
        n_weighted_rows = int(np.count_nonzero(weights))
        if n_weighted_rows < self.n_components:
            raise ValueError(
                with_advice(
                    too_few_samples(self.n_components, n_weighted_rows),
                    f"Expected at least n_components={self.n_components} rows with positive "
                    f"weight, got {n_weighted_rows}. Use fewer components or more data.",
                )
            )

    def _store_em_result(self, result, model, dtype, dense_covariances: bool) -> None:
        """What every fit keeps of its EM run: parameters, covariance model, convergence,
        lower bounds, the output dtype and how covariances are shown."""
        self._params = result.params
        self._model = model
        self.converged_ = bool(result.converged)
        # Why EM stopped before max_iter without converging (a component collapsed), or None.
        self._collapse = result.collapse
        self.n_iter_ = int(result.n_iter)
        self.lower_bounds_ = [float(v) for v in result.lower_bounds]
        self.lower_bound_ = result.lower_bound
        self._output_dtype = dtype
        self._dense_covariances = dense_covariances

    def _check_parameter_memory(self, model, data) -> None:
        """Refuse up front a fit whose parameter arrays would not fit in memory."""
        check_parameter_memory(
            model.form.compact_shape(self.n_components, data.n_features),
            np.dtype(data.dtype).itemsize,
            f"n_components={self.n_components} with {data.n_features} features and "
            f"covariance_type={self.covariance_type!r}",
        )

    @contextlib.contextmanager
    def _all_or_nothing(self):
        """Restore the estimator's exact state if the block raises (KeyboardInterrupt included).

        A first fit that fails leaves the estimator unfitted; a refit that fails keeps the
        previous complete parameters and attributes, never a mix of old and new.
        """
        previous_state = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _best_of_runs(
        self,
        run: Callable[[int], ResultT],
        warm: bool,
        monitor: EMMonitor | None,
        dtype=np.float64,
    ) -> ResultT:
        """The best of ``n_init`` calls of ``run(run_index) -> EMResult`` (one when ``warm``).

        Reports each run to ``monitor``, turns a singular covariance into a ValueError and
        warns (ConvergenceWarning, at the caller's caller) when the best did not converge.
        A run that stopped before a singular M-step is kept only if its parameters can be
        shown in the data's ``dtype``; otherwise the collapse is the ValueError.
        """

        def observed_run(run_index: int) -> ResultT:
            if monitor:
                monitor.run_started(run_index)
            result = run(run_index)
            if monitor:
                monitor.run_finished(result)
            return result

        try:
            best = best_of_restarts(1 if warm else self.n_init, observed_run)
        except SingularCovarianceError as exc:
            raise ValueError(str(exc)) from exc
        if not _representable(best.params, dtype):
            # Parameters that are not finite in the data's dtype describe no mixture: a
            # collapse, or a fit driven by rounding (e.g. data at 1e-150 with no ridge).
            raise ValueError(
                best.collapse or singular_covariance_message("a fitted parameter is not finite")
            )
        if best.collapse is not None:
            warnings.warn(
                with_advice(
                    CONVERGENCE,
                    f"EM stopped at iteration {best.n_iter} (max_iter={self.max_iter}) and kept "
                    "the parameters entering it, which are not a maximum of the likelihood, "
                    f"because its M-step failed: {best.collapse}",
                ),
                ConvergenceWarning,
                stacklevel=3,
            )
        elif not best.converged and self.max_iter > 0:
            warnings.warn(
                with_advice(
                    CONVERGENCE,
                    f"Best of {self.n_init} initialisation(s) did not converge in "
                    f"max_iter={self.max_iter} iterations (tol={self.tol}). Increase max_iter "
                    "or tol, or check the data's scale.",
                ),
                ConvergenceWarning,
                stacklevel=3,
            )
        return best

    def _progress_monitor(self) -> EMMonitor | None:
        """The progress printer that ``verbose`` asks for, or None."""
        return _VerboseMonitor(self.verbose, self.verbose_interval) if self.verbose else None

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the mixture's parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; a DataFrame's column names are kept.
        y : Ignored
            Present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. Integer weights give the same model as
            repeating rows.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    # ------------------------------------------------------------------ fitted attributes
    def _public(self, array: np.ndarray) -> np.ndarray:
        return array.astype(self._output_dtype, copy=False)

    def _covariance_view(self, kind: str) -> np.ndarray:
        """``covariances``, ``precisions`` or ``precisions_cholesky`` in the public shape."""
        params = self._fitted_params()
        form = params.covariance
        if self._dense_covariances:
            shape = params.means.shape
            form = FullForm(form.dense_covariances(*shape), form.dense_precisions_cholesky(*shape))
        return self._public(getattr(form, kind))

    @property
    def weights_(self):
        """Mixing weights, shape (n_components,)."""
        return self._public(self._fitted_params().weights)

    @property
    def means_(self):
        """Component means, shape (n_components, n_features)."""
        return self._public(self._fitted_params().means)

    @property
    def covariances_(self):
        """Component covariances (shape depends on ``covariance_type``)."""
        return self._covariance_view("covariances")

    @property
    def precisions_(self):
        """Component precisions (shape depends on ``covariance_type``)."""
        return self._covariance_view("precisions")

    @property
    def precisions_cholesky_(self):
        """Cholesky factors of the precisions (shape depends on ``covariance_type``)."""
        return self._covariance_view("precisions_cholesky")

    def _fitted_params(self) -> MixtureParams:
        try:
            return self._params
        except AttributeError:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet; call fit first."
            ) from None

    # ------------------------------------------------------------------ inference
    # ------------------------------------------------------------------ notebook display
    def _repr_html_(self):
        """Notebook display: parameter table and convergence once fitted (else scikit-learn's)."""
        if not hasattr(self, "_params"):
            return self._repr_html_inner()
        from .html_repr import mixture_html

        return mixture_html(self)

    def _repr_mimebundle_(self, **kwargs):
        """Jupyter's preferred display hook: scikit-learn's bundle, our HTML once fitted."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if hasattr(self, "_params"):
            from .html_repr import mixture_html

            bundle["text/html"] = mixture_html(self)
        return bundle

    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self, "converged_")
        return inference_rows(self, X, self._row_checker(reset=False))

    def _inference_params(self) -> MixtureParams:
        """The fitted parameters as inference reads them (subclasses may wrap them)."""
        return self._params

    def _rowwise(self, X, func) -> np.ndarray:
        """Apply ``func(X_chunk, params)`` over bounded chunks and concatenate."""
        params = self._inference_params()
        return map_rows(X, lambda chunk: func(chunk, params), params.n_components)

    def score_samples(self, X):
        """Log-density of each row under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        return self._rowwise(X, lambda chunk, params: log_responsibilities(chunk, params)[0])

    def score(self, X, y=None, sample_weight=None):
        """Weighted mean log-likelihood per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        log_likelihood, total_weight = total_log_likelihood(self, X, sample_weight)
        return log_likelihood / total_weight

    def predict_proba(self, X):
        """Responsibilities: posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            With a noise component, shape (n_samples, n_components + 1): the noise
            component's probability is the last column.
        """
        X = self._check_X(X)
        return self._rowwise(
            X, lambda chunk, params: np.exp(log_responsibilities(chunk, params)[1])
        )

    def _log_density_and_responsibilities(
        self, X, *, checked: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """`score_samples` and `predict_proba` of ``X`` from one pass over the rows.

        ``checked=True``: ``X`` is an array a fit of this estimator validated (its
        training source's rows), which is not validated again.
        """
        if not checked:
            X = self._check_X(X)

        def both(chunk, params):
            log_density, log_resp = log_responsibilities(chunk, params)
            return np.column_stack([log_density, np.exp(log_resp)])

        combined = self._rowwise(X, both)
        return combined[:, 0], combined[:, 1:]

    def predict(self, X):
        """Most probable component of each row (hard clustering).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 for rows most probably from a noise component.
        """
        X = self._check_X(X)
        return self._rowwise(X, _most_probable_component)

    def uncertainty(self, X):
        """Classification uncertainty ``1 - max_k p(k | x)`` of each row (as mclust).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            0 for a certain assignment, up to ``1 - 1/n_components``.
        """
        return 1.0 - self.predict_proba(X).max(axis=1)

    def entropy(self, X):
        """Normalised entropy of the responsibilities of each row.

        ``-sum_k r_k log r_k / log(n_components)``: 0 for a certain assignment, 1 when
        every component is equally likely (0 everywhere for a single component).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        entropy : ndarray of shape (n_samples,)
        """
        resp = self.predict_proba(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(resp > 0, resp * np.log(resp), 0.0)
        if resp.shape[1] == 1:
            return np.zeros(resp.shape[0], dtype=resp.dtype)
        return (-terms.sum(axis=1) / np.log(resp.shape[1])).astype(resp.dtype, copy=False)

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of each row, sorted; -1 for rows drawn uniformly from a noise
            component's region (which come first).
        """
        check_is_fitted(self, "converged_")
        if not integer(1).accepts(n_samples):
            raise ValueError(
                with_advice(
                    bad_n_samples(n_samples),
                    f"Invalid n_samples={n_samples!r}: expected an integer >= 1.",
                )
            )
        params = self._params
        rng = check_random_state(self.random_state)
        noise = getattr(params, "noise", None)
        weights = np.asarray(params.weights, dtype=np.float64)
        if noise is not None:
            weights = np.append(weights, noise.weight)
        weights = weights / weights.sum()
        counts = rng.multinomial(n_samples, weights)
        covariances = params.covariance.dense_covariances(*params.means.shape)
        blocks = [
            rng.multivariate_normal(mean, covariance, int(count))
            for mean, covariance, count in zip(params.means, covariances, counts, strict=False)
        ]
        labels = np.repeat(np.arange(params.n_components), counts[: params.n_components])
        if noise is not None:
            blocks.insert(0, noise.region.sample(rng, int(counts[-1])))
            labels = np.concatenate([np.full(int(counts[-1]), -1), labels])
        return self._public(np.vstack(blocks)), labels
