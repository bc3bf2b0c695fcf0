"""The M-step of the shared-orientation models (EVE, VVE) in compiled code (Numba).

The same algorithm as the NumPy reference (``engine/covariance/models/_orientation.py``
and ``_SharedOrientation`` in ``ellipsoidal.py``), step for step: given a shared
orientation ``D`` the eigenvalues have a closed form in ``r_kj = (D^T W_k D)_jj``, and
``D`` minimises the resulting profile objective, by Newton's method on the Cayley
parametrisation (a damped Hessian where it is indefinite, a Hessian reused while the
steps contract fast, halved steps until the objective does not increase) or, above
``newton_max_features`` features, by the majorise-minimise steps of Browne & McNicholas
(2014) until they stall, Newton's method then taking over for the rest of the fit. The
same constants, the same stopping rules; the two paths agree to rounding (tested in
``tests/engine/test_compiled_orientation.py``).

The NumPy path spends most of its time on the fixed cost of many small NumPy and SciPy
calls (a Hessian over ``d (d - 1) / 2`` pairs is assembled, factorised and solved a few
times per M-step); here each M-step is one call.

Divisions follow NumPy's rules (``error_model="numpy"``: a zero divisor gives inf or NaN,
not an exception), as in the reference, whose non-finite objective means that no
estimate exists.

State kept from one M-step to the next of a fit (see `shared_orientation_covariances`):
the orientation, and the last exact Hessian that gave a full step (its Cholesky factor),
which starts the next M-step like the NumPy path's ``QuadraticModel``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Status codes of `shared_orientation_m_step`.
CONVERGED, STALLED, NOT_FINITE = 0, 1, 2

# The NumPy path's constants (``_orientation.py``, ``ellipsoidal.py``, where they are
# explained); a test checks they are equal.
_MAX_ANGLE = 0.5
_MAX_HALVINGS = 30
_REUSE_RATIO = 0.25
_INITIAL_DAMPING = 1e-3
_MIN_DAMPING = 1e-12
_SCALE_FLOOR = 1e-12
_DAMPING_FACTOR = 4.0
_DAMPED_REUSE = 8
_DAMPED_TRUST = 0.5
_EXACT_RETRY = 4
NEWTON_MAX_FEATURES = 24
NEWTON_FALLBACK_MAX_FEATURES = 64
_MAJORISER_MARGIN = 1e-6
# A damping this large never makes a finite matrix positive definite where a smaller one
# failed: the matrix is not finite (the NumPy path would loop for ever).
_MAX_DAMPING = 1e300
_TINY = np.finfo(np.float64).tiny

#: Indices into the ``state`` array of `shared_orientation_m_step`.
REUSABLE_SLOT, MAJORISER_STALLED = 0, 1


@njit(cache=True, nogil=True, error_model="numpy")
def _all_finite(array):
    """Whether every entry of an array is finite."""
    for value in array.ravel():
        if not np.isfinite(value):
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def n_pairs(n_features):
    """``d (d - 1) / 2``: the rotation coordinates, one per pair of columns."""
    return n_features * (n_features - 1) // 2


@njit(cache=True, nogil=True, error_model="numpy")
def _pair(first, second, n_features):
    """Index of the pair ``first < second`` in ``numpy.triu_indices(d, 1)`` order."""
    return first * n_features - first * (first + 1) // 2 + second - first - 1


@njit(cache=True, nogil=True, error_model="numpy")
def _profile_values(variances, counts, varying_volume, values):
    """Eigenvalues along ``D`` (K, d) minimising the objective given ``r`` = ``variances``.

    VVE (``varying_volume``): ``r_kj / n_k``. EVE: ``lambda r_kj / g_k`` with ``g_k`` the
    geometric mean of ``r_k`` and ``lambda = sum_k g_k / n``.
    """
    n_components, d = variances.shape
    if varying_volume:
        for k in range(n_components):
            for j in range(d):
                values[k, j] = variances[k, j] / counts[k]
        return
    roots = np.empty(n_components)
    for k in range(n_components):
        total = 0.0
        for j in range(d):
            total += np.log(variances[k, j])
        roots[k] = np.exp(total / d)
    volume = np.sum(roots) / np.sum(counts)
    for k in range(n_components):
        for j in range(d):
            values[k, j] = volume * variances[k, j] / roots[k]


@njit(cache=True, nogil=True, error_model="numpy")
def _objective(variances, values, counts):
    """``sum_kj n_k log v_kj + r_kj / v_kj``."""
    total = 0.0
    for k in range(values.shape[0]):
        for j in range(values.shape[1]):
            total += counts[k] * np.log(values[k, j]) + variances[k, j] / values[k, j]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _evaluate(scatter, counts, orientation, varying_volume, rotated, variances, values):
    """``M_k = D^T W_k D`` into ``rotated``, its diagonal, the eigenvalues; the objective."""
    n_components, d, _ = scatter.shape
    product = np.empty((d, d))
    for k in range(n_components):
        _matmul(scatter[k], orientation, product, False)
        _matmul(orientation, product, rotated[k], True)
        for j in range(d):
            variances[k, j] = rotated[k, j, j]
    _profile_values(variances, counts, varying_volume, values)
    return _objective(variances, values, counts)


@njit(cache=True, nogil=True, error_model="numpy")
def _gradient(rotated, values, gradient):
    """Gradient in the pair coordinates: ``2 sum_k M_kpq (1/v_kq - 1/v_kp)``."""
    n_components, d, _ = rotated.shape
    for p in range(d):
        for q in range(p + 1, d):
            total = 0.0
            for k in range(n_components):
                total += rotated[k, p, q] * (1.0 / values[k, q] - 1.0 / values[k, p])
            gradient[_pair(p, q, d)] = 2.0 * total


@njit(cache=True, nogil=True, error_model="numpy")
def _pair_derivatives(rotated, vectors, out):
    """``J^T x`` (P,) for one (K, d) ``x``: ``2 sum_k M_kpq (x_kq - x_kp)``."""
    n_components, d, _ = rotated.shape
    for p in range(d):
        for q in range(p + 1, d):
            total = 0.0
            for k in range(n_components):
                total += rotated[k, p, q] * (vectors[k, q] - vectors[k, p])
            out[_pair(p, q, d)] = 2.0 * total


@njit(cache=True, nogil=True, error_model="numpy")
def _hessian_products(rotated, variances, values, varying_volume):
    """``T[j, l, m] = sum_k h_kj M_kjl M_kjm`` and ``H3[a, b, c] = sum_k phi'_ka M_kbc``.

    ``phi' = 1 / values`` and ``h`` is ``phi''``'s diagonal: ``-1 / (v r)`` (VVE),
    ``-(1/v) / r`` (EVE).
    """
    n_components, d, _ = rotated.shape
    products = np.zeros((d, d, d))
    weighted = np.zeros((d, d, d))
    for k in range(n_components):
        for j in range(d):
            phi = 1.0 / values[k, j]
            if varying_volume:
                h = -1.0 / (values[k, j] * variances[k, j])
            else:
                h = -phi / variances[k, j]
            for l in range(d):
                scaled = rotated[k, j, l] * h
                for m in range(d):
                    products[j, l, m] += scaled * rotated[k, j, m]
                    weighted[j, l, m] += phi * rotated[k, l, m]
    return products, weighted


@njit(cache=True, nogil=True, error_model="numpy")
def _hessian_entry(products, weighted, p, q, s, t):
    """Hessian entry of pairs ``(p, q)``, ``(s, t)``: ``J^T diag(h) J`` plus the second-order term.

    Non-zero only for pairs sharing a column (see ``_pair_layout`` in the NumPy path).
    """
    value = 0.0
    if p == s:
        value += 4.0 * products[p, q, t]
        value -= weighted[t, t, q] + weighted[q, q, t]
        value += 2.0 * weighted[p, q, t]
    if p == t:
        value -= 4.0 * products[p, q, s]
        value += weighted[s, s, q] + weighted[q, q, s]
        value -= 2.0 * weighted[p, q, s]
    if q == s:
        value -= 4.0 * products[q, p, t]
        value += weighted[t, t, p] + weighted[p, p, t]
        value -= 2.0 * weighted[q, p, t]
    if q == t:
        value += 4.0 * products[q, p, s]
        value -= weighted[s, s, p] + weighted[p, p, s]
        value += 2.0 * weighted[q, p, s]
    return value


@njit(cache=True, nogil=True, error_model="numpy")
def _add_low_rank_curvature(rotated, variances, values, hessian):
    """Add EVE's ``J^T (sum_i left_i right_i^T) J``: one term per component, one overall.

    ``1/v_kj = n g_k / (S r_kj)`` with ``g_k`` the geometric mean of ``r_k`` and
    ``S = sum_k g_k`` (see ``EVE.curvature``).
    """
    n_components, d, _ = rotated.shape
    size = hessian.shape[0]
    roots = np.empty(n_components)
    for k in range(n_components):
        total = 0.0
        for j in range(d):
            total += np.log(variances[k, j])
        roots[k] = np.exp(total / d)
    root_sum = np.sum(roots)
    left_vector = np.zeros((n_components, d))
    right_vector = np.zeros((n_components, d))
    left = np.empty((n_components + 1, size))
    right = np.empty((n_components + 1, size))
    for term in range(n_components + 1):
        for k in range(n_components):
            for j in range(d):
                inverse = 1.0 / values[k, j]
                if term == n_components:
                    left_vector[k, j] = -inverse
                    right_vector[k, j] = roots[k] / (root_sum * d * variances[k, j])
                elif k == term:
                    left_vector[k, j] = inverse
                    right_vector[k, j] = 1.0 / (d * variances[k, j])
                else:
                    left_vector[k, j] = 0.0
                    right_vector[k, j] = 0.0
        _pair_derivatives(rotated, left_vector, left[term])
        _pair_derivatives(rotated, right_vector, right[term])
    # As the NumPy path: the low-rank sum first, then added.
    low_rank = np.empty(size)
    for a in range(size):
        low_rank[:] = 0.0
        for term in range(n_components + 1):
            _axpy(left[term, a], right[term], low_rank)
        _axpy(1.0, low_rank, hessian[a])


@njit(cache=True, nogil=True, error_model="numpy")
def _hessian(rotated, variances, values, varying_volume, hessian):
    """Hessian of ``F(D exp(Omega))`` at 0 in the pair coordinates (see ``newton_system``).

    ``J^T phi'' J`` plus the second-order term weighted by ``phi' = 1 / values``; for EVE
    ``phi''`` has a rank-(K + 1) part besides its diagonal.
    """
    d = rotated.shape[1]
    products, weighted = _hessian_products(rotated, variances, values, varying_volume)
    hessian[:, :] = 0.0
    for p in range(d):
        for q in range(p + 1, d):
            row = _pair(p, q, d)
            # Only pairs sharing a column with (p, q) couple with it.
            for shared in (p, q):
                for other in range(d):
                    if other != shared:
                        s, t = min(shared, other), max(shared, other)
                        hessian[row, _pair(s, t, d)] = _hessian_entry(
                            products, weighted, p, q, s, t
                        )
    if not varying_volume:
        _add_low_rank_curvature(rotated, variances, values, hessian)


@njit(cache=True, nogil=True, error_model="numpy")
def _axpy(factor, source, target):
    """``target += factor * source`` over whole 1-d arrays (indices from 0: vectorised)."""
    for m in range(target.shape[0]):
        target[m] += factor * source[m]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def _dot(first, second):
    """Dot product of two 1-d arrays, reassociated freely (``fastmath``): vectorised."""
    total = 0.0
    for m in range(first.shape[0]):
        total += first[m] * second[m]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky(matrix, shift, lower):
    """Lower Cholesky factor of ``matrix + diag(shift)`` into ``lower``; False if not positive definite.

    A pivot that is not positive (or NaN) fails, as in LAPACK's ``potrf``. No BLAS call:
    OpenBLAS's threads cost far more than the arithmetic at these sizes on a busy machine
    (a d = 30 fit's M-steps took 15 times longer with them than with one thread). The
    left-looking form with vectorised dot products over contiguous rows took 2.7 ms at
    ``P = 435`` (d = 30) against 1.6 ms for single-threaded LAPACK and 3.6-8 ms for
    plainer loops.
    """
    size = matrix.shape[0]
    for j in range(size):
        row = lower[j, :j]
        total = matrix[j, j] + shift[j] - _dot(row, row)
        if not total > 0.0:
            return False
        pivot = math.sqrt(total)
        lower[j, j] = pivot
        for i in range(j + 1, size):
            lower[i, j] = (matrix[i, j] - _dot(lower[i, :j], row)) / pivot
        for i in range(j + 1, size):
            lower[j, i] = 0.0
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _matmul(left, right, out, transpose_left):
    """``left @ right`` (or ``left.T @ right``) into ``out``, for small square matrices.

    Row updates over contiguous rows (vectorised) rather than BLAS calls (see `_cholesky`).
    """
    d = out.shape[0]
    for i in range(d):
        row = out[i]
        row[:] = 0.0
        for m in range(d):
            _axpy(left[m, i] if transpose_left else left[i, m], right[m], row)


@njit(cache=True, nogil=True, error_model="numpy")
def _quadratic_model(hessian, damping, try_exact, lower):
    """Factor a positive definite stand-in for ``hessian`` into ``lower`` (``QuadraticModel``).

    Returns the damping used: 0 for the Hessian itself, else the first of ``damping``,
    4 ``damping``, ... making ``H + mu |diag H|`` positive definite; -1 if none does
    (a Hessian that is not finite).
    """
    size = hessian.shape[0]
    if not _all_finite(hessian):
        return -1.0
    shift = np.zeros(size)
    if try_exact and _cholesky(hessian, shift, lower):
        return 0.0
    scale = np.empty(size)
    largest = 0.0
    for j in range(size):
        scale[j] = abs(hessian[j, j])
        largest = max(largest, scale[j])
    floor = _SCALE_FLOOR * max(largest, _TINY)
    for j in range(size):
        scale[j] = max(scale[j], floor)
    while damping <= _MAX_DAMPING:
        for j in range(size):
            shift[j] = damping * scale[j]
        if _cholesky(hessian, shift, lower):
            return damping
        damping *= _DAMPING_FACTOR
    return -1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _model_step(lower, gradient, step):
    """The model's minimiser (shortened to `_MAX_ANGLE`) into ``step``; its predicted decrease."""
    size = gradient.shape[0]
    for i in range(size):
        step[i] = (-gradient[i] - _dot(lower[i, :i], step[:i])) / lower[i, i]
    # L^T x = y by columns of L^T (rows of L, contiguous).
    for i in range(size - 1, -1, -1):
        step[i] /= lower[i, i]
        for m in range(i):
            step[m] -= lower[i, m] * step[i]
    largest = 0.0
    slope = 0.0
    for i in range(size):
        largest = max(largest, abs(step[i]))
        slope += gradient[i] * step[i]
    scale = min(1.0, _MAX_ANGLE / largest) if largest > 0 else 1.0
    for i in range(size):
        step[i] *= scale
    return -slope * (scale - 0.5 * scale * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def _swap_rows(matrix, first, second):
    """Exchange two rows of a 2-d array in place."""
    if first != second:
        for m in range(matrix.shape[1]):
            matrix[first, m], matrix[second, m] = matrix[second, m], matrix[first, m]


@njit(cache=True, nogil=True, error_model="numpy")
def _solve_in_place(matrix, rhs):
    """``matrix^{-1} rhs`` into ``rhs`` by LU with partial pivoting (``matrix`` destroyed)."""
    d = matrix.shape[0]
    n_rhs = rhs.shape[1]
    for j in range(d):
        pivot_row = j
        for i in range(j + 1, d):
            if abs(matrix[i, j]) > abs(matrix[pivot_row, j]):
                pivot_row = i
        _swap_rows(matrix, j, pivot_row)
        _swap_rows(rhs, j, pivot_row)
        for i in range(j + 1, d):
            factor = matrix[i, j] / matrix[j, j]
            for m in range(j + 1, d):
                matrix[i, m] -= factor * matrix[j, m]
            for m in range(n_rhs):
                rhs[i, m] -= factor * rhs[j, m]
    for i in range(d - 1, -1, -1):
        for m in range(n_rhs):
            value = rhs[i, m]
            for c in range(i + 1, d):
                value -= matrix[i, c] * rhs[c, m]
            rhs[i, m] = value / matrix[i, i]


@njit(cache=True, nogil=True, error_model="numpy")
def _rotate(orientation, step, rotated_orientation):
    """``D (I - Omega/2)^{-1} (I + Omega/2)`` (the Cayley transform) for pair coordinates."""
    d = orientation.shape[0]
    minus = np.eye(d)
    plus = np.eye(d)
    for p in range(d):
        for q in range(p + 1, d):
            half = 0.5 * step[_pair(p, q, d)]
            minus[p, q] = -half
            minus[q, p] = half
            plus[p, q] = half
            plus[q, p] = -half
    _solve_in_place(minus, plus)
    _matmul(orientation, plus, rotated_orientation, False)


@njit(cache=True, nogil=True, error_model="numpy")
def _descend(
    scatter,
    counts,
    orientation,
    step,
    objective,
    varying_volume,
    max_tries,
    trial_orientation,
    trial_rotated,
    trial_variances,
    trial_values,
):
    """The first of ``step``, ``step / 2``, ... that does not increase the objective.

    The trial point's orientation, ``M_k``, variances and values go into the ``trial_``
    arrays. Returns the halvings it took (-1: all ``max_tries`` tries increased the
    objective) and the last trial's objective; ``step`` is halved in place.
    """
    trial_objective = np.inf
    for tries in range(max_tries):
        _rotate(orientation, step, trial_orientation)
        trial_objective = _evaluate(
            scatter,
            counts,
            trial_orientation,
            varying_volume,
            trial_rotated,
            trial_variances,
            trial_values,
        )
        if trial_objective <= objective:
            return tries, trial_objective
        step *= 0.5
    return -1, trial_objective


@njit(cache=True, nogil=True, error_model="numpy")
def _keep(exact, reusable, full_step, decrease, predicted, uses):
    """Whether the next step reuses the model (``_keep`` in the NumPy path).

    An exact model while it may serve the next EM iteration (``reusable``); a damped one
    for `_DAMPED_REUSE` full steps that each achieve `_DAMPED_TRUST` of what it predicts.
    """
    if exact:
        return reusable
    return full_step and decrease >= _DAMPED_TRUST * predicted and uses < _DAMPED_REUSE


@njit(cache=True, nogil=True, error_model="numpy")
def _newton(scatter, counts, orientation, values, varying_volume, tol, max_iter, factors, state):
    """Newton's method from ``orientation`` (``minimise_orientation``), in place.

    ``factors[state[REUSABLE_SLOT]]`` is, if that slot is not -1, a Cholesky factor of a
    Hessian from a nearby problem that starts the iteration; on return the slot holds
    the last exact Hessian that gave a full step (or -1). Writes the eigenvalues into
    ``values`` (NaN where the objective is not finite at the start).
    """
    n_components, d, _ = scatter.shape
    size = n_pairs(d)
    threshold = tol * np.sum(counts)
    rotated = np.empty((n_components, d, d))
    variances = np.empty((n_components, d))
    objective = _evaluate(scatter, counts, orientation, varying_volume, rotated, variances, values)
    if not np.isfinite(objective):
        values[:] = np.nan
        state[REUSABLE_SLOT] = -1
        return NOT_FINITE
    trial_orientation = np.empty((d, d))
    trial_rotated = np.empty((n_components, d, d))
    trial_variances = np.empty((n_components, d))
    trial_values = np.empty((n_components, d))
    gradient = np.empty(size)
    full = np.empty(size)
    step = np.empty(size)
    hessian = np.empty((size, size))

    model = state[REUSABLE_SLOT]  # slot of the current model's factor, -1 for none
    model_damping = 0.0
    reusable = -1
    last_predicted = np.inf
    damping = _INITIAL_DAMPING
    steps = damped_builds = damped_uses = 0
    status = STALLED
    while steps < max_iter:
        fresh = model == -1
        _gradient(rotated, values, gradient)
        if fresh:
            model = 1 if reusable == 0 else 0
            _hessian(rotated, variances, values, varying_volume, hessian)
            model_damping = _quadratic_model(
                hessian, damping, damped_builds % _EXACT_RETRY == 0, factors[model]
            )
            if model_damping < 0.0:
                break
            damping = max(model_damping / _DAMPING_FACTOR, _MIN_DAMPING)
            damped_builds = 0 if model_damping == 0.0 else damped_builds + 1
            damped_uses = 0
        exact = model_damping == 0.0
        predicted = _model_step(factors[model], gradient, full)
        theta = predicted / last_predicted if np.isfinite(last_predicted) else 1.0
        converged = predicted <= threshold or (
            theta < 1.0 and predicted * theta / (1.0 - theta) <= threshold
        )
        if exact and not (fresh or converged) and predicted > _REUSE_RATIO * last_predicted:
            model = -1  # the old Hessian no longer predicts well: build a new one
            continue
        steps += 1
        step[:] = full
        tries, trial_objective = _descend(
            scatter,
            counts,
            orientation,
            step,
            objective,
            varying_volume,
            1 if converged else _MAX_HALVINGS,
            trial_orientation,
            trial_rotated,
            trial_variances,
            trial_values,
        )
        accepted = tries >= 0
        full_step = tries == 0
        if exact and full_step:
            reusable = model
        elif reusable == model:
            reusable = -1
        if not accepted and not fresh and not converged:
            model = -1  # retry from the same point with its own Hessian
            continue
        decrease = objective - trial_objective
        if accepted:
            orientation[:, :] = trial_orientation
            rotated, trial_rotated = trial_rotated, rotated
            variances, trial_variances = trial_variances, variances
            values[:, :] = trial_values
            objective = trial_objective
        if converged or not accepted:
            status = CONVERGED if converged else STALLED
            break
        damped_uses += not exact
        if not _keep(exact, reusable == model, full_step, decrease, predicted, damped_uses):
            model = -1
        last_predicted = predicted
    state[REUSABLE_SLOT] = reusable
    return status


@njit(cache=True, nogil=True, error_model="numpy")
def _mm_evaluate(scatter, counts, orientation, varying_volume, variances, values):
    """``diag(D^T W_k D)`` into ``variances``, the eigenvalues; the objective."""
    n_components, d, _ = scatter.shape
    product = np.empty((d, d))
    for k in range(n_components):
        _matmul(scatter[k], orientation, product, False)
        for j in range(d):
            total = 0.0
            for i in range(d):
                total += product[i, j] * orientation[i, j]
            variances[k, j] = total
    _profile_values(variances, counts, varying_volume, values)
    return _objective(variances, values, counts)


@njit(cache=True, nogil=True, error_model="numpy")
def _majorise_minimise(scatter, counts, orientation, values, varying_volume, tol, max_iter):
    """Majorise-minimise steps on ``D`` (``_SharedOrientation._majorise_minimise``), in place.

    Returns `CONVERGED`, `STALLED` (``max_iter`` steps) or `NOT_FINITE` (the values
    are then NaN).
    """
    n_components, d, _ = scatter.shape
    if not _all_finite(scatter):
        values[:] = np.nan
        return NOT_FINITE
    # alpha_k I - W_k, alpha_k just above W_k's largest eigenvalue (see the NumPy path).
    shifted = np.empty((n_components, d, d))
    for k in range(n_components):
        largest = np.linalg.eigvalsh(scatter[k])[-1] * (1.0 + _MAJORISER_MARGIN)
        for i in range(d):
            for j in range(d):
                shifted[k, i, j] = -scatter[k, i, j]
            shifted[k, i, i] += largest
    variances = np.empty((n_components, d))
    candidate = np.empty((d, d))
    candidate_variances = np.empty((n_components, d))
    candidate_values = np.empty((n_components, d))
    product = np.empty((d, d))
    gradient = np.empty((d, d))
    total_count = np.sum(counts)
    objective = _mm_evaluate(scatter, counts, orientation, varying_volume, variances, values)
    for _ in range(max_iter):
        # `majorised_orientation`: U V^T from the SVD of sum_k (alpha_k I - W_k) D diag(psi_k).
        gradient[:, :] = 0.0
        for k in range(n_components):
            _matmul(shifted[k], orientation, product, False)
            for i in range(d):
                for j in range(d):
                    gradient[i, j] += product[i, j] * (1.0 / values[k, j])
        if not _all_finite(gradient):
            values[:] = np.nan
            return NOT_FINITE
        left, _, right_t = np.linalg.svd(gradient)
        _matmul(left, right_t, candidate, False)
        candidate_objective = _mm_evaluate(
            scatter, counts, candidate, varying_volume, candidate_variances, candidate_values
        )
        if not np.isfinite(candidate_objective):
            return CONVERGED
        previous = objective
        orientation[:, :] = candidate
        values[:, :] = candidate_values
        objective = candidate_objective
        if abs(previous - objective) <= tol * total_count:
            return CONVERGED
    return STALLED


@njit(cache=True, nogil=True, error_model="numpy")
def shared_orientation_m_step(
    scatter,
    counts,
    varying_volume,
    tol,
    max_iter,
    orientation,
    values,
    factors,
    state,
    newton_max_features,
    newton_fallback_max_features,
):
    """Orientation and eigenvalues minimising ``sum_k n_k log det Sigma_k + tr(Sigma_k^-1 W_k)``.

    Parameters
    ----------
    scatter : ndarray of shape (K, d, d)
        ``W_k``, C-contiguous float64.
    counts : ndarray of shape (K,)
        ``n_k``.
    varying_volume : bool
        VVE (True) or EVE (False).
    tol : float
        Tolerance per unit of weight (the model's ``inner_tol``).
    max_iter : int
        Steps at most (the model's ``inner_max_iter``).
    orientation : ndarray of shape (d, d)
        In: the orthogonal start, eigenvectors as columns. Out: ``D``.
    values : ndarray of shape (K, d)
        Out: the eigenvalues of each ``Sigma_k`` along ``D``'s columns (NaN where the
        objective is not finite: no estimate exists).
    factors : ndarray of shape (2, P, P), ``P = d (d - 1) / 2``
        Cholesky factors kept between the M-steps of one fit (workspace; any contents
        when ``state[REUSABLE_SLOT]`` is -1).
    state : ndarray of shape (2,), int64
        In and out: ``state[REUSABLE_SLOT]``, the slot of ``factors`` holding the last
        exact Hessian that gave a full step (-1 for none); ``state[MAJORISER_STALLED]``,
        1 once majorise-minimise steps have stalled in this fit (Newton's method then
        serves the rest of it). A new fit starts from ``[-1, 0]``.
    newton_max_features, newton_fallback_max_features : int
        Newton's method up to this many features; above, majorise-minimise steps,
        followed by Newton's method up to the second bound once they stall.

    Returns
    -------
    status : int
        `CONVERGED`, `STALLED` (the last method stopped without meeting the tolerance:
        ``max_iter`` steps, or no step lowered the objective) or `NOT_FINITE`.
    """
    n_features = scatter.shape[1]
    status = CONVERGED
    use_newton = True
    if n_features > newton_max_features and state[MAJORISER_STALLED] == 0:
        state[REUSABLE_SLOT] = -1  # a majorise-minimise M-step leaves no Hessian
        status = _majorise_minimise(
            scatter, counts, orientation, values, varying_volume, tol, max_iter
        )
        stalled = status == STALLED and n_features <= newton_fallback_max_features
        state[MAJORISER_STALLED] = 1 if stalled else 0
        use_newton = stalled
    if use_newton:
        status = _newton(
            scatter, counts, orientation, values, varying_volume, tol, max_iter, factors, state
        )
    return status


@njit(cache=True, nogil=True, error_model="numpy")
def shared_orientation_covariances(
    scatter, counts, varying_volume, tol, max_iter, orientation, factors, state, covariances
):
    """`shared_orientation_m_step` with the default method bounds, writing ``D diag(v_k) D^T``.

    For compiled EM loops: keep ``orientation`` (the start from the initial covariances,
    e.g. the eigenvectors of a generic combination of them), ``factors`` (2, P, P) and
    ``state`` (``[-1, 0]`` at the start of a fit) across iterations; ``covariances``
    (K, d, d) receives the estimate without any ridge. Returns the status (see
    `shared_orientation_m_step`); covariances are NaN when it is `NOT_FINITE`.
    """
    n_components, d, _ = scatter.shape
    values = np.empty((n_components, d))
    status = shared_orientation_m_step(
        scatter,
        counts,
        varying_volume,
        tol,
        max_iter,
        orientation,
        values,
        factors,
        state,
        NEWTON_MAX_FEATURES,
        NEWTON_FALLBACK_MAX_FEATURES,
    )
    for k in range(n_components):
        for i in range(d):
            for j in range(d):
                total = 0.0
                for m in range(d):
                    total += orientation[i, m] * values[k, m] * orientation[j, m]
                covariances[k, i, j] = total
    return status
