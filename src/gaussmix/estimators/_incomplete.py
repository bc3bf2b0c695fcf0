"""Incomplete data in the estimators: missing values (NaN) and partial labels.

`IncompleteDataMixin` gives a mixture estimator

- the ``missing`` parameter: ``"error"`` (NaN is refused with a message that names
  the option) or ``"marginalize"`` (EM over the observed coordinates, inference with
  the marginal density of what was seen, `impute`);
- semi-supervised fitting: ``fit(X, y)`` with ``y`` a component index for labelled rows
  and -1 for the others (scikit-learn's convention for unlabelled rows).

The kernels are pure functions of `gaussmix.engine.missing.kernels`; this module only reads
the data and wires them into the estimator's EM.
"""

from __future__ import annotations

import functools
import operator
import warnings
from contextlib import contextmanager

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import config_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..checks.parameters import NAN_SENTENCE, integer, one_of
from ..checks.rows import fill_with_column_means, refuse_infinity
from ..engine.core.estep import chunk_statistics
from ..engine.data.chunks import default_chunk_rows
from ..engine.missing import (
    UNLABELLED,
    ObservedDataParams,
    conditional_expectation,
    draw_imputations,
    incomplete_statistics,
)
from ._scale import FLOAT_DTYPES

__all__ = ["MISSING_OPTIONS", "MISSING_RULES", "IncompleteDataMixin", "missing_value_counts"]

#: Values of the ``missing`` parameter.
MISSING_OPTIONS = ("error", "marginalize")

#: Rule of the ``missing`` parameter (merged into an estimator's ``_rules``).
MISSING_RULES = {"missing": one_of(MISSING_OPTIONS)}

_NAN_HINT = (
    f"{NAN_SENTENCE} Pass missing='marginalize' to fit the mixture to the observed values "
    "(EM by marginalisation), or impute the values beforehand."
)


