"""Storage forms of the component covariances and the Gaussian log-density kernels.

A covariance model (see :mod:`gaussmix.engine.covariance.models`) decides *which*
covariances maximise the likelihood; a form decides how they are *stored* and
evaluated. Fourteen models share four forms:

=============  =========================  =====================================
form           covariances shape          models stored in it
=============  =========================  =====================================
``full``       (K, d, d)                  VVV, EEV, VEV, EVV, and (evaluated in
                                          their shared eigenbasis) VVE, EVE, VEE
``tied``       (d, d)                     EEE
``diag``       (K, d)                     VVI, EVI, VEI, EEI
``spherical``  (K,)                       VII, EII
=============  =========================  =====================================

Each form keeps the covariances and the Cholesky factor ``P`` of the precision
(``precision = P @ P.T``, ``P`` upper triangular, as scikit-learn stores it), so the
squared Mahalanobis distance is ``||(x - mu) @ P||^2`` and the log-determinant of the
precision is twice the sum of the logs of ``P``'s diagonal.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import linalg

from .precision import amplification_limit
from .pruning import SubspaceBound, block_distances, projection_blocks, pruned_distances

__all__ = [
    "CovarianceForm",
    "FullForm",
    "SharedOrientationForm",
    "TiedForm",
    "DiagonalForm",
    "SphericalForm",
    "SingularCovarianceError",
    "ILL_DEFINED_COVARIANCE",
    "FORMS",
    "reference_point",
    "centred_columns",
    "common_orientation",
    "shared_eigenbasis",
]

_LOG_2PI = float(np.log(2 * np.pi))


class SingularCovarianceError(ValueError):
    """A component covariance is not positive definite."""


#: scikit-learn's sentence for a covariance that is not positive definite after an M-step,
#: kept word for word as the first sentence of gaussmix's messages (code written for
#: scikit-learn matches it; see ``gaussmix.checks.sklearn_wording``).
ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data."
)


def singular_covariance_message(detail: str = "") -> str:
    """Explain a singular covariance and what the user can change."""
    return (
        f"{ILL_DEFINED_COVARIANCE} Here a component covariance is not positive definite"
        f"{' (' + detail + ')' if detail else ''}, typically because a component collapsed "
        "onto a single point or a constant direction. Increase reg_covar (e.g. reg_covar=1e-6), "
        "use fewer components, or standardise the data."
    )


def _cholesky_of_precision(covariance: np.ndarray) -> np.ndarray:
    """Upper-triangular ``P`` with ``P @ P.T == inv(covariance)`` for one (d, d) matrix."""
    try:
        lower = linalg.cholesky(covariance, lower=True, check_finite=True)
    except (linalg.LinAlgError, ValueError) as exc:
        raise SingularCovarianceError(singular_covariance_message()) from exc
    identity = np.eye(covariance.shape[0], dtype=covariance.dtype)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        factor = linalg.solve_triangular(lower, identity, lower=True).T
    if not np.all(np.isfinite(factor)):  # a pivot below the smallest normal float
        raise SingularCovarianceError(singular_covariance_message())
    return factor


def _cholesky_of_precisions(covariances: np.ndarray) -> np.ndarray:
    """`_cholesky_of_precision` of a stack (K, d, d), in two batched LAPACK calls.

    The triangular factors are inverted by LU (NumPy has no batched triangular solve),
    which leaves round-off where the inverse is structurally zero; zeroing the strictly
    lower triangle (as `np.triu` does, with a mask made once per d: this runs at every
    M-step) restores the exact zeros the blocked projection skips.
    """
    if not np.isfinite(covariances).all():
        raise SingularCovarianceError(singular_covariance_message())
    try:
        lower = np.linalg.cholesky(covariances)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            inverse = np.linalg.inv(lower)
    except np.linalg.LinAlgError as exc:
        raise SingularCovarianceError(singular_covariance_message()) from exc
    factors = np.where(
        _strictly_lower(inverse.shape[-1]),
        np.zeros(1, inverse.dtype),
        np.swapaxes(inverse, -1, -2),
    )
    if not np.isfinite(factors).all():  # a pivot below the smallest normal float
        raise SingularCovarianceError(singular_covariance_message())
    return factors


@functools.lru_cache(maxsize=64)
def _strictly_lower(n_features: int) -> np.ndarray:
    """Read-only boolean (d, d) mask of the entries below the diagonal."""
    mask = np.tri(n_features, k=-1, dtype=bool)
    mask.flags.writeable = False
    return mask


def _covariance_from_precision_cholesky(precision_cholesky: np.ndarray) -> np.ndarray:
    """``inv(P @ P.T)`` for one (d, d) triangular factor ``P`` (upper or lower)."""
    inverse_factor = np.linalg.inv(precision_cholesky)
    return inverse_factor.T @ inverse_factor


def _precision_cholesky_from_precision(precision: np.ndarray) -> np.ndarray:
    """Lower ``P`` with ``P @ P.T == precision``; raise if not positive definite."""
    try:
        return linalg.cholesky(precision, lower=True, check_finite=True)
    except (linalg.LinAlgError, ValueError) as exc:
        raise SingularCovarianceError(
            "A precision matrix is not symmetric positive definite; check precisions_init."
        ) from exc


def _positive_variances(variances: np.ndarray) -> np.ndarray:
    # Below the smallest normal float, 1 / variance (the precision) overflows.
    tiny = np.finfo(variances.dtype if variances.dtype.kind == "f" else np.float64).tiny
    if not np.all(np.isfinite(variances)) or np.any(variances < tiny):
        raise SingularCovarianceError(singular_covariance_message("a variance is not positive"))
    return variances


def reference_point(means: np.ndarray) -> np.ndarray:
    """A point inside the mixture around which rows are centred (float64, shape (d,)).

    Centring makes every expansion in the kernels lose precision only with the spread of
    the mixture, never with the distance of the data from the origin.
    """
    return np.asarray(means, dtype=np.float64).mean(axis=0)


#: Row layouts of a chunk's columns (`centred_columns`): which rows hold what.
CENTRED, SQUARES, ONES_FIRST = "centred", "squares", "ones first"


def centred_columns(X: np.ndarray, reference: np.ndarray, layout: str = CENTRED) -> np.ndarray:
    """``(X - reference).T`` as a C-contiguous (d, n) array in X's dtype, or a wider layout.

    ``layout`` is `CENTRED` (just those d rows), `SQUARES` (2 d + 1 rows: the centred
    columns, their squares, a row of ones; variance forms evaluate it with one product)
    or `ONES_FIRST` (d + 1 rows: a row of ones, then the centred columns; full forms
    project it on their stacked factors and means at once).
    """
    n_features, n_samples = X.shape[1], X.shape[0]
    rows = {CENTRED: n_features, SQUARES: 2 * n_features + 1, ONES_FIRST: n_features + 1}[layout]
    columns = np.empty((rows, n_samples), dtype=X.dtype)
    first = 1 if layout == ONES_FIRST else 0
    centred = columns[first : first + n_features]
    np.subtract(X.T, reference.astype(X.dtype)[:, np.newaxis], out=centred)
    if layout == SQUARES:
        np.square(centred, out=columns[n_features : 2 * n_features])
        columns[2 * n_features] = 1.0
    elif layout == ONES_FIRST:
        columns[0] = 1.0
    return columns


def moment_rows(layout: str, n_features: int) -> slice:
    """Rows of a layout that the moments read: the centred rows, then (`SQUARES`) their
    squares."""
    return {
        CENTRED: slice(0, n_features),
        SQUARES: slice(0, 2 * n_features),
        ONES_FIRST: slice(1, n_features + 1),
    }[layout]


def _within_range(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``values`` in ``dtype``, refusing any beyond its range.

    A component collapsed far below float32's resolution (variances near 1e-61) has
    precisions that overflow float32; that is a singular fit, not a numerical accident.
    """
    values = np.asarray(values, dtype=np.float64)
    if dtype.kind != "f":
        return values.astype(dtype)
    if np.any(np.isfinite(values) & (np.abs(values) > np.finfo(dtype).max)):
        raise SingularCovarianceError(
            singular_covariance_message(
                f"its precision exceeds the range of {dtype.name}; fit float64 data "
                "(X.astype(numpy.float64)) or rescale the data"
            )
        )
    return values.astype(dtype)


