"""Newton's method for a shared orientation ``D`` (EVE, VVE).

Given ``D``, the eigenvalues of every ``Sigma_k`` along ``D``'s columns have a closed form in
the rotated variances ``r_kj = (D^T W_k D)_jj``, so the M-step minimises a profile objective
``F(D) = phi(r(D))`` over orthogonal ``D``. We write ``D' = D exp(Omega)`` with ``Omega``
skew-symmetric, one coordinate ``omega_pq`` per pair ``p < q`` of columns, and take Newton
steps in those ``d (d - 1) / 2`` coordinates: with ``M_k = D^T W_k D``,

* ``dr_kp / d omega_pq = -2 M_kpq`` and ``dr_kq / d omega_pq = 2 M_kpq`` (``J``),
* the second-order part of ``r_kj(Omega)`` is ``(M_k Omega^2 - Omega M_k Omega)_jj``,

so the Hessian is ``J^T phi'' J`` plus the second-order term weighted by ``phi' = 1 / values``
(the gradient of the profile, by the envelope theorem). Both couple only pairs that share a
column. From the previous EM iteration's orientation Newton converges in a few steps, where
the majorise-minimise iteration of Browne & McNicholas (2014) needed thousands (on the
benchmark's d = 16, K = 8 data it stopped at its cap of 100, 0.1-1 nat per unit of weight
short of the minimum). Steps are taken through the Cayley transform (orthogonal, equal to
``exp`` to second order), damped where the Hessian is not positive definite and halved until
the objective does not increase, so the result is never worse than the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import linalg, sparse

__all__ = [
    "ProfileCurvature",
    "Profile",
    "QuadraticModel",
    "OrientationFit",
    "newton_system",
    "minimise_orientation",
]

# Largest coordinate of a step (radians, roughly): a longer one is shortened first, since
# rotations by more than a fraction of pi leave the region where the quadratic model holds.
_MAX_ANGLE = 0.5
# Step halvings tried before an iteration gives up (the start is then returned).
_MAX_HALVINGS = 30
# A Hessian is reused while each step's predicted decrease is below this fraction of the
# previous one (convergence at least this fast); otherwise a new one is computed.
_REUSE_RATIO = 0.25
# Damping of an indefinite Hessian (relative to its diagonal): the first tried, the
# smallest tried later, and the floor of that diagonal relative to its largest entry.
# Along a direction of slight negative curvature (badly scaled data: one component's
# variance along a column shrinking towards its floor) a damping of 1e-3 limits the
# steps to a thousandth of what the objective allows, and the M-step crawls; each
# positive definite damped model lets the next start four times lower, so the damping
# settles just above what the negative curvature requires.
_INITIAL_DAMPING = 1e-3
_MIN_DAMPING = 1e-12
_SCALE_FLOOR = 1e-12
# Growth of the damping until Cholesky succeeds; the next indefinite Hessian starts from the
# last damping divided by it, so that one or two factorisations usually suffice.
_DAMPING_FACTOR = 4.0
# A damped model (an indefinite Hessian, away from a minimum: typically a slow descent
# along a direction of negative curvature, where successive Hessians barely differ) is
# kept for up to this many steps while each full step achieves at least
# `_DAMPED_TRUST` of its predicted decrease; a fresh Hessian costs two factorisations
# of a (P, P) matrix, a step with a kept one a triangular solve.
_DAMPED_REUSE = 8
_DAMPED_TRUST = 0.5
# After an indefinite Hessian the next ones are damped without first trying them as they
# are, except every this many: a Hessian that has become positive definite near the
# minimum is then still used as it is, giving Newton's fast convergence back.
_EXACT_RETRY = 4


@dataclass(frozen=True)
class ProfileCurvature:
    """Second derivatives of a profile objective in the rotated variances ``r`` (K, d).

    The Hessian ``phi''`` over the flattened ``r`` is
    ``diag(diagonal) + sum_i left_i right_i^T``.

    Parameters
    ----------
    diagonal : ndarray of shape (K, d)
        The diagonal part.
    left, right : ndarray of shape (m, K, d)
        Factors of the low-rank part (``m`` may be 0).
    """

    diagonal: np.ndarray
    left: np.ndarray
    right: np.ndarray


@dataclass(frozen=True)
class Profile:
    """What a shared-orientation model contributes to the Newton iteration.

    Parameters
    ----------
    eigenvalues : callable
        ``eigenvalues(rotated, counts)``: the eigenvalues (K, d) of each ``Sigma_k`` along
        ``D`` that minimise the objective given the rotated variances ``rotated`` (K, d).
    curvature : callable
        ``curvature(rotated, values, counts)``: the `ProfileCurvature` of the profile
        objective, whose gradient in ``rotated`` is ``1 / values``.
    """

    eigenvalues: Callable[[np.ndarray, np.ndarray], np.ndarray]
    curvature: Callable[[np.ndarray, np.ndarray, np.ndarray], ProfileCurvature]


@dataclass(frozen=True)
class _PairLayout:
    """Index arithmetic of the pair coordinates for one number of features ``d``.

    ``first < second`` are the pairs in ``numpy.triu_indices`` order, ``upper`` and ``lower``
    their flat indices in a (d, d) array above and below the diagonal; ``difference`` (d, P)
    maps a (K, d) array ``x`` to ``x[:, second] - x[:, first]``; ``assembly`` (P*P, 2 d^3)
    adds the product terms of the Hessian (see `newton_system`) from
    ``concat(T.ravel(), H3.ravel())``.
    """

    first: np.ndarray
    second: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    difference: np.ndarray
    assembly: sparse.csr_matrix


@lru_cache(maxsize=16)
def _pair_layout(n_features: int) -> _PairLayout:
    d = n_features
    first, second = np.triu_indices(d, 1)
    n_pairs = len(first)
    difference = np.zeros((d, n_pairs))
    difference[second, np.arange(n_pairs)] = 1.0
    difference[first, np.arange(n_pairs)] = -1.0
    pair = np.full((d, d), -1)
    pair[first, second] = pair[second, first] = np.arange(n_pairs)
    # dr_j / d omega_(a, b) is -2 M_ab for j = a (the smaller index) and +2 M_ab for j = b.
    side = np.where(np.arange(d)[:, None] < np.arange(d)[None, :], -1.0, 1.0)

    positions, sources, weights = [], [], []
    # J^T diag(h) J: pairs (j, l) and (j, m) share column j.
    j, l, m = np.meshgrid(np.arange(d), np.arange(d), np.arange(d), indexing="ij")
    keep = (l != j) & (m != j)
    j, l, m = j[keep], l[keep], m[keep]
    positions.append(pair[j, l] * n_pairs + pair[j, m])
    sources.append(j * d * d + l * d + m)
    weights.append(4.0 * side[j, l] * side[j, m])

    # Twice the second-order term, 2 (B1 - B2) for pairs alpha = (p, q), beta = (s, t):
    #   B1 = [q=s] G[t,p] - [q=t] G[s,p] - [p=s] G[t,q] + [p=t] G[s,q],  G symmetrised,
    #   B2 = [p=t] H3[p,q,s] - [p=s] H3[p,q,t] - [q=t] H3[q,p,s] + [q=s] H3[q,p,t],
    # with G[a, b] = (H3[a, a, b] + H3[b, b, a]) / 2.
    p, q = first[:, None], second[:, None]
    s, t = first[None, :], second[None, :]
    offset = d**3

    def h3(a, b, c):
        return offset + a * d * d + b * d + c

    terms = [
        (q == s, 1.0, [h3(t, t, p), h3(p, p, t)]),
        (q == t, -1.0, [h3(s, s, p), h3(p, p, s)]),
        (p == s, -1.0, [h3(t, t, q), h3(q, q, t)]),
        (p == t, 1.0, [h3(s, s, q), h3(q, q, s)]),
        (p == t, -2.0, [h3(p, q, s)]),
        (p == s, 2.0, [h3(p, q, t)]),
        (q == t, 2.0, [h3(q, p, s)]),
        (q == s, -2.0, [h3(q, p, t)]),
    ]
    for mask, weight, indices in terms:
        rows, cols = np.nonzero(mask)
        for index in indices:
            positions.append(rows * n_pairs + cols)
            sources.append(np.broadcast_to(index, mask.shape)[rows, cols])
            weights.append(np.full(len(rows), weight))
    assembly = sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(positions), np.concatenate(sources))),
        shape=(n_pairs * n_pairs, 2 * d**3),
    )
    assembly.sum_duplicates()
    return _PairLayout(first, second, first * d + second, second * d + first, difference, assembly)


def _pair_derivatives(
    off_diagonal: np.ndarray, vectors: np.ndarray, layout: _PairLayout
) -> np.ndarray:
    """``J^T x`` for each (K, d) ``x`` in ``vectors`` (..., K, d): shape (..., P)."""
    return 2.0 * np.sum(off_diagonal * (vectors @ layout.difference), axis=-2)


def _gradient(rotated: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Gradient of ``F(D exp(Omega))`` at 0 in the pair coordinates (``J^T (1/values)``)."""
    layout = _pair_layout(rotated.shape[-1])
    return _pair_derivatives(rotated[:, layout.first, layout.second], 1.0 / values, layout)


