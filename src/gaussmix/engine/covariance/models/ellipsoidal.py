"""Ellipsoidal models: ``Sigma_k = lambda_k D_k A_k D_k^T`` with general orientation.

``lambda_k`` is the volume (``det(Sigma_k)^{1/d}``), ``A_k`` the shape (diagonal, determinant
one), ``D_k`` the orientation (orthogonal). Closed-form M-steps for EEE, EEV, EVV and VVV;
iterative ones for VEE, VEV (Celeux & Govaert, 1995: each step an exact block update) and
EVE, VVE (Newton's method on the shared orientation, see `._orientation`, or for many
features the majorise-minimise steps of Browne & McNicholas, 2014), each step never worse
than the one before.
"""

from __future__ import annotations

import numpy as np

from ...kernels import OrientationSearch, compiled_em_available, compiled_shared_orientation
from ..forms import CovarianceForm, FullForm, SharedOrientationForm, TiedForm, common_orientation
from ..scatter import FULL_SCATTER
from ._algebra import (
    determinant_root,
    from_eigen,
    geometric_mean,
    has_converged,
    majorised_orientation,
    minimise_by_steps,
    unit_determinant,
)
from ._base import CovarianceModel
from ._orientation import OrientationFit, Profile, ProfileCurvature, minimise_orientation

__all__ = ["EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"]


# Newton's method on the shared orientation (EVE, VVE) factorises a dense Hessian over the
# d (d - 1) / 2 rotation pairs, O(d^6). Above this many features the majorise-minimise
# steps, O(K d^3) each, are used instead: at d = 32 the first M-step of a fit (from a cold
# start, with many damped Newton steps) took 0.5-0.7 s against 0.1 s at d = 24 (K = 8).
_NEWTON_MAX_FEATURES = 24
# ... unless the majorise-minimise steps stall: their step length is set by the spread of
# each W_k's eigenvalues, and on badly scaled data (scikit-learn's breast-cancer table,
# d = 30, variances from 1e-6 to 1e5) all `inner_max_iter` steps of every M-step moved D
# too little. EM then ran its 1000 iterations (EVE, K = 2: 14 s and a BIC 194 worse)
# where Newton's method converged in 32 (0.2 s). After a stalled MM M-step the rest of
# the fit uses Newton, up to this many features (a Hessian over 2016 pairs at d = 64).
_NEWTON_FALLBACK_MAX_FEATURES = 64
# The compiled M-step (`gaussmix.engine.kernels.compiled_shared_orientation`) up to this
# many features. Measured per M-step (K = 5, CPU time) it was 2-5x faster than the NumPy
# path from d = 4 to 24; at d = 30 on scikit-learn's breast-cancer table (K = 1..9) the
# sweep took 54 s instead of 34.5 s (VVE): there the M-steps are long damped Newton
# descents over 435 pairs, ~60 Cholesky factorisations each, and the compiled
# factorisation (no BLAS) is 1.7x slower than LAPACK's single-threaded one.
_COMPILED_MAX_FEATURES = 24
# Relative margin added to the largest scatter eigenvalue in the MM majoriser.
_MAJORISER_MARGIN = 1e-6


def _n_symmetric(n_features: int) -> int:
    return n_features * (n_features + 1) // 2


def _n_rotation(n_features: int) -> int:
    return n_features * (n_features - 1) // 2


def _previous_volumes(previous, n_components: int, n_features: int) -> np.ndarray:
    return determinant_root(previous.dense_covariances(n_components, n_features))