def _expanded_evaluator(square_weights, offsets, dtype, factor=1.0, constant=None, projection=None):
    """Precompute ``factor * sum_j w[k, j] (x_j - c[k, j])^2 + constant[k]`` for any columns.

    Returns a function of the centred columns (d, n) giving (K, n) in ``dtype``. The
    weighted-square expansion ``w x^2 - 2 w c x + w c^2`` about the reference point takes
    one or two matrix products for all components, with ``factor`` and ``constant`` folded
    into the operands (one product when the columns come in `centred_columns`'s ``squares``
    layout, which the E-step reuses for the moments). Its rounding error grows with the
    mixture's spread relative to the component widths, never with the data's distance from the origin; components whose
    offset would amplify rounding beyond `amplification_limit` are computed exactly
    instead. ``square_weights`` of shape (K, 1) means one weight for every feature (the
    spherical case: the squares are summed once). ``projection`` (d, d), if given, maps the
    columns first (``projection.T @ centred``; the tied case).
    """
    dtype = np.dtype(dtype)
    offsets = np.asarray(offsets, dtype=np.float64)
    n_components = offsets.shape[0]
    constant = np.zeros(n_components) if constant is None else np.asarray(constant, np.float64)
    shared = square_weights.shape[1] == 1
    squares_coefficients = _within_range(factor * square_weights, dtype)
    linear_coefficients = _within_range(-2.0 * factor * square_weights * offsets, dtype)
    full_weights = np.broadcast_to(square_weights, offsets.shape)
    offset_norms = np.einsum("kd,kd->k", full_weights, offsets**2)
    intercepts = _within_range(factor * offset_norms + constant, dtype)[:, np.newaxis]
    far = np.flatnonzero(offset_norms > amplification_limit(dtype))
    far_offsets = offsets[far].astype(dtype)
    far_weights = (factor * full_weights[far]).astype(dtype)
    far_constants = constant[far].astype(dtype)
    local_projection = None if projection is None else projection.T.astype(dtype)
    n_features = offsets.shape[1]
    # [linear | squares | intercept]: the coefficients of the (2d + 1)-row layout. An
    # infinite intercept (a component of weight 0) is added after the product: inside a
    # BLAS kernel it can meet padding zeros and raise a spurious invalid-value flag.
    intercept = factor * offset_norms + constant
    finite_intercept = np.where(np.isfinite(intercept), intercept, 0.0)
    infinite_intercept = None
    if not np.all(np.isfinite(intercept)):
        infinite_intercept = (intercept - finite_intercept).astype(dtype)[:, np.newaxis]
    stacked = np.concatenate(
        [
            -2.0 * factor * square_weights * offsets,
            factor * full_weights,
            finite_intercept[:, np.newaxis],
        ],
        axis=1,
    ).astype(dtype)

    def evaluate(centred):
        if local_projection is None and centred.shape[0] == 2 * n_features + 1:
            distances = stacked @ centred
            if infinite_intercept is not None:
                distances += infinite_intercept
            centred = centred[:n_features]
        else:
            if local_projection is not None:
                centred = local_projection @ centred
            distances = two_product_distances(centred)
        for index, k in enumerate(far):
            differences = centred - far_offsets[index][:, np.newaxis]
            distances[k] = far_weights[index] @ np.square(differences)
            distances[k] += far_constants[index]
        return distances

    def two_product_distances(centred):
        if shared:
            distances = squares_coefficients * np.einsum("dn,dn->n", centred, centred)
        else:
            distances = squares_coefficients @ np.square(centred)
        distances += linear_coefficients @ centred
        distances += intercepts
        return distances

    return evaluate


