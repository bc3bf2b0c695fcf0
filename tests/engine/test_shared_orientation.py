"""EVE and VVE: Newton's method on the shared orientation, its warm starts, and its fallback.

References are independent of the models' code: the profile objective is written out here
from the models' definitions, derivatives are checked by central differences through
scipy's matrix exponential, and optimality by scipy.optimize started from our answer.
"""

import numpy as np
import pytest
from scipy import linalg, optimize

from gaussmix import GaussianMixture
from gaussmix.engine.covariance.models import ellipsoidal, get_covariance_model
from gaussmix.engine.covariance.models._orientation import newton_system
from mixture_samples import draw_mixture

SHARED = ["EVE", "VVE"]


def _random_scatter(rng, n_components, n_features, counts):
    factors = rng.normal(size=(n_components, n_features, n_features + 2))
    scatter = factors @ factors.transpose(0, 2, 1)
    return scatter * (counts / (n_features + 2))[:, None, None]


def _profile_values(name, variances, counts):
    """Eigenvalues along D given r_kj = (D^T W_k D)_jj, from the models' definitions."""
    if name == "VVE":  # lambda_k A_k = diag(D^T W_k D) / n_k
        return variances / counts[:, None]
    # EVE: A_k = diag / det(diag)^(1/d), lambda = sum_k det(diag_k)^(1/d) / n
    roots = np.prod(variances, axis=1) ** (1.0 / variances.shape[1])
    return roots.sum() / counts.sum() * variances / roots[:, None]


def _profile(name, orientation, scatter, counts):
    """sum_k n_k log det Sigma_k + tr(Sigma_k^-1 W_k) with the best eigenvalues along D."""
    variances = np.einsum("ji,kjl,li->ki", orientation, scatter, orientation)
    values = _profile_values(name, variances, counts)
    return float(np.sum(counts[:, None] * np.log(values) + variances / values))


def _rotation(omega, n_features):
    first, second = np.triu_indices(n_features, 1)
    skew = np.zeros((n_features, n_features))
    skew[first, second] = omega
    skew[second, first] = -omega
    return linalg.expm(skew)


def _objective(covariances, scatter, counts):
    return sum(
        n * np.linalg.slogdet(c)[1] + np.trace(np.linalg.solve(c, w))
        for c, w, n in zip(covariances, scatter, counts)
    )


@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("n_components, n_features", [(1, 3), (3, 2), (3, 4)])
def test_newton_system_matches_central_differences(name, n_components, n_features):
    rng = np.random.default_rng(n_components * 10 + n_features)
    counts = rng.uniform(10.0, 50.0, n_components)
    scatter = _random_scatter(rng, n_components, n_features, counts)
    orientation = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    model = get_covariance_model(name)

    rotated = orientation.T @ scatter @ orientation
    variances = np.diagonal(rotated, axis1=1, axis2=2)
    values = model.eigenvalues(variances, counts)
    gradient, hessian = newton_system(
        rotated, 1.0 / values, model.curvature(variances, values, counts)
    )

    def pulled_back(omega):
        return _profile(name, orientation @ _rotation(omega, n_features), scatter, counts)

    n_pairs, h = len(gradient), 1e-4
    basis = np.eye(n_pairs) * h
    numeric_gradient = np.array([(pulled_back(e) - pulled_back(-e)) / (2 * h) for e in basis])
    numeric_hessian = np.array(
        [
            [
                (
                    pulled_back(a + b)
                    - pulled_back(a - b)
                    - pulled_back(-a + b)
                    + pulled_back(-a - b)
                )
                / (4 * h * h)
                for b in basis
            ]
            for a in basis
        ]
    )
    scale = np.abs(numeric_hessian).max()
    np.testing.assert_allclose(gradient, numeric_gradient, atol=1e-6 * scale)
    np.testing.assert_allclose(hessian, numeric_hessian, atol=1e-5 * scale)