def newton_system(
    rotated: np.ndarray, inverse_values: np.ndarray, curvature: ProfileCurvature
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of ``F(D exp(Omega))`` at ``Omega = 0`` in the pair coordinates.

    Parameters
    ----------
    rotated : ndarray of shape (K, d, d)
        ``M_k = D^T W_k D``.
    inverse_values : ndarray of shape (K, d)
        ``phi'``, the gradient of the profile objective in ``r_kj = M_kjj``.
    curvature : ProfileCurvature
        ``phi''``.

    Returns
    -------
    gradient : ndarray of shape (P,)
    hessian : ndarray of shape (P, P)
        Pairs ``p < q`` in ``numpy.triu_indices`` order, ``P = d (d - 1) / 2``.
    """
    n_components, n_features, _ = rotated.shape
    layout = _pair_layout(n_features)
    n_pairs = len(layout.first)
    off_diagonal = rotated[:, layout.first, layout.second]
    gradient = _pair_derivatives(off_diagonal, inverse_values, layout)

    # T[j, l, m] = sum_k h_kj M_kjl M_kjm and H3[a, b, c] = sum_k phi'_ka M_kbc.
    scaled = rotated * curvature.diagonal[:, :, np.newaxis]
    products = np.matmul(scaled.transpose(1, 2, 0), rotated.transpose(1, 0, 2))
    weighted = inverse_values.T @ rotated.reshape(n_components, -1)
    values = np.concatenate([products.ravel(), weighted.ravel()])
    hessian = (layout.assembly @ values).reshape(n_pairs, n_pairs)
    if len(curvature.left):
        left = _pair_derivatives(off_diagonal, curvature.left, layout)
        right = _pair_derivatives(off_diagonal, curvature.right, layout)
        hessian += left.T @ right
    return gradient, hessian


class QuadraticModel:
    """A positive definite stand-in for the Hessian, factorised once, and its steps.

    The Hessian itself where Cholesky succeeds (``exact``). Otherwise (an indefinite
    Hessian, away from a minimum) ``H + mu S`` with ``S`` the absolute diagonal of ``H``
    and the smallest ``mu`` of ``damping, 4 damping, 16 damping, ...`` that makes it positive
    definite (Levenberg-Marquardt): directions of negative curvature are then descended.

    Parameters
    ----------
    hessian : ndarray of shape (P, P)
    damping : float
        The first ``mu`` tried if the Hessian is not positive definite.
    try_exact : bool
        Whether to try the Hessian itself first. False when the last Hessian at a nearby
        point was indefinite: its failed factorisation would cost as much as a successful
        one, and the damped model descends just as well while the Hessian stays indefinite.
    """

    def __init__(
        self, hessian: np.ndarray, damping: float = _INITIAL_DAMPING, try_exact: bool = True
    ):
        self.matrix = hessian
        self.damping = 0.0
        if try_exact:
            try:
                self._factor = linalg.cho_factor(hessian, check_finite=False)
                return
            except linalg.LinAlgError:
                pass
        scale = np.abs(np.diagonal(hessian))
        scale = np.maximum(scale, _SCALE_FLOOR * max(scale.max(), np.finfo(float).tiny))
        self.damping = damping
        while True:
            self.matrix = hessian + np.diag(self.damping * scale)
            try:
                self._factor = linalg.cho_factor(self.matrix, check_finite=False)
                return
            except linalg.LinAlgError:
                self.damping *= _DAMPING_FACTOR

    @property
    def exact(self) -> bool:
        """Whether the model is the Hessian itself (no damping was needed)."""
        return self.damping == 0.0

    def step(self, gradient: np.ndarray) -> tuple[np.ndarray, float]:
        """The minimiser of the model (shortened to `_MAX_ANGLE`) and its predicted decrease."""
        step = -linalg.cho_solve(self._factor, gradient, check_finite=False)
        largest = np.abs(step).max(initial=0.0)
        scale = min(1.0, _MAX_ANGLE / largest) if largest > 0 else 1.0
        # The model's decrease for scale * step, with matrix @ step = -gradient:
        # -(gradient @ s) * (scale - scale^2 / 2) for s the unshortened step.
        return scale * step, -float(gradient @ step) * (scale - 0.5 * scale * scale)


def _cayley(step: np.ndarray, n_features: int) -> np.ndarray:
    """The orthogonal ``(I - Omega/2)^{-1} (I + Omega/2)`` for pair coordinates ``step``."""
    layout = _pair_layout(n_features)
    half: np.ndarray = np.zeros(n_features * n_features)
    half[layout.upper] = 0.5 * step
    half[layout.lower] = -0.5 * step
    half = half.reshape(n_features, n_features)
    identity = np.eye(n_features)
    return np.linalg.solve(identity - half, identity + half)


@dataclass(frozen=True)
class _State:
    orientation: np.ndarray
    rotated: np.ndarray
    values: np.ndarray
    objective: float


@dataclass(frozen=True)
class OrientationFit:
    """The result of `minimise_orientation`.

    Parameters
    ----------
    orientation : ndarray of shape (d, d)
        ``D``, eigenvectors as columns.
    values : ndarray of shape (K, d)
        Eigenvalues of each ``Sigma_k`` along ``D``'s columns.
    quadratic_model : QuadraticModel or None
        The last Hessian that was positive definite, if it gave a full step: a start for
        the next M-step (see `minimise_orientation`).
    """

    orientation: np.ndarray
    values: np.ndarray
    quadratic_model: QuadraticModel | None


def _evaluate(scatter, counts, orientation, profile: Profile) -> _State:
    rotated = np.swapaxes(orientation, 0, 1) @ scatter @ orientation
    variances = np.diagonal(rotated, axis1=1, axis2=2)
    values = profile.eigenvalues(variances, counts)
    objective = float(np.sum(counts[:, np.newaxis] * np.log(values) + variances / values))
    return _State(orientation, rotated, values, objective)


def minimise_orientation(
    scatter: np.ndarray,
    counts: np.ndarray,
    orientation: np.ndarray,
    profile: Profile,
    tol: float,
    max_iter: int,
    quadratic_model: QuadraticModel | None = None,
) -> OrientationFit:
    """Orientation and eigenvalues minimising ``sum_k n_k log det Sigma_k + tr(Sigma_k^-1 W_k)``.

    Newton steps from ``orientation``, halved until the objective does not increase, so the
    result is never worse than the start. A Hessian that was positive definite and gave a
    full step is reused while the predicted decrease keeps shrinking fast (the simplified
    Newton method: near the optimum the Hessian barely changes, and a step with an old one
    costs a fraction of a new one); ``quadratic_model``, the previous EM iteration's, serves
    the same way for the first step. An indefinite Hessian gives a damped model
    (`QuadraticModel`), kept for up to `_DAMPED_REUSE` steps while its steps achieve what
    it predicts; after one, the next Hessians are damped at once (with every
    `_EXACT_RETRY`-th tried as it is) and their damping falls while they stay positive
    definite. Stops when the decrease predicted for a step is at most
    ``tol`` times ``sum_k n_k`` (that step is still taken; the criterion is unit-free, like
    `~._algebra.has_converged`), when no step lowers the objective, or after ``max_iter``
    steps. If the objective is not finite at the start (a component without spread along
    some column), the values are NaN.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
        ``W_k``.
    counts : ndarray of shape (K,)
        ``n_k``.
    orientation : ndarray of shape (d, d)
        Orthogonal start, eigenvectors as columns.
    profile : Profile
        The model's eigenvalues given ``D`` and their curvature.
    tol : float
        Tolerance per unit of weight.
    max_iter : int
        Steps at most.
    quadratic_model : QuadraticModel, optional
        A Hessian from a nearby problem, in ``orientation``'s pair coordinates.
    """
    threshold = tol * counts.sum()
    state = _evaluate(scatter, counts, orientation, profile)
    if not np.isfinite(state.objective):
        # A component without spread along some column: no maximum-likelihood estimate
        # exists before the ridge, and NaN values make the caller say so.
        return OrientationFit(state.orientation, np.full_like(state.values, np.nan), None)
    model, last_predicted, damping = quadratic_model, np.inf, _INITIAL_DAMPING
    reusable = None
    steps = damped_builds = damped_uses = 0
    while steps < max_iter:
        fresh = model is None
        if model is None:
            curvature = profile.curvature(
                np.diagonal(state.rotated, axis1=1, axis2=2), state.values, counts
            )
            gradient, hessian = newton_system(state.rotated, 1.0 / state.values, curvature)
            model = QuadraticModel(hessian, damping, damped_builds % _EXACT_RETRY == 0)
            damping = max(model.damping / _DAMPING_FACTOR, _MIN_DAMPING)
            damped_builds = 0 if model.exact else damped_builds + 1
            damped_uses = 0
        else:
            gradient = _gradient(state.rotated, state.values)
        step, predicted = model.step(gradient)
        # With steps contracting by theta = predicted / last_predicted, the decrease left
        # after this step is about predicted * theta / (1 - theta) (as for simplified Newton
        # iterations): at most the threshold means converged once this step is taken.
        theta = predicted / last_predicted if np.isfinite(last_predicted) else 1.0
        converged = predicted <= threshold or (
            theta < 1.0 and predicted * theta / (1.0 - theta) <= threshold
        )
        if model.exact and not (fresh or converged) and predicted > _REUSE_RATIO * last_predicted:
            model = None  # the old Hessian no longer predicts well: build a new one
            continue
        steps += 1
        candidate, full_step = _descend(
            scatter, counts, state, step, profile, 1 if converged else _MAX_HALVINGS
        )
        if model.exact and full_step:
            reusable = model
        elif reusable is model:
            reusable = None
        if candidate is None and not fresh and not converged:
            model = None  # retry from the same point with its own Hessian
            continue
        if converged or candidate is None:
            state = candidate or state
            break
        damped_uses += not model.exact
        if not _keep(
            model,
            reusable,
            full_step,
            state.objective - candidate.objective,
            predicted,
            damped_uses,
        ):
            model = None
        state = candidate
        last_predicted = predicted
    return OrientationFit(state.orientation, state.values, reusable)


def _keep(
    model: QuadraticModel,
    reusable: QuadraticModel | None,
    full_step: bool,
    decrease: float,
    predicted: float,
    uses: int,
) -> bool:
    """Whether the next step reuses ``model``.

    An exact model is kept when it may serve the next EM iteration too (``reusable``); the
    rule on how fast the predicted decrease shrinks then decides. A damped one is kept
    for `_DAMPED_REUSE` steps while each full step achieves `_DAMPED_TRUST` of its
    predicted decrease.
    """
    if model.exact:
        return reusable is model
    return full_step and decrease >= _DAMPED_TRUST * predicted and uses < _DAMPED_REUSE


def _descend(
    scatter, counts, state: _State, step: np.ndarray, profile: Profile, max_tries: int
) -> tuple[_State | None, bool]:
    """The first of ``step``, ``step / 2``, ... that does not increase the objective.

    Returns the new state (None if ``max_tries`` tries all increased it) and whether the
    full step was taken.
    """
    n_features = scatter.shape[-1]
    for tries in range(max_tries):
        trial = _evaluate(scatter, counts, state.orientation @ _cayley(step, n_features), profile)
        if trial.objective <= state.objective:
            return trial, tries == 0
        step = 0.5 * step
    return None, False