@dataclass(frozen=True, eq=False)
class CovarianceForm:
    """Covariances of all components in one storage form, with their precision factors.

    Parameters
    ----------
    covariances : ndarray
        The covariances in the form's compact shape.
    precisions_cholesky : ndarray
        Upper Cholesky factors of the precisions, same compact shape.
    """

    name: ClassVar[str]
    #: The `centred_columns` layout the evaluators read fastest (they all take `CENTRED`).
    column_layout: ClassVar[str] = CENTRED
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_covariances(cls, covariances: np.ndarray) -> CovarianceForm:
        """Build the form from covariances; raise `SingularCovarianceError` if not PD."""
        raise NotImplementedError

    @classmethod
    def from_precisions_cholesky(cls, precisions_cholesky: np.ndarray) -> CovarianceForm:
        """Build the form from upper Cholesky factors of the precisions."""
        raise NotImplementedError

    @classmethod
    def from_precisions(cls, precisions: np.ndarray) -> CovarianceForm:
        """Build the form from precision matrices (or precision diagonals / scalars)."""
        raise NotImplementedError

    @staticmethod
    def compact_shape(n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of ``covariances`` in this form."""
        raise NotImplementedError

    @staticmethod
    def compact_from_dense(dense: np.ndarray) -> np.ndarray:
        """The compact shape of dense (K, d, d) covariances this form can hold.

        The inverse of `dense_covariances` (the entries the form does not store are
        dropped, not checked).
        """
        raise NotImplementedError

    @staticmethod
    def add_to_diagonal(covariances: np.ndarray, value: float) -> np.ndarray:
        """Return ``covariances`` with ``value`` added to every variance (the ridge)."""
        return covariances + value * np.eye(covariances.shape[-1])

    # --- evaluation -----------------------------------------------------------------------
    @property
    def precisions(self) -> np.ndarray:
        """Precision matrices in the compact shape."""
        raise NotImplementedError

    def log_det_precision_cholesky(self, n_features: int) -> np.ndarray:
        """``log det P_k`` for each component, shape (n_components,) or scalar."""
        raise NotImplementedError

    def squared_mahalanobis_centred(self, centred: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances in component-major layout.

        Parameters
        ----------
        centred : ndarray of shape (n_features, n_samples)
            Rows minus a reference point ``r``, transposed (float32 or float64).
        offsets : ndarray of shape (n_components, n_features)
            Means minus the same reference point, in float64.

        Returns
        -------
        ndarray of shape (n_components, n_samples)
            ``(x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)``, in ``centred``'s dtype, a fresh
            array the caller may overwrite.
        """
        return self.scaled_mahalanobis_evaluator(offsets, centred.dtype, 1.0, None)(centred)

    def squared_mahalanobis(self, X: np.ndarray, means: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances, shape (n_samples, n_components), in X's dtype."""
        X = np.asarray(X)
        means = np.asarray(means, dtype=np.float64)
        reference = reference_point(means)
        centred = centred_columns(X, reference)
        return self.squared_mahalanobis_centred(centred, means - reference).T

    def scaled_mahalanobis_evaluator(
        self, offsets: np.ndarray, dtype, factor: float, constant: np.ndarray | None
    ):
        """Precompute ``factor * distance[k, n] + constant[k]`` for columns centred at ``r``.

        Parameters
        ----------
        offsets : ndarray of shape (n_components, n_features)
            Means minus the reference point ``r`` (float64).
        dtype : dtype
            The dtype of the centred columns the result will be applied to.
        factor : float
        constant : ndarray of shape (n_components,) or None

        Returns
        -------
        callable
            ``evaluate(centred)``, centred of shape (n_features, n_samples) ->
            (n_components, n_samples) in ``dtype``. It also takes the form's own
            ``column_layout`` of `centred_columns`, which saves work (for variance forms
            a single product). Everything that depends only on the
            parameters is computed once, here, not per chunk.
        """
        raise NotImplementedError

    def log_gaussian_evaluator(
        self, offsets: np.ndarray, dtype, log_weights=None, negligible: float | None = None
    ):
        """Precompute ``log N(x | mu_k, Sigma_k) (+ log_weights[k])`` for centred columns.

        Returns ``evaluate(centred) -> (n_components, n_samples)`` in ``dtype``; see
        `scaled_mahalanobis_evaluator`.

        ``negligible`` (a negative log ratio), if given, says that the caller treats every
        value more than ``-negligible`` below its column's largest as zero probability
        (`estep.normalise_columns`). The evaluator may then return, for a value it proves
        to lie that far below, an upper bound that lies that far below too, instead of
        the value itself; the column maxima and every value kept are exact.
        """
        n_features = offsets.shape[1]
        log_det = np.asarray(self.log_det_precision_cholesky(n_features), dtype=np.float64)
        constant = np.broadcast_to(log_det - 0.5 * n_features * _LOG_2PI, offsets.shape[:1])
        if log_weights is not None:
            constant = constant + log_weights
        return self._log_density_evaluator(offsets, dtype, constant, negligible)

    def _log_density_evaluator(self, offsets, dtype, constant, negligible):
        """`log_gaussian_evaluator` given its constants; exact unless a form overrides it."""
        return self.scaled_mahalanobis_evaluator(offsets, dtype, -0.5, constant)

    def log_gaussian_centred(
        self, centred: np.ndarray, offsets: np.ndarray, log_weights: np.ndarray | None = None
    ) -> np.ndarray:
        """``log N(x_n | mu_k, Sigma_k)`` (plus ``log_weights[k]`` if given), shape
        (n_components, n_samples), in ``centred``'s dtype.

        Same arguments as `squared_mahalanobis_centred`.
        """
        return self.log_gaussian_evaluator(offsets, centred.dtype, log_weights)(centred)

    def log_gaussian(self, X: np.ndarray, means: np.ndarray) -> np.ndarray:
        """``log N(x_n | mu_k, Sigma_k)`` for every row and component, in X's dtype."""
        X = np.asarray(X)
        means = np.asarray(means, dtype=np.float64)
        reference = reference_point(means)
        centred = centred_columns(X, reference)
        return self.log_gaussian_centred(centred, means - reference).T

    def dense_covariances(self, n_components: int, n_features: int) -> np.ndarray:
        """Covariances as a (n_components, d, d) array whatever the form."""
        raise NotImplementedError

    def dense_precisions_cholesky(self, n_components: int, n_features: int) -> np.ndarray:
        """Precision factors as a (n_components, d, d) array whatever the form."""
        raise NotImplementedError

    def astype(self, dtype: np.dtype) -> CovarianceForm:
        """The same form with arrays cast to ``dtype``."""
        return type(self)(
            self.covariances.astype(dtype, copy=False),
            self.precisions_cholesky.astype(dtype, copy=False),
        )


class FullForm(CovarianceForm):
    """One full (d, d) covariance per component."""

    name = "full"
    column_layout = ONES_FIRST

    @classmethod
    def from_covariances(cls, covariances):
        covariances = np.asarray(covariances)
        return cls(covariances, _cholesky_of_precisions(covariances))

    @classmethod
    def from_precisions_cholesky(cls, precisions_cholesky):
        factors = np.asarray(precisions_cholesky)
        return cls(np.stack([_covariance_from_precision_cholesky(p) for p in factors]), factors)

    @classmethod
    def from_precisions(cls, precisions):
        factors = np.stack([_precision_cholesky_from_precision(p) for p in precisions])
        return cls.from_precisions_cholesky(factors)

    @staticmethod
    def compact_shape(n_components, n_features):
        return (n_components, n_features, n_features)

    @staticmethod
    def compact_from_dense(dense):
        return np.array(dense)

    @property
    def precisions(self):
        return self.precisions_cholesky @ np.swapaxes(self.precisions_cholesky, 1, 2)

    def log_det_precision_cholesky(self, n_features):
        return np.log(np.diagonal(self.precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)

    def scaled_mahalanobis_evaluator(self, offsets, dtype, factor, constant):
        return self._projection_evaluator(offsets, dtype, factor, constant, None)

    def _log_density_evaluator(self, offsets, dtype, constant, negligible):
        return self._projection_evaluator(offsets, dtype, -0.5, constant, negligible)

    def _projection_evaluator(self, offsets, dtype, factor, constant, negligible):
        """The blocked projection on the stacked precision factors; with ``negligible``
        (and a negative ``factor``), pairs that a cheap bound proves negligible are not
        projected (`pruned_distances`)."""
        factors = self.precisions_cholesky
        n_components, n_features, _ = factors.shape
        # Row (k, j) of `stacked` is [-(mu_k - r) @ P_k[:, j], column j of P_k], and the
        # columns are augmented with a leading row of ones, so one product gives every
        # component's projected, centred rows: projected[(k, j), n] = ((x_n - mu_k) @ P_k)[j].
        stacked = np.empty((n_components, n_features, n_features + 1))
        stacked[:, :, 0] = -np.einsum("kd,kde->ke", offsets, factors)
        stacked[:, :, 1:] = factors.transpose(0, 2, 1)
        blocks = projection_blocks(factors)
        # Column j of an upper-triangular P_k is zero below row j: the rows j of one
        # block need only the first (block end) coordinates, which skips most zeros.
        products = [
            (
                stop - start,
                np.ascontiguousarray(stacked[:, start:stop, : stop + 1])
                .reshape(-1, stop + 1)
                .astype(dtype),
            )
            for start, stop in blocks
        ]
        constant = np.zeros(n_components) if constant is None else constant
        local_constant = np.asarray(constant, dtype=np.float64).astype(dtype)[:, np.newaxis]
        bound = None
        if negligible is not None and factor < 0:
            full_cost = sum(operand.size for _, operand in products)
            bound = SubspaceBound.build(self.covariances, offsets, full_cost, dtype)

        def evaluate(centred):
            n_samples = centred.shape[1]
            if centred.shape[0] == n_features + 1:  # the ONES_FIRST layout already
                augmented = centred
            else:
                augmented = np.empty((n_features + 1, n_samples), dtype=dtype)
                augmented[0] = 1.0
                augmented[1:] = centred
            if bound is not None:
                distances = pruned_distances(
                    products, bound, augmented, factor, local_constant, negligible
                )
            else:
                distances = block_distances(products, augmented, n_components)
            if factor != 1.0:
                distances *= factor
            distances += local_constant
            return distances

        return evaluate

    def dense_covariances(self, n_components, n_features):
        return self.covariances

    def dense_precisions_cholesky(self, n_components, n_features):
        return self.precisions_cholesky


# Generic weights for a combination of covariances that shares their common eigenvectors
# but (almost surely) none of their eigenvalue ties.
_GENERIC_WEIGHT_BASE = np.sqrt(2.0)


def common_orientation(covariances: np.ndarray) -> np.ndarray:
    """Eigenvectors shared by covariances that have one orientation (as columns).

    Covariances ``D A_k D^T`` with a common ``D`` are diagonalised by the eigenvectors of
    a generic positive combination of them; ties that survive the combination are
    ties of every ``A_k``, where any basis serves.
    """
    weights = _GENERIC_WEIGHT_BASE ** -np.arange(1, covariances.shape[0] + 1)
    combination = np.tensordot(weights, covariances, axes=1)
    return np.linalg.eigh(combination)[1]


#: Largest off-diagonal correlation `shared_eigenbasis` leaves out, whatever the
#: condition number (beyond it, full projections evaluate the covariances).
SHARED_BASIS_MAX_CORRELATION = 1e-9


def shared_eigenbasis(covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(D, v)`` with ``covariances[k] == D diag(v[k]) D^T`` to rounding, else None.

    The test: in ``D``'s basis every off-diagonal correlation is within
    ``16 d eps cond(Sigma_k)``, the rounding of the rotation itself, and never above
    `SHARED_BASIS_MAX_CORRELATION`. Ignoring such terms changes a squared distance by no
    more than a Cholesky-based evaluation's own rounding (about ``eps cond(Sigma_k)``)
    does; the cap keeps that true for nearly singular covariances, where the Cholesky
    factor stays far more accurate than the bound says.
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    n_features = covariances.shape[-1]
    orientation = common_orientation(covariances)
    rotated = orientation.T @ covariances @ orientation
    variances = np.diagonal(rotated, axis1=1, axis2=2).copy()
    if not np.all(np.isfinite(rotated)) or np.any(variances <= 0):
        return None
    scale = np.sqrt(variances)
    correlations = np.abs(rotated / (scale[:, :, np.newaxis] * scale[:, np.newaxis, :]))
    correlations[:, np.arange(n_features), np.arange(n_features)] = 0.0
    condition = variances.max(axis=1) / variances.min(axis=1)
    tolerance = np.minimum(
        16 * n_features * np.finfo(np.float64).eps * condition, SHARED_BASIS_MAX_CORRELATION
    )
    if np.all(correlations.max(axis=(1, 2)) <= tolerance):
        return orientation, variances
    return None


class SharedOrientationForm(FullForm):
    """Full covariances with one orientation for every component: ``D diag(v_k) D^T``.

    Stored, built and reported exactly as `FullForm` (models VEE, EVE and VVE). The E-step
    finds ``D`` once per set of parameters and evaluates every component as a diagonal
    Gaussian in ``D``'s basis: one (d, d) rotation of the rows instead of K projections.
    Covariances that do not share an orientation (a user's ``precisions_init``) are
    evaluated as `FullForm` evaluates them.
    """

    @functools.cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        # The form is immutable, so its basis is found once (cached_property writes the
        # instance's __dict__ directly, which a frozen dataclass allows).
        return shared_eigenbasis(self.covariances)

    def _log_density_evaluator(self, offsets, dtype, constant, negligible):
        basis = self._basis
        if basis is None:
            return super()._log_density_evaluator(offsets, dtype, constant, negligible)
        return _in_basis_evaluator(basis, offsets, dtype, -0.5, constant)

    def scaled_mahalanobis_evaluator(self, offsets, dtype, factor, constant):
        basis = self._basis
        if basis is None:
            return super().scaled_mahalanobis_evaluator(offsets, dtype, factor, constant)
        return _in_basis_evaluator(basis, offsets, dtype, factor, constant)


def _in_basis_evaluator(basis, offsets, dtype, factor, constant):
    """`scaled_mahalanobis_evaluator` for covariances ``D diag(v_k) D^T``, ``basis = (D, v)``:
    the columns rotated by ``D``, then the diagonal kernel."""
    orientation, variances = basis
    n_features = offsets.shape[1]
    in_basis = _expanded_evaluator(
        1.0 / variances, offsets @ orientation, dtype, factor, constant, projection=orientation
    )

    def evaluate(centred):
        if centred.shape[0] == n_features + 1:  # the ONES_FIRST layout
            centred = centred[1:]
        return in_basis(centred)

    return evaluate


class TiedForm(CovarianceForm):
    """One (d, d) covariance shared by every component."""

    name = "tied"

    @classmethod
    def from_covariances(cls, covariances):
        covariances = np.asarray(covariances)
        return cls(covariances, _cholesky_of_precision(covariances))

    @classmethod
    def from_precisions_cholesky(cls, precisions_cholesky):
        factor = np.asarray(precisions_cholesky)
        return cls(_covariance_from_precision_cholesky(factor), factor)

    @classmethod
    def from_precisions(cls, precisions):
        return cls.from_precisions_cholesky(_precision_cholesky_from_precision(precisions))

    @staticmethod
    def compact_shape(n_components, n_features):
        return (n_features, n_features)

    @staticmethod
    def compact_from_dense(dense):
        return np.array(dense[0])

    @property
    def precisions(self):
        return self.precisions_cholesky @ self.precisions_cholesky.T

    def log_det_precision_cholesky(self, n_features):
        return np.log(np.diagonal(self.precisions_cholesky)).sum()

    def scaled_mahalanobis_evaluator(self, offsets, dtype, factor, constant):
        cholesky = self.precisions_cholesky
        return _expanded_evaluator(
            np.ones((offsets.shape[0], 1)),
            offsets @ cholesky,
            dtype,
            factor,
            constant,
            projection=cholesky,
        )

    def dense_covariances(self, n_components, n_features):
        return np.broadcast_to(self.covariances, (n_components, *self.covariances.shape)).copy()

    def dense_precisions_cholesky(self, n_components, n_features):
        factor = self.precisions_cholesky
        return np.broadcast_to(factor, (n_components, *factor.shape)).copy()


class _VarianceForm(CovarianceForm):
    """Forms that store variances, not matrices: the precision factor of a variance ``v``
    is ``1 / sqrt(v)`` elementwise and the ridge adds to every stored value."""

    column_layout = SQUARES

    @classmethod
    def from_covariances(cls, covariances):
        variances = _positive_variances(np.asarray(covariances))
        return cls(variances, 1.0 / np.sqrt(variances))

    @classmethod
    def from_precisions_cholesky(cls, precisions_cholesky):
        factors = np.asarray(precisions_cholesky)
        return cls(1.0 / factors**2, factors)

    @classmethod
    def from_precisions(cls, precisions):
        return cls.from_covariances(1.0 / _positive_variances(np.asarray(precisions)))

    @staticmethod
    def add_to_diagonal(covariances, value):
        return covariances + value

    @property
    def precisions(self):
        return self.precisions_cholesky**2


class DiagonalForm(_VarianceForm):
    """One diagonal covariance per component, stored as its (d,) diagonal."""

    name = "diag"

    @staticmethod
    def compact_shape(n_components, n_features):
        return (n_components, n_features)

    @staticmethod
    def compact_from_dense(dense):
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def log_det_precision_cholesky(self, n_features):
        return np.log(self.precisions_cholesky).sum(axis=1)

    def scaled_mahalanobis_evaluator(self, offsets, dtype, factor, constant):
        return _expanded_evaluator(self.precisions_cholesky**2, offsets, dtype, factor, constant)

    def dense_covariances(self, n_components, n_features):
        return np.stack([np.diag(v) for v in self.covariances])

    def dense_precisions_cholesky(self, n_components, n_features):
        return np.stack([np.diag(p) for p in self.precisions_cholesky])


class SphericalForm(_VarianceForm):
    """One variance per component: ``Sigma_k = sigma_k^2 I``."""

    name = "spherical"

    @staticmethod
    def compact_shape(n_components, n_features):
        return (n_components,)

    @staticmethod
    def compact_from_dense(dense):
        return np.array(dense[:, 0, 0])

    def log_det_precision_cholesky(self, n_features):
        return n_features * np.log(self.precisions_cholesky)

    def scaled_mahalanobis_evaluator(self, offsets, dtype, factor, constant):
        precisions = (self.precisions_cholesky**2)[:, np.newaxis]
        return _expanded_evaluator(precisions, offsets, dtype, factor, constant)

    def dense_covariances(self, n_components, n_features):
        return self.covariances[:, np.newaxis, np.newaxis] * np.eye(n_features)

    def dense_precisions_cholesky(self, n_components, n_features):
        return self.precisions_cholesky[:, np.newaxis, np.newaxis] * np.eye(n_features)


FORMS: dict[str, type[CovarianceForm]] = {
    form.name: form for form in (FullForm, TiedForm, DiagonalForm, SphericalForm)
}