@pytest.mark.parametrize("name", SHARED)
def test_m_step_ends_at_a_minimum_scipy_cannot_improve(name):
    # d = 6 and K = 4 with unrelated orientations: a non-convex problem where the old
    # majorise-minimise iteration stopped far from any minimum.
    rng = np.random.default_rng(5)
    n_components, n_features = 4, 6
    counts = np.array([40.0, 25.0, 60.0, 30.0])
    scatter = _random_scatter(rng, n_components, n_features, counts)
    model = get_covariance_model(name)
    covariances = model.estimate_covariances(scatter, counts, None)
    ours = _objective(covariances, scatter, counts)

    orientation = np.linalg.eigh(covariances.sum(axis=0))[1]
    assert _profile(name, orientation, scatter, counts) == pytest.approx(ours, rel=1e-10)
    result = optimize.minimize(
        lambda omega: _profile(name, orientation @ _rotation(omega, n_features), scatter, counts),
        np.zeros(n_features * (n_features - 1) // 2),
        method="BFGS",
        options={"gtol": 1e-9},
    )
    # Our default tolerance is 1e-8 of the objective per unit of weight.
    assert result.fun >= ours - 1e-8 * counts.sum()


@pytest.mark.parametrize("name", SHARED)
def test_badly_scaled_m_step_from_a_random_start_ends_at_a_minimum(name):
    # Columns scaled from 1e-3 to 1e3 and a random orthogonal start: the Hessians are
    # indefinite for most steps (about 20 of 25-32 Hessians are damped without an exact
    # try first), and the damped models are reused before Newton's exact steps return
    # near the minimum.
    from gaussmix.engine.covariance.models._orientation import Profile, minimise_orientation

    rng = np.random.default_rng(0)
    n_components, n_features = 4, 6
    counts = np.array([40.0, 25.0, 60.0, 30.0])
    factors = rng.normal(size=(n_components, n_features, n_features + 2))
    factors *= np.logspace(-3, 3, n_features)[None, :, None]
    scatter = factors @ factors.transpose(0, 2, 1) * (counts / (n_features + 2))[:, None, None]
    start = linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    model = get_covariance_model(name)
    fit = minimise_orientation(
        scatter, counts, start, Profile(model.eigenvalues, model.curvature), 1e-10, 1000
    )
    ours = _profile(name, fit.orientation, scatter, counts)
    assert ours < _profile(name, start, scatter, counts)
    result = optimize.minimize(
        lambda omega: _profile(
            name, fit.orientation @ _rotation(omega, n_features), scatter, counts
        ),
        np.zeros(n_features * (n_features - 1) // 2),
        method="BFGS",
        options={"gtol": 1e-9},
    )
    assert result.fun >= ours - 1e-8 * counts.sum()


def _em_like_sequence(rng, n_components, n_features, n_steps):
    """Scatter and counts drifting slowly, as between EM iterations."""
    counts = rng.uniform(20.0, 60.0, n_components)
    scatter = _random_scatter(rng, n_components, n_features, counts)
    sequence = []
    for _ in range(n_steps):
        noise = rng.normal(scale=0.02, size=scatter.shape)
        scatter = scatter + counts[:, None, None] * (noise @ noise.transpose(0, 2, 1)) / 10
        counts = counts * rng.uniform(0.98, 1.02, n_components)
        sequence.append((scatter.copy(), counts.copy()))
    return sequence


def _gap_per_weight(form, optimum, scatter, counts):
    """How far above ``optimum``'s objective ``form``'s is, per unit of weight."""
    ours = _objective(form.covariances, scatter, counts)
    best = _objective(optimum.covariances, scatter, counts)
    return (ours - best) / counts.sum()


@pytest.mark.parametrize("name", SHARED)
def test_warm_started_m_steps_equal_cold_started_ones(name):
    # The model remembers its last estimate's orientation and Hessian and starts from them
    # when handed that estimate; a fresh model recovers the orientation from the
    # covariances and computes its own Hessian. Both stop near the minimum a tight run
    # finds: the default tolerance is 1e-8 of the objective per unit of weight, and the
    # stopping rule predicts the decrease left (from an older Hessian when warm), so the
    # gap is held to ten times that. The covariances then agree to about the square root
    # of the gap along flat directions.
    rng = np.random.default_rng(9)
    warm = get_covariance_model(name)
    previous = None
    for scatter, counts in _em_like_sequence(rng, 3, 5, 8):
        cold = get_covariance_model(name).estimate(scatter, counts, 1e-6, previous)
        estimate = warm.estimate(scatter, counts, 1e-6, previous)
        exact = get_covariance_model(name, inner_tol=1e-14, inner_max_iter=1000)
        tight = exact.estimate(scatter, counts, 1e-6, previous)
        for candidate in (estimate, cold):
            assert -1e-12 <= _gap_per_weight(candidate, tight, scatter, counts) <= 1e-7
            np.testing.assert_allclose(candidate.covariances, tight.covariances, rtol=0, atol=1e-3)
        previous = estimate


@pytest.mark.parametrize("name", SHARED)
def test_an_equal_but_distinct_previous_form_gives_the_same_estimate(name):
    # Only the model's own last estimate (the very object) starts from the remembered
    # orientation and Hessian; an equal copy (e.g. restored from a file) is treated like
    # any other previous covariances, and the estimate is the same to the tolerance (see
    # the test above).
    rng = np.random.default_rng(4)
    (scatter, counts), (next_scatter, next_counts) = _em_like_sequence(rng, 3, 4, 2)
    remembering = get_covariance_model(name)
    estimate = remembering.estimate(scatter, counts, 1e-6)
    via_memory = remembering.estimate(next_scatter, next_counts, 1e-6, estimate)

    other = get_covariance_model(name)
    other.estimate(scatter, counts, 1e-6)
    copy = other.form.from_covariances(estimate.covariances.copy())
    via_copy = other.estimate(next_scatter, next_counts, 1e-6, copy)
    gap = _gap_per_weight(via_memory, via_copy, next_scatter, next_counts)
    assert abs(gap) <= 1e-7


@pytest.mark.parametrize("name", SHARED)
def test_majorise_minimise_fallback_reaches_the_same_minimum(name, monkeypatch):
    rng = np.random.default_rng(12)
    counts = np.array([30.0, 50.0, 20.0])
    scatter = _random_scatter(rng, 3, 3, counts)
    newton = get_covariance_model(name, inner_tol=1e-13, inner_max_iter=1000)
    by_newton = _objective(newton.estimate_covariances(scatter, counts, None), scatter, counts)
    monkeypatch.setattr(ellipsoidal, "_NEWTON_MAX_FEATURES", 2)
    majorised = get_covariance_model(name, inner_tol=1e-13, inner_max_iter=100_000)
    by_mm = _objective(majorised.estimate_covariances(scatter, counts, None), scatter, counts)
    assert by_newton == pytest.approx(by_mm, rel=1e-8)


@pytest.mark.parametrize("name", SHARED)
def test_newton_takes_over_when_majorise_minimise_stalls(name, monkeypatch):
    # Badly scaled features (variances 1e-6 to 1e6): the majorise-minimise steps, sized by
    # each W_k's largest eigenvalue, barely move D, and stop at inner_max_iter.
    rng = np.random.default_rng(5)
    counts = np.array([40.0, 60.0, 30.0])
    scales = 10.0 ** rng.uniform(-3, 3, 26)
    scatter = _random_scatter(rng, 3, 26, counts) * np.outer(scales, scales)
    monkeypatch.setattr(ellipsoidal, "_NEWTON_MAX_FEATURES", 64)
    by_newton = _objective(
        get_covariance_model(name).estimate_covariances(scatter, counts, None), scatter, counts
    )
    monkeypatch.setattr(ellipsoidal, "_NEWTON_MAX_FEATURES", 24)
    by_default = _objective(
        get_covariance_model(name).estimate_covariances(scatter, counts, None), scatter, counts
    )
    monkeypatch.setattr(ellipsoidal, "_NEWTON_FALLBACK_MAX_FEATURES", 0)
    by_mm_alone = _objective(
        get_covariance_model(name).estimate_covariances(scatter, counts, None), scatter, counts
    )
    assert by_default == pytest.approx(by_newton, abs=1e-6 * counts.sum())
    assert by_mm_alone > by_newton + 1e-3 * counts.sum()  # what the fallback repairs


def _misspecified_data(n_features, n_components, n_samples, seed):
    """Components with unrelated orientations, as in benchmarks/bench_em.py."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=4.0, size=(n_components, n_features))
    mixing = np.eye(n_features) + 0.3 * rng.normal(size=(n_components, n_features, n_features))
    covariances = mixing @ mixing.transpose(0, 2, 1)
    weights = np.full(n_components, 1.0 / n_components)
    return draw_mixture(n_samples, means, covariances, weights, seed)[0]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", SHARED)
@pytest.mark.parametrize("n_features", [8, 26])  # Newton, and the majorise-minimise fallback
def test_em_lower_bound_never_decreases(name, n_features):
    X = _misspecified_data(n_features, 4, 1500, seed=n_features)
    # reg_covar=0: the M-steps minimise the unregularised objective, and the ridge added
    # after them can lower the bound by its own size once EM has converged (1e-8 per row
    # at d = 26, where Newton's method takes over from stalled majorise-minimise steps).
    gm = GaussianMixture(
        4,
        covariance_type=name,
        tol=0.0,
        max_iter=12 if n_features > 10 else 40,
        random_state=0,
        reg_covar=0.0,
    ).fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