def _initial_volumes(scatter: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.trace(scatter, axis1=1, axis2=2) / (counts * scatter.shape[-1])


class EEE(CovarianceModel):
    """Ellipsoidal, equal volume, shape and orientation (scikit-learn's ``tied``)."""

    name = "EEE"
    description = "ellipsoidal, equal volume, shape and orientation"
    form = TiedForm
    scatter = FULL_SCATTER
    sklearn_name = "tied"
    one_point_safe = True
    supports_variational = True
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "EEE"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of the shared covariance under a conjugate prior."""
        denominator = prior.dof + counts.sum() + counts.shape[0] + n_features + 1
        return (prior.scale + data_term.sum(axis=0)) / denominator

    def variational_points_per_precision(self, counts):
        """One Wishart seen as K copies, each informed by N / K points (scikit-learn's tied)."""
        return counts.sum() / counts.shape[0]

    def estimate_covariances(self, scatter, counts, previous):
        return scatter.sum(axis=0) / counts.sum()

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return _n_symmetric(n_features)


class VEE(CovarianceModel):
    """Ellipsoidal, varying volume, equal shape and orientation: ``Sigma_k = lambda_k C``.

    Alternates ``C = unit-determinant(sum_k W_k / lambda_k)`` and
    ``lambda_k = tr(W_k C^{-1}) / (n_k d)`` (Celeux & Govaert, 1995).
    """

    name = "VEE"
    description = "ellipsoidal, equal shape and orientation"
    form = SharedOrientationForm
    scatter = FULL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = "VEE"

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        volumes = (
            _initial_volumes(scatter, counts)
            if previous is None
            else _previous_volumes(previous, n_components, n_features)
        )

        flat_scatter = scatter.reshape(n_components, -1)

        def evaluate(vols):
            # The state: volumes, C = unit-determinant(sum_k W_k / lambda_k) and
            # tr(C^{-1} W_k) for every k (W_k symmetric: the sum of C^{-1} * W_k).
            pooled = np.tensordot(1.0 / vols, scatter, axes=1)
            root = determinant_root(pooled)
            traces = root * (flat_scatter @ np.linalg.inv(pooled).ravel())
            return vols, pooled / root, traces

        def step(state):
            _, _, traces = state
            return evaluate(traces / (counts * n_features))

        def objective(state):
            # log det C = 0, so f = sum_k n_k d log lambda_k + tr(C^{-1} W_k) / lambda_k.
            vols, _, traces = state
            return float(np.sum(counts * n_features * np.log(vols) + traces / vols))

        volumes, shape, _ = minimise_by_steps(
            evaluate(volumes), step, objective, counts.sum(), self.inner_tol, self.inner_max_iter
        )
        return volumes[:, np.newaxis, np.newaxis] * shape

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components + (n_features - 1) + _n_rotation(n_features)


class _SharedOrientation(CovarianceModel):
    """Models with one orientation ``D`` for all components (EVE, VVE).

    Subclasses say how the eigenvalues along ``D`` follow from the scatter's diagonal in
    ``D``'s basis (`eigenvalues`) and give the curvature of the resulting profile objective
    (`curvature`); ``D`` is then found by Newton's method (`minimise_orientation`), started
    from the current orientation, or for more than `_NEWTON_MAX_FEATURES` features by the
    majorise-minimise steps of Browne & McNicholas (2014) until an M-step's steps stall
    (Newton's method then takes over for the rest of the fit, up to
    `_NEWTON_FALLBACK_MAX_FEATURES` features).

    The model remembers its last estimate: when the next M-step is handed that very
    estimate as ``previous`` (the EM loop), it starts from the orientation and Hessian
    found then instead of recovering the orientation from the covariances and computing
    a new Hessian at once.

    When the compiled kernels are available (`~gaussmix.engine.kernels.compiled_em_available`)
    the same algorithm runs compiled (`~gaussmix.engine.kernels.compiled_shared_orientation`)
    up to `_COMPILED_MAX_FEATURES` features, whatever the number of rows (its cost depends
    on ``K`` and ``d`` only). The NumPy code below is the reference it is tested against.
    """

    form = SharedOrientationForm
    scatter = FULL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = None
    #: Whether the volumes vary between components (VVE) or are equal (EVE).
    varying_volume: bool

    def __init__(self, inner_tol: float = 1e-8, inner_max_iter: int = 100):
        super().__init__(inner_tol, inner_max_iter)
        self._last: tuple[CovarianceForm, OrientationFit | OrientationSearch] | None = None
        self._pending: OrientationFit | OrientationSearch | None = None
        self._majoriser_stalled = False

    @staticmethod
    def eigenvalues(rotated_variances: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Eigenvalues (K, d) of each ``Sigma_k`` along ``D``, from ``diag(D^T W_k D)``."""
        raise NotImplementedError

    @staticmethod
    def curvature(
        rotated_variances: np.ndarray, values: np.ndarray, counts: np.ndarray
    ) -> ProfileCurvature:
        """Second derivatives in ``diag(D^T W_k D)`` of the objective minimised over values.

        Its gradient is ``1 / values`` (the envelope theorem: ``d/dr (log v + r / v) = 1/v``).
        """
        raise NotImplementedError

    def estimate(self, scatter, counts, reg_covar, previous=None):
        self._pending = None
        form = super().estimate(scatter, counts, reg_covar, previous)
        self._last = None if self._pending is None else (form, self._pending)
        return form

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        last, last_fit = self._last, None
        if last is not None and last[0] is previous:
            last_fit = last[1]
            orientation = last_fit.orientation
        elif previous is None:
            orientation = np.linalg.eigh(scatter.sum(axis=0))[1]
        else:
            orientation = common_orientation(previous.dense_covariances(n_components, n_features))
        if previous is None:  # a new fit
            self._majoriser_stalled = False
        if n_features <= _COMPILED_MAX_FEATURES and compiled_em_available():
            search = compiled_shared_orientation(
                scatter,
                counts,
                orientation,
                varying_volume=self.varying_volume,
                tol=self.inner_tol,
                max_iter=self.inner_max_iter,
                majoriser_stalled=self._majoriser_stalled,
                newton_max_features=_NEWTON_MAX_FEATURES,
                newton_fallback_max_features=_NEWTON_FALLBACK_MAX_FEATURES,
                previous=last_fit if isinstance(last_fit, OrientationSearch) else None,
            )
            self._majoriser_stalled = search.majoriser_stalled
            self._pending = search
            return from_eigen(search.orientation, search.values)
        quadratic_model = last_fit.quadratic_model if isinstance(last_fit, OrientationFit) else None
        fit = None
        if n_features > _NEWTON_MAX_FEATURES and not self._majoriser_stalled:
            orientation, values, converged = self._majorise_minimise(scatter, counts, orientation)
            fit = OrientationFit(orientation, values, None)
            # Stalled: Newton from where MM stopped, now and for the rest of the fit.
            self._majoriser_stalled = not converged and n_features <= _NEWTON_FALLBACK_MAX_FEATURES
        if fit is None or self._majoriser_stalled:
            fit = minimise_orientation(
                scatter,
                counts,
                orientation,
                Profile(self.eigenvalues, self.curvature),
                self.inner_tol,
                self.inner_max_iter,
                quadratic_model,
            )
        self._pending = fit
        return from_eigen(fit.orientation, fit.values)

    def _majorise_minimise(self, scatter, counts, orientation):
        """Alternate the exact eigenvalues given ``D`` with one MM step on ``D``.

        Returns the orientation, its eigenvalues and whether the steps converged (False
        after `inner_max_iter` steps).
        """
        n_features = scatter.shape[-1]
        # alpha_k I - W_k of the MM majoriser, fixed through the inner iterations. Any
        # alpha_k >= the largest eigenvalue of W_k majorises; exactly the largest leaves
        # alpha_k I - W_k singular, and with K=1 the SVD in `majorised_orientation` then
        # has a zero singular value whose vectors round-off picks (permuting the rows
        # moved VVE, K=1, d=4 covariances by 1e-4). A relative margin of 1e-6 keeps it
        # well-posed (round-off then moves D by ~1e-10) while barely slowing the MM steps.
        largest = np.linalg.eigvalsh(scatter)[:, -1] * (1.0 + _MAJORISER_MARGIN)
        shifted = largest[:, np.newaxis, np.newaxis] * np.eye(n_features) - scatter

        def evaluate(rotation):
            # diag(D^T W_k D), the eigenvalues given D, and f (Sigma_k is diagonal along D).
            rotated = np.sum((scatter @ rotation) * rotation, axis=1)
            values = self.eigenvalues(rotated, counts)
            objective = float(np.sum(counts[:, np.newaxis] * np.log(values) + rotated / values))
            return values, objective

        values, objective = evaluate(orientation)
        for _ in range(self.inner_max_iter):
            candidate = majorised_orientation(orientation, shifted, 1.0 / values)
            candidate_values, candidate_objective = evaluate(candidate)
            if not np.isfinite(candidate_objective):
                return orientation, values, True
            previous_objective = objective
            orientation, values, objective = candidate, candidate_values, candidate_objective
            if has_converged(previous_objective, objective, counts.sum(), self.inner_tol):
                return orientation, values, True
        return orientation, values, False


class EVE(_SharedOrientation):
    """Ellipsoidal, equal volume and orientation, varying shape: ``lambda D A_k D^T``.

    Given ``D``: ``A_k = unit-determinant(diag(D^T W_k D))`` and
    ``lambda = sum_k det(diag(D^T W_k D))^{1/d} / n``; ``D`` by Newton's method on the
    resulting objective ``n d log(sum_k det(diag(D^T W_k D))^{1/d})``.
    """

    name = "EVE"
    description = "ellipsoidal, equal volume and orientation"
    varying_volume = False

    @staticmethod
    def eigenvalues(rotated_variances, counts):
        roots = geometric_mean(rotated_variances)
        return (roots.sum() / counts.sum()) * rotated_variances / roots[:, np.newaxis]

    @staticmethod
    def curvature(rotated_variances, values, counts):
        # 1/v_kj = n g_k / (S r_kj) with g_k the geometric mean of r_k and S = sum_k g_k;
        # differentiating g_k and S gives one rank-one term per component and one overall.
        n_components, n_features = rotated_variances.shape
        inverse = 1.0 / values
        roots = geometric_mean(rotated_variances)
        per_component = np.eye(n_components)[:, :, np.newaxis]
        left = np.concatenate([per_component * inverse, -inverse[np.newaxis]])
        right = np.concatenate(
            [
                per_component / (n_features * rotated_variances),
                (roots[:, np.newaxis] / (roots.sum() * n_features * rotated_variances))[np.newaxis],
            ]
        )
        return ProfileCurvature(-inverse / rotated_variances, left, right)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + n_components * (n_features - 1) + _n_rotation(n_features)


class VVE(_SharedOrientation):
    """Ellipsoidal, equal orientation, varying volume and shape: ``lambda_k D A_k D^T``.

    Given ``D``: ``lambda_k A_k = diag(D^T W_k D) / n_k``; ``D`` by Newton's method on the
    resulting objective ``sum_k n_k log det(diag(D^T W_k D))`` (Flury's common principal
    components).
    """

    name = "VVE"
    description = "ellipsoidal, equal orientation"
    varying_volume = True

    @staticmethod
    def eigenvalues(rotated_variances, counts):
        return rotated_variances / counts[:, np.newaxis]

    @staticmethod
    def curvature(rotated_variances, values, counts):
        # 1/v_kj = n_k / r_kj depends on r_kj alone.
        empty = np.empty((0, *rotated_variances.shape))
        return ProfileCurvature(-1.0 / (values * rotated_variances), empty, empty)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * n_features + _n_rotation(n_features)


class EEV(CovarianceModel):
    """Ellipsoidal, equal volume and shape, varying orientation: ``lambda D_k A D_k^T``.

    With ``W_k = L_k Omega_k L_k^T`` (eigenvalues in one order): ``D_k = L_k``,
    ``A = unit-determinant(sum_k Omega_k)``, ``lambda = det(sum_k Omega_k)^{1/d} / n``.
    """

    name = "EEV"
    description = "ellipsoidal, equal volume and shape"
    form = FullForm
    scatter = FULL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = True
    compiled_constraint = "EEV"

    def estimate_covariances(self, scatter, counts, previous):
        values, vectors = np.linalg.eigh(scatter)
        pooled = values.sum(axis=0)
        shared = pooled / counts.sum()
        return from_eigen(vectors, np.broadcast_to(shared, values.shape))

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + (n_features - 1) + n_components * _n_rotation(n_features)


class VEV(CovarianceModel):
    """Ellipsoidal, equal shape, varying volume and orientation: ``lambda_k D_k A D_k^T``.

    ``D_k`` are the eigenvectors of ``W_k`` (eigenvalues ``Omega_k`` in one order); then
    alternate ``A = unit-determinant(sum_k Omega_k / lambda_k)`` and
    ``lambda_k = tr(Omega_k A^{-1}) / (n_k d)`` (Celeux & Govaert, 1995).
    """

    name = "VEV"
    description = "ellipsoidal, equal shape"
    form = FullForm
    scatter = FULL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = "VEV"

    def estimate_covariances(self, scatter, counts, previous):
        n_components, n_features, _ = scatter.shape
        values, vectors = np.linalg.eigh(scatter)
        volumes = (
            values.sum(axis=1) / (counts * n_features)
            if previous is None
            else _previous_volumes(previous, n_components, n_features)
        )

        def evaluate(vols):
            # The state: volumes and A = unit-determinant(sum_k Omega_k / lambda_k).
            return vols, unit_determinant((values / vols[:, np.newaxis]).sum(axis=0))

        def step(state):
            _, shape = state
            return evaluate((values / shape).sum(axis=1) / (counts * n_features))

        def objective(state):
            vols, shape = state
            eigenvalues = vols[:, np.newaxis] * shape
            return float(
                np.sum(
                    counts * np.log(eigenvalues).sum(axis=1) + (values / eigenvalues).sum(axis=1)
                )
            )

        volumes, shape = minimise_by_steps(
            evaluate(volumes), step, objective, counts.sum(), self.inner_tol, self.inner_max_iter
        )
        return from_eigen(vectors, volumes[:, np.newaxis] * shape)

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components + (n_features - 1) + n_components * _n_rotation(n_features)


class EVV(CovarianceModel):
    """Ellipsoidal, equal volume, varying shape and orientation: ``lambda C_k``.

    ``C_k = W_k / det(W_k)^{1/d}``, ``lambda = sum_k det(W_k)^{1/d} / n``.
    """

    name = "EVV"
    description = "ellipsoidal, equal volume"
    form = FullForm
    scatter = FULL_SCATTER
    sklearn_name = None
    one_point_safe = False
    supports_variational = False
    supports_map = False
    ridge_rescues_zero_scatter = False
    compiled_constraint = "EVV"

    def estimate_covariances(self, scatter, counts, previous):
        roots = determinant_root(scatter)
        volume = roots.sum() / counts.sum()
        return volume * scatter / roots[:, np.newaxis, np.newaxis]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_components * _n_rotation(n_features)


class VVV(CovarianceModel):
    """Ellipsoidal, varying volume, shape and orientation (scikit-learn's ``full``)."""

    name = "VVV"
    description = "ellipsoidal, varying volume, shape and orientation"
    form = FullForm
    scatter = FULL_SCATTER
    sklearn_name = "full"
    one_point_safe = True
    supports_variational = True
    supports_map = True
    ridge_rescues_zero_scatter = True
    compiled_constraint = "VVV"

    def map_covariances(self, data_term, counts, prior, n_features):
        """Posterior mode of each covariance under a conjugate prior (see `CovarianceModel`)."""
        return (prior.scale + data_term) / (prior.dof + counts + n_features + 2)[:, None, None]

    def estimate_covariances(self, scatter, counts, previous):
        return scatter / counts[:, None, None]

    @staticmethod
    def n_covariance_parameters(n_components, n_features):
        return n_components * _n_symmetric(n_features)