def missing_value_counts(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``[missing values, rows with nothing observed, infinite values, rows]`` of a chunk.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    w : ndarray of shape (n_samples,)
        Ignored (present so that the function can be mapped over a data source).

    Returns
    -------
    counts : ndarray of int64, shape (4,)
    """
    missing = np.isnan(X)
    return np.array(
        [
            missing.sum(),
            missing.all(axis=1).sum(),
            np.isinf(X).sum(),
            X.shape[0],
        ],
        dtype=np.int64,
    )


def _matched_to_labels(resp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Permute the columns of initial responsibilities to agree best with the labels.

    Component ``j`` becomes the initial cluster that holds most of the rows labelled
    ``j`` (an optimal one-to-one assignment); clusters no label claims take the
    remaining indices.
    """
    n_components = resp.shape[1]
    labelled = labels != UNLABELLED
    agreement = np.zeros((n_components, n_components))
    np.add.at(agreement, labels[labelled], resp[labelled])
    components, clusters = linear_sum_assignment(agreement, maximize=True)
    order = np.empty(n_components, dtype=int)
    order[components] = clusters
    return resp[:, order]


class IncompleteDataMixin:
    """Missing values and partial labels for a mixture estimator (see the module docstring).

    The estimator defines the ``missing`` parameter and calls the hooks below from its
    fit; inference methods read NaN through the marginal density when
    ``missing="marginalize"``.
    """

    # Parameters of the estimator that mixes this in (declared for type checkers only).
    missing: str
    n_components: int
    batch_size: int | None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "marginalize"
        return tags

    # ------------------------------------------------------------------ fitting hooks
    @contextmanager
    def _reading_training_data(self):
        """Context in which the training data is validated: lets NaN through if asked.

        With ``missing="error"`` a NaN error gets a message that names the option.
        """
        if self.missing == "marginalize":
            with config_context(assume_finite=True):
                yield
            return
        try:
            yield
        except ValueError as exc:
            if "NaN" in str(exc):
                raise ValueError(_NAN_HINT) from exc
            raise

    def _check_missing_values(self, data) -> None:
        """Count missing values (``n_missing_values_``); refuse infinity and empty data."""
        if self.missing != "marginalize":
            self.n_missing_values_ = 0
            return
        n_missing, n_empty_rows, n_infinite, n_rows = (
            int(v) for v in data.map_reduce(missing_value_counts)
        )
        if n_infinite:
            raise ValueError(
                f"X contains {n_infinite} infinite value(s); missing values must be NaN "
                "and every other value finite."
            )
        if n_empty_rows == n_rows:
            raise ValueError(
                "Every row of X is entirely missing (NaN); there is nothing to fit. "
                "Pass rows with at least one observed value."
            )
        if n_empty_rows:
            warnings.warn(
                f"{n_empty_rows} row(s) of X have every value missing; they carry no "
                "information and are ignored by the fit.",
                UserWarning,
                stacklevel=4,
            )
        self.n_missing_values_ = n_missing

    def _initialization_rows(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Rows an initialiser (k-means, ...) can read: NaN filled with column means."""
        if self.missing == "marginalize" and np.isnan(X).any():
            return fill_with_column_means(X, weights)
        return X

    def _read_labels(self, y, data) -> np.ndarray | None:
        """Component labels of the rows for semi-supervised EM, or None.

        ``y`` is used when it marks unlabelled rows with -1 and labels some rows;
        then every other value must be a component index ``0 .. n_components - 1``.
        ``y=None``, a ``y`` of only -1, and a ``y`` with no -1 at all (class labels
        passed along by a pipeline, as scikit-learn's mixtures ignore them) fit
        without labels.
        """
        if y is None:
            return None
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.dtype.kind not in "iuf":
            return None
        if labels.dtype.kind == "f":
            if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
                return None
        labels = labels.astype(np.int64)
        unlabelled = labels == UNLABELLED
        if not unlabelled.any() or unlabelled.all():
            return None
        if labels.shape[0] != data.n_samples:
            raise ValueError(
                f"y has {labels.shape[0]} labels but X has {data.n_samples} rows; pass one "
                "label per row (-1 for unlabelled rows)."
            )
        bad = labels[~unlabelled]
        bad = bad[(bad < 0) | (bad >= self.n_components)]
        if bad.size:
            raise ValueError(
                f"y holds label {int(bad[0])}, but labels of a semi-supervised fit are "
                f"component indices 0..{self.n_components - 1} (n_components="
                f"{self.n_components}) or -1 for unlabelled rows. Renumber the labels or "
                "increase n_components."
            )
        if data.in_memory() is None:
            raise TypeError(
                "Semi-supervised fitting (y with labels) needs X in memory (a NumPy array "
                "or DataFrame)."
            )
        if self.batch_size is not None:
            raise ValueError(
                "Semi-supervised fitting runs full EM; use batch_size=None with labels."
            )
        return labels

    def _seeded_responsibilities(self, resp: np.ndarray, labels: np.ndarray | None):
        """Initial responsibilities aligned with the labels, labelled rows one-hot."""
        if labels is None:
            return resp
        resp = _matched_to_labels(resp, labels)
        labelled = np.flatnonzero(labels != UNLABELLED)
        resp[labelled] = 0
        resp[labelled, labels[labelled]] = 1
        return resp

    def _e_step(self, data, scatter, labels=None):
        """``params -> Stats`` over all of ``data`` (NaN and labels as configured)."""
        if self.missing == "marginalize" and self.batch_size is not None:
            raise ValueError(
                "Mini-batch EM does not support missing values; use batch_size=None with "
                "missing='marginalize'."
            )
        if labels is None:
            kernel = incomplete_statistics if self.missing == "marginalize" else chunk_statistics
            return lambda params: data.map_reduce(
                lambda X_chunk, w_chunk: kernel(X_chunk, w_chunk, params, scatter)
            )
        X, weights = data.in_memory()
        chunk_rows = default_chunk_rows(X.shape[1], self.n_components, X.itemsize)
        starts = range(0, X.shape[0], chunk_rows)

        def e_step(params):
            return functools.reduce(
                operator.add,
                (
                    incomplete_statistics(
                        X[s : s + chunk_rows],
                        weights[s : s + chunk_rows],
                        params,
                        scatter,
                        labels[s : s + chunk_rows],
                    )
                    for s in starts
                ),
            )

        return e_step

    # ------------------------------------------------------------------ inference
    def _check_X(self, X):
        if self.missing != "marginalize":
            return super()._check_X(X)
        with config_context(assume_finite=True):
            X = super()._check_X(X)
        refuse_infinity(X)
        return X

    def _inference_params(self):
        params = super()._inference_params()
        return ObservedDataParams.of(params) if self.missing == "marginalize" else params

    def impute(self, X, n_samples=None, random_state=None):
        """Fill the missing values (NaN) of ``X`` from the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows with NaN where a value is missing; observed values are kept.
        n_samples : int or None, default=None
            None returns the conditional expectation ``E[x_missing | x_observed]``
            (one completed array). An integer ``m`` returns ``m`` multiple imputations:
            for each, every row's component is drawn from ``p(k | x_observed)`` and its
            missing values from that component's conditional Gaussian.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws (used only when ``n_samples`` is an integer).

        Returns
        -------
        X_imputed : ndarray of shape (n_rows, n_features), or (n_samples, n_rows, n_features)
            Without NaN.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=500)
        >>> gm = GaussianMixture(random_state=0).fit(X)
        >>> float(np.round(gm.impute([[2.0, np.nan]])[0, 1], 1))
        1.8
        """
        check_is_fitted(self, "converged_")
        if n_samples is not None:
            integer(1).check("n_samples", n_samples)
        with config_context(assume_finite=True):
            X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        refuse_infinity(X)
        params = self._params
        if n_samples is None:
            return self._public(conditional_expectation(X, params))
        draws = draw_imputations(X, params, n_samples, check_random_state(random_state))
        return self._public(draws)
