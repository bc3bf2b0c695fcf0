"""The optimised E-step kernels against a plain per-row, per-component reference.

The reference evaluates each Gaussian with ``scipy.stats.multivariate_normal`` and sums
the moments row by row, so it shares no code (and no algebraic trick) with the kernels.
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gaussmix.engine.core.estep import (
    chunk_statistics,
    log_responsibilities,
    normalise_columns,
    statistics_from_responsibilities,
)
from gaussmix.engine.core.params import MixtureParams
from gaussmix.engine.covariance import forms, pruning
from gaussmix.engine.covariance.forms import (
    DiagonalForm,
    FullForm,
    SharedOrientationForm,
    SphericalForm,
    TiedForm,
)
from gaussmix.engine.covariance.scatter import DIAGONAL_SCATTER, FULL_SCATTER
from gaussmix.engine.data.arrays import ArrayData
from gaussmix.engine.data.chunks import default_chunk_rows

FORM_NAMES = ["full", "shared orientation", "tied", "diag", "spherical"]
# (n_features, n_components): d = 1, K = 1, and both second-moment paths of the full
# scatter (packed products when d + 1 <= 2 K, per-component products otherwise).
SHAPES = [(1, 1), (1, 3), (2, 3), (4, 5), (7, 2)]


def random_params(form_name, n_features, n_components, rng, centre=0.0, spread=3.0):
    means = centre + spread * rng.standard_normal((n_components, n_features))
    weights = rng.uniform(0.5, 1.5, n_components)
    weights /= weights.sum()
    if form_name == "full":
        factors = rng.standard_normal((n_components, n_features, n_features))
        covariance = FullForm.from_covariances(
            factors @ np.swapaxes(factors, 1, 2) + np.eye(n_features)
        )
        scatter = FULL_SCATTER
    elif form_name == "shared orientation":  # D diag(v_k) D^T, evaluated in D's basis
        orientation = np.linalg.qr(rng.standard_normal((n_features, n_features)))[0]
        variances = rng.uniform(0.3, 3.0, (n_components, n_features))
        covariance = SharedOrientationForm.from_covariances(
            (orientation * variances[:, np.newaxis, :]) @ orientation.T
        )
        scatter = FULL_SCATTER
    elif form_name == "tied":
        factor = rng.standard_normal((n_features, n_features))
        covariance = TiedForm.from_covariances(factor @ factor.T + np.eye(n_features))
        scatter = FULL_SCATTER
    elif form_name == "diag":
        covariance = DiagonalForm.from_covariances(
            rng.uniform(0.3, 3.0, (n_components, n_features))
        )
        scatter = DIAGONAL_SCATTER
    else:
        covariance = SphericalForm.from_covariances(rng.uniform(0.3, 3.0, n_components))
        scatter = DIAGONAL_SCATTER
    return MixtureParams(weights, means, covariance), scatter


def sample_rows(params, n_samples, rng):
    """Rows drawn near the components (so every component gets responsibility)."""
    n_components, n_features = params.means.shape
    labels = rng.integers(n_components, size=n_samples)
    return params.means[labels] + 1.5 * rng.standard_normal((n_samples, n_features))


def reference_log_prob(X, params):
    """(n, K) weighted log-densities, one scipy call per component."""
    n_components, n_features = params.means.shape
    covariances = params.covariance.dense_covariances(n_components, n_features)
    columns = [
        np.log(params.weights[k])
        + np.atleast_1d(multivariate_normal(params.means[k], covariances[k]).logpdf(X))
        for k in range(n_components)
    ]
    return np.column_stack(columns)


def reference_statistics(X, sample_weight, params, diagonal):
    """Counts, first and second moments about the means, log-likelihood: row by row."""
    X = np.asarray(X, dtype=np.float64)
    log_prob = reference_log_prob(X, params)
    n_components, n_features = params.means.shape
    counts = np.zeros(n_components)
    first = np.zeros((n_components, n_features))
    second = np.zeros(
        (n_components, n_features) if diagonal else (n_components, n_features, n_features)
    )
    log_likelihood = 0.0
    for n, row in enumerate(X):
        top = log_prob[n].max()
        log_density = top + np.log(np.sum(np.exp(log_prob[n] - top)))
        log_likelihood += sample_weight[n] * log_density
        for k in range(n_components):
            r = sample_weight[n] * np.exp(log_prob[n, k] - log_density)
            difference = row - params.means[k]
            counts[k] += r
            first[k] += r * difference
            second[k] += r * (difference**2 if diagonal else np.outer(difference, difference))
    return counts, first, second, log_likelihood


def assert_stats_match(stats, expected, rtol):
    counts, first, second, log_likelihood = expected
    scale_first = np.abs(first).max() + np.sqrt(np.abs(second).max() * counts.max())
    np.testing.assert_allclose(stats.counts, counts, rtol=rtol, atol=rtol * counts.sum())
    np.testing.assert_allclose(stats.first, first, rtol=rtol, atol=rtol * scale_first)
    np.testing.assert_allclose(stats.second, second, rtol=rtol, atol=rtol * np.abs(second).max())
    np.testing.assert_allclose(stats.log_likelihood, log_likelihood, rtol=rtol)
    assert stats.counts.dtype == stats.first.dtype == stats.second.dtype == np.float64


@pytest.mark.parametrize("form_name", FORM_NAMES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("centre", [0.0, 1e6])
def test_chunk_statistics_match_reference(form_name, shape, centre):
    n_features, n_components = shape
    rng = np.random.default_rng(hash((form_name, shape)) % 2**32)
    params, scatter = random_params(form_name, n_features, n_components, rng, centre)
    X = sample_rows(params, 53, rng)
    weights = rng.uniform(0.0, 2.0, X.shape[0])
    weights[::7] = 0.0
    stats = chunk_statistics(X, weights, params, scatter)
    expected = reference_statistics(X, weights, params, scatter is DIAGONAL_SCATTER)
    assert_stats_match(stats, expected, rtol=1e-9)
    np.testing.assert_array_equal(stats.shift, params.means)
    assert stats.total_weight == pytest.approx(weights.sum())


@pytest.mark.parametrize("form_name", FORM_NAMES)
@pytest.mark.parametrize("chunk_rows", [1, 7, 32, 100])
def test_chunked_statistics_equal_whole_data(form_name, chunk_rows):
    rng = np.random.default_rng(5)
    params, scatter = random_params(form_name, 3, 4, rng)
    X = sample_rows(params, 100, rng)  # 100 is not a multiple of 7 or 32
    weights = rng.uniform(0.1, 1.0, 100)
    whole = chunk_statistics(X, weights, params, scatter)
    chunked = ArrayData(X, weights, chunk_rows).map_reduce(
        lambda X_chunk, w_chunk: chunk_statistics(X_chunk, w_chunk, params, scatter)
    )
    for name in ("counts", "first", "second"):
        np.testing.assert_allclose(
            getattr(chunked, name),
            getattr(whole, name),
            rtol=1e-11,
            atol=1e-11 * np.abs(getattr(whole, name)).max(),
        )
    assert chunked.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert chunked.total_weight == pytest.approx(whole.total_weight, rel=1e-14)


def test_chunks_cover_every_row_once():
    X = np.arange(23.0).reshape(-1, 1)
    data = ArrayData(X, np.ones(23), chunk_rows=5)
    sizes = [len(chunk) for chunk, _ in data.chunks()]
    assert sizes == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(data.map_concatenate(lambda chunk: chunk[:, 0]), X[:, 0])


@pytest.mark.parametrize("form_name", FORM_NAMES)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (16, 16), (9, 2)])
def test_float32_is_computed_in_float32_and_agrees(form_name, shape):
    n_features, n_components = shape
    rng = np.random.default_rng(11)
    params, scatter = random_params(form_name, n_features, n_components, rng)
    X = sample_rows(params, 200, rng)
    weights = np.ones(200)
    exact = chunk_statistics(X, weights, params, scatter)
    single = chunk_statistics(X.astype(np.float32), weights.astype(np.float32), params, scatter)
    log_prob = params.covariance.log_gaussian(X.astype(np.float32), params.means)
    assert log_prob.dtype == np.float32
    assert single.second.dtype == np.float64  # accumulated in float64
    np.testing.assert_allclose(single.counts, exact.counts, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        single.second, exact.second, rtol=1e-3, atol=1e-4 * np.abs(exact.second).max()
    )
    assert single.log_likelihood == pytest.approx(exact.log_likelihood, rel=1e-5)


@pytest.mark.parametrize("form_name", FORM_NAMES)
def test_far_separated_components_keep_exact_moments(form_name):
    """Components 1e5 widths apart: the shifted expansions must fall back to exact sums."""
    rng = np.random.default_rng(2)
    params, scatter = random_params(form_name, 2, 4, rng, centre=3e5, spread=1e5)
    X = sample_rows(params, 80, rng)
    weights = np.ones(80)
    stats = chunk_statistics(X, weights, params, scatter)
    counts, first, second, log_likelihood = reference_statistics(
        X, weights, params, scatter is DIAGONAL_SCATTER
    )
    # Each component's own scatter is of order its count; compare component by component.
    for k in range(4):
        np.testing.assert_allclose(
            stats.second[k], second[k], rtol=1e-8, atol=1e-8 * np.abs(second[k]).max()
        )
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-9, atol=1e-9)
    assert stats.log_likelihood == pytest.approx(log_likelihood, rel=1e-9)


@pytest.mark.parametrize("form_name", FORM_NAMES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (5, 6)])
@pytest.mark.parametrize("centre", [0.0, 1e6])
def test_log_gaussian_and_mahalanobis_match_scipy(form_name, shape, centre):
    n_features, n_components = shape
    rng = np.random.default_rng(7)
    params, _ = random_params(form_name, n_features, n_components, rng, centre)
    X = sample_rows(params, 31, rng)
    expected = reference_log_prob(X, params) - np.log(params.weights)
    log_gaussian = params.covariance.log_gaussian(X, params.means)
    assert log_gaussian.shape == (31, n_components)
    np.testing.assert_allclose(log_gaussian, expected, rtol=1e-9, atol=1e-9)
    covariances = params.covariance.dense_covariances(n_components, n_features)
    distances = np.array(
        [
            [(x - m) @ np.linalg.solve(c, x - m) for m, c in zip(params.means, covariances)]
            for x in X
        ]
    )
    np.testing.assert_allclose(
        params.covariance.squared_mahalanobis(X, params.means), distances, rtol=1e-8, atol=1e-8
    )


@pytest.mark.parametrize("block", [1, 2, 3, 64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_projection_matches_scipy(monkeypatch, block, dtype):
    # Blocks of `block` columns of the triangular precision factors (d = 7 gives blocks
    # of uneven width; 64 gives one block).
    monkeypatch.setattr(pruning, "PROJECTION_BLOCK", block)
    rng = np.random.default_rng(block)
    params, _ = random_params("full", 7, 3, rng, centre=50.0)
    X = sample_rows(params, 40, rng)
    expected = reference_log_prob(X, params) - np.log(params.weights)
    log_gaussian = params.covariance.log_gaussian(X.astype(dtype), params.means)
    tolerance = 1e-9 if dtype == np.float64 else 2e-3
    np.testing.assert_allclose(log_gaussian, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batched_precision_factors_equal_one_by_one_factors(dtype):
    rng = np.random.default_rng(33)
    spread = 1e2 if dtype == np.float64 else 1e1  # condition numbers up to 1e8 or 1e4
    roots = rng.standard_normal((5, 9, 9)) * np.geomspace(1 / spread, spread, 9)
    covariances = (roots @ np.swapaxes(roots, 1, 2) + 1e-6 * np.eye(9)).astype(dtype)
    batched = FullForm.from_covariances(covariances).precisions_cholesky
    one_by_one = np.stack([forms._cholesky_of_precision(c) for c in covariances])
    assert batched.dtype == dtype
    np.testing.assert_array_equal(np.tril(batched, -1), 0.0)
    scale = np.abs(one_by_one).max(axis=(1, 2), keepdims=True)
    tolerance = 1e-9 if dtype == np.float64 else 1e-2
    np.testing.assert_allclose(batched / scale, one_by_one / scale, atol=tolerance)
    singular = covariances.copy()
    singular[3] = 0.0
    with pytest.raises(forms.SingularCovarianceError, match="reg_covar"):
        FullForm.from_covariances(singular)
    singular[3] = np.nan
    with pytest.raises(forms.SingularCovarianceError, match="reg_covar"):
        FullForm.from_covariances(singular)


def _draw(params, n_samples, rng):
    """Rows drawn from the mixture itself."""
    n_components, n_features = params.means.shape
    labels = rng.choice(n_components, size=n_samples, p=params.weights)
    roots = np.linalg.cholesky(params.covariance.covariances)[labels]
    noise = rng.standard_normal((n_samples, n_features))
    return params.means[labels] + np.einsum("nij,nj->ni", roots, noise)


def _separated_full_params(n_features, n_components, rng, spread):
    means = spread * rng.standard_normal((n_components, n_features))
    roots = np.eye(n_features) + 0.3 * rng.standard_normal((n_components, n_features, n_features))
    covariance = FullForm.from_covariances(roots @ np.swapaxes(roots, 1, 2))
    weights = rng.dirichlet(np.full(n_components, 5.0))
    return MixtureParams(weights, means, covariance)


NEGLIGIBLE = {
    np.float64: 2 * np.log(np.finfo(np.float64).eps),
    np.float32: 2 * np.log(np.finfo(np.float32).eps),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spread", [0.3, 1.0, 4.0])
@pytest.mark.parametrize("n_samples", [100, 1500])
def test_pruned_log_densities_keep_every_value_the_normalisation_keeps(dtype, spread, n_samples):
    """The subspace bound skips pairs only where the exact value would be zeroed too:
    column maxima and kept values are exact, skipped values are upper bounds below the
    threshold, and the responsibilities are the exact ones. Spread 0.3 overlaps (every
    pair in question: the full projection), 4.0 separates (most pairs skipped)."""
    rng = np.random.default_rng(40)
    n_features, n_components = 32, 6
    params = _separated_full_params(n_features, n_components, rng, spread)
    X = _draw(params, n_samples, rng).astype(dtype)
    reference = forms.reference_point(params.means)
    offsets = params.means - reference
    log_weights = np.log(params.weights)
    columns = forms.centred_columns(X, reference, forms.ONES_FIRST)
    negligible = NEGLIGIBLE[dtype]
    exact = params.covariance.log_gaussian_evaluator(offsets, dtype, log_weights)(columns)
    pruned = params.covariance.log_gaussian_evaluator(
        offsets, dtype, log_weights, negligible=negligible
    )(columns)
    top = exact.max(axis=0)
    kept = exact >= top + negligible
    tolerance = 1e-9 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(pruned.max(axis=0), top, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(pruned[kept], exact[kept], rtol=tolerance, atol=tolerance)
    skipped = ~np.isclose(pruned, exact, rtol=tolerance, atol=tolerance)
    assert np.all(pruned[skipped] >= exact[skipped] - tolerance)
    assert np.all(pruned[skipped] < top[np.nonzero(skipped)[1]] + negligible)
    if spread == 4.0:  # past the probe (projected in full), most pairs are skipped
        assert skipped[:, pruning.PRUNE_PROBE_COLUMNS :].mean() > 0.5
    responsibilities = [values.copy() for values in (exact, pruned)]
    for values in responsibilities:
        normalise_columns(values)
    np.testing.assert_allclose(responsibilities[1], responsibilities[0], rtol=tolerance, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pruned_e_step_statistics_match_the_reference(dtype):
    """Through every route: pruned, projected in full after the probe, and projected in
    full after the leaders (rows unlike the probe's)."""
    rng = np.random.default_rng(41)
    params = _separated_full_params(40, 5, rng, spread=4.0)
    X = _draw(params, 700, rng)
    weights = rng.uniform(0.5, 2.0, X.shape[0])
    expected = reference_statistics(X, weights, params, diagonal=False)
    decisions = {
        "pruned": [False, False],
        "after the probe": [True],
        "after the leaders": [False, True],
    }
    for answers in decisions.values():
        remaining = list(answers)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pruning, "PRUNE_PROBE_COLUMNS", 64)
            patch.setattr(pruning, "_too_many_in_question", lambda *_: remaining.pop(0))
            stats = chunk_statistics(X.astype(dtype), weights.astype(dtype), params, FULL_SCATTER)
        assert remaining == []  # the route was taken
        assert_stats_match(stats, expected, rtol=1e-9 if dtype == np.float64 else 2e-4)


def test_two_separated_components_are_pruned(monkeypatch):
    """With K = 2 each row's own component is half the pairs; the share that decides
    whether to prune leaves it out, so pruning runs (and changes no statistic)."""
    rng = np.random.default_rng(45)
    params = _separated_full_params(48, 2, rng, spread=8.0)
    X = _draw(params, 900, rng)
    weights = np.ones(900)
    tails = []
    original = pruning._pruned_tail
    monkeypatch.setattr(pruning, "_pruned_tail", lambda *args: tails.append(1) or original(*args))
    stats = chunk_statistics(X, weights, params, FULL_SCATTER)
    assert tails
    expected = reference_statistics(X, weights, params, diagonal=False)
    assert_stats_match(stats, expected, rtol=1e-9)


def test_subspace_bound_only_where_it_pays():
    rng = np.random.default_rng(42)
    build = pruning.SubspaceBound.build
    few = _separated_full_params(32, 4, rng, 3.0)
    full_cost = 4 * 32 * 33
    assert build(few.covariance.covariances, few.means, full_cost, np.float64).rank == 3
    # one component, identical means, or as many mean directions as features: no bound
    assert build(few.covariance.covariances[:1], few.means[:1], full_cost, np.float64) is None
    same = np.broadcast_to(few.means[0], few.means.shape)
    assert build(few.covariance.covariances, same, full_cost, np.float64) is None
    many = _separated_full_params(8, 12, rng, 3.0)
    assert build(many.covariance.covariances, many.means, 12 * 8 * 9, np.float64) is None


@pytest.mark.parametrize("n_components", [1, 4])
def test_shared_eigenbasis_is_found_only_where_there_is_one(n_components):
    rng = np.random.default_rng(30 + n_components)
    orientation = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    variances = 10.0 ** rng.uniform(-3, 3, (n_components, 6))  # condition numbers to 1e6
    covariances = (orientation * variances[:, np.newaxis, :]) @ orientation.T
    found, found_variances = forms.shared_eigenbasis(covariances + 1e-4 * np.eye(6))
    # the same matrices back from the basis found, whatever order or signs it chose
    rebuilt = (found * found_variances[:, np.newaxis, :]) @ found.T
    np.testing.assert_allclose(rebuilt, covariances + 1e-4 * np.eye(6), rtol=1e-9, atol=1e-12)
    if n_components > 1:
        tilted = covariances.copy()
        tilted[-1] = covariances[-1] + 1e-3 * np.outer(orientation[:, 0], orientation[:, 1])
        tilted[-1] = (tilted[-1] + tilted[-1].T) / 2
        assert forms.shared_eigenbasis(tilted) is None


@pytest.mark.parametrize("name", ["VEE", "EVE", "VVE"])
def test_fitted_shared_orientation_models_are_evaluated_in_their_basis(name):
    from gaussmix import GaussianMixture

    rng = np.random.default_rng(32)
    X = np.concatenate(
        [
            rng.standard_normal((150, 4)) @ rng.standard_normal((4, 4)) + shift
            for shift in (0.0, 6.0, -6.0)
        ]
    )
    fitted = GaussianMixture(3, covariance_type=name, random_state=0).fit(X)
    assert forms.shared_eigenbasis(fitted.covariances_) is not None


def test_shared_eigenbasis_refuses_nearly_singular_covariances_that_do_not_share_one():
    # Component 0 has correlation 0.5 and condition 1e14: a tolerance that grew with the
    # condition number without bound accepted it, and the distances were off by a nat.
    tiny = 1e-14
    coupling = 0.5 * np.sqrt(tiny)
    covariances = np.array([[[1.0, coupling], [coupling, tiny]], [[100.0, 0.0], [0.0, tiny]]])
    assert forms.shared_eigenbasis(covariances) is None
    X, means = np.array([[1.0, 1e-7], [1.0, -1e-7], [0.0, 1e-7]]), np.zeros((2, 2))
    np.testing.assert_array_equal(
        SharedOrientationForm.from_covariances(covariances).log_gaussian(X, means),
        FullForm.from_covariances(covariances).log_gaussian(X, means),
    )


def test_shared_orientation_form_falls_back_to_full_projections():
    """Covariances without a common orientation (a user's precisions_init for VEE, say)
    are evaluated exactly as FullForm evaluates them."""
    rng = np.random.default_rng(31)
    params, _ = random_params("full", 5, 3, rng, centre=20.0)
    general = SharedOrientationForm.from_covariances(params.covariance.covariances)
    assert forms.shared_eigenbasis(general.covariances) is None
    X = sample_rows(params, 50, rng)
    np.testing.assert_array_equal(
        general.log_gaussian(X, params.means), params.covariance.log_gaussian(X, params.means)
    )


def test_projection_of_a_factor_that_is_not_triangular_is_not_blocked(monkeypatch):
    monkeypatch.setattr(pruning, "PROJECTION_BLOCK", 2)
    rng = np.random.default_rng(3)
    params, _ = random_params("full", 6, 2, rng)
    rotation = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    factors = params.covariance.precisions_cholesky @ rotation  # same precisions U Q Q^T U^T
    assert pruning.projection_blocks(factors) == [(0, 6)]
    assert len(pruning.projection_blocks(params.covariance.precisions_cholesky)) == 3
    rotated = FullForm(params.covariance.covariances, factors)
    X = sample_rows(params, 25, rng)
    precisions = params.covariance.precisions
    expected = np.array(
        [[(x - m) @ p @ (x - m) for m, p in zip(params.means, precisions)] for x in X]
    )
    np.testing.assert_allclose(rotated.squared_mahalanobis(X, params.means), expected, rtol=1e-9)


def test_log_responsibilities_match_reference():
    rng = np.random.default_rng(3)
    params, _ = random_params("full", 3, 4, rng)
    X = sample_rows(params, 40, rng)
    log_density, log_resp = log_responsibilities(X, params)
    log_prob = reference_log_prob(X, params)
    expected_density = np.log(np.exp(log_prob).sum(axis=1))
    np.testing.assert_allclose(log_density, expected_density, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0, rtol=1e-12)


def test_normalise_columns_in_place_and_handles_impossible_rows():
    log_prob = np.array([[0.0, -np.inf, -1000.0], [np.log(3.0), -np.inf, -1000.0]])
    with np.errstate(invalid="ignore"):
        log_density = normalise_columns(log_prob)
    assert log_density[0] == pytest.approx(np.log(4.0))
    assert log_density[1] == -np.inf
    assert log_density[2] == pytest.approx(-1000.0 + np.log(2.0))
    np.testing.assert_allclose(log_prob[:, 0], [0.25, 0.75])
    np.testing.assert_allclose(log_prob[:, 2], [0.5, 0.5])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normalise_columns_zeroes_negligible_responsibilities_exactly(dtype):
    """Responsibilities below eps^2 of their column's largest are exact zeros; the rest
    match a plain softmax computed in float64."""
    rng = np.random.default_rng(12)
    log_prob = rng.uniform(-150.0, 0.0, (5, 300))
    log_prob[:, :3] = [[0.0], [-1.0], [-np.inf], [-900.0], [-30.0]]
    log_prob = log_prob.astype(dtype).astype(np.float64)  # the inputs the kernel sees
    relative = np.exp(log_prob - log_prob.max(axis=0))
    expected = relative / relative.sum(axis=0)
    threshold = np.finfo(dtype).eps ** 2
    result = log_prob.astype(dtype)
    normalise_columns(result)
    negligible = relative < threshold * 0.5
    assert 0.1 < np.mean(negligible) < 0.9
    assert np.all(result[negligible] == 0.0)
    kept = relative > threshold * 2.0
    np.testing.assert_allclose(
        result[kept], expected[kept], rtol=64 * np.finfo(dtype).eps
    )  # |log| <= 44 when kept
    assert np.all(np.isfinite(result))


@pytest.mark.parametrize("shape", [(7, 2), (3, 6), (12, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_separated_components_skip_rows_with_zero_responsibility(shape, dtype):
    # Far apart components: most responsibilities are exact zeros, so each component's
    # second moments are accumulated over its own rows only (the gathered path).
    n_features, n_components = shape
    rng = np.random.default_rng(sum(shape))
    params, scatter = random_params("full", n_features, n_components, rng, spread=80.0)
    X = sample_rows(params, 400, rng)
    resp = np.exp(log_responsibilities(X.astype(dtype), params)[1])
    assert np.mean(resp == 0) > 0.4
    weights = rng.uniform(0.5, 2.0, X.shape[0])
    stats = chunk_statistics(X.astype(dtype), weights.astype(dtype), params, scatter)
    expected = reference_statistics(X, weights, params, diagonal=False)
    assert_stats_match(stats, expected, rtol=1e-9 if dtype == np.float64 else 2e-4)


def test_empty_component_weight_gives_zero_statistics():
    rng = np.random.default_rng(4)
    params, scatter = random_params("full", 2, 3, rng)
    params = MixtureParams(np.array([0.5, 0.5, 0.0]), params.means, params.covariance)
    X = sample_rows(params, 30, rng)
    stats = chunk_statistics(X, np.ones(30), params, scatter)
    assert stats.counts[2] == 0.0
    np.testing.assert_array_equal(stats.second[2], 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scatter", [FULL_SCATTER, DIAGONAL_SCATTER])
def test_statistics_from_hard_responsibilities_are_exact(dtype, scatter):
    """One row per component (how EM starts) must give an exactly zero scatter."""
    rng = np.random.default_rng(8)
    X = (rng.standard_normal((20, 6)) * 10 + 100).astype(dtype)
    resp = np.zeros((20, 3), dtype=dtype)
    resp[[2, 5, 11], [0, 1, 2]] = 1
    shift = np.broadcast_to(X.astype(np.float64).mean(axis=0), (3, 6))
    stats = statistics_from_responsibilities(X, np.ones(20, dtype), resp, shift, scatter)
    scatter_about_mean = scatter.about_mean(stats.second, stats.first, stats.counts)
    assert np.abs(scatter_about_mean).max() < 1e-9
    np.testing.assert_allclose(
        shift + stats.first / stats.counts[:, None], X[[2, 5, 11]].astype(np.float64), rtol=1e-14
    )


def test_default_chunk_rows_bounds_the_working_set():
    rows = default_chunk_rows(16, 32, 8)
    assert 256 <= rows <= 65536
    # the (K, d, rows) projection of one chunk stays within a few tens of MiB
    assert rows * 16 * 32 * 8 <= 32 * 2**20
    assert default_chunk_rows(2, 3, 8) > default_chunk_rows(64, 8, 8)


@pytest.mark.parametrize("n_threads", [2, 3])
def test_threaded_map_reduce_equals_sequential(n_threads):
    rng = np.random.default_rng(9)
    params, scatter = random_params("full", 3, 4, rng)
    X = sample_rows(params, 301, rng)
    weights = rng.uniform(0.1, 1.0, 301)

    def statistics(data):
        return data.map_reduce(
            lambda X_chunk, w_chunk: chunk_statistics(X_chunk, w_chunk, params, scatter)
        )

    sequential = statistics(ArrayData(X, weights, 16, n_threads=1))
    threaded = statistics(ArrayData(X, weights, 16, n_threads=n_threads))
    # chunks are summed in the same order, so the results are identical
    np.testing.assert_array_equal(threaded.second, sequential.second)
    np.testing.assert_array_equal(threaded.counts, sequential.counts)
    assert threaded.log_likelihood == sequential.log_likelihood


def test_threads_from_environment(monkeypatch):
    monkeypatch.setenv("GAUSSMIX_NUM_THREADS", "3")
    assert ArrayData(np.zeros((4, 1)), np.ones(4), 2).n_threads == 3
    monkeypatch.setenv("GAUSSMIX_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="GAUSSMIX_NUM_THREADS"):
        ArrayData(np.zeros((4, 1)), np.ones(4), 2)


def test_large_inputs_are_cut_into_bounded_chunks():
    # A data source may hand the kernels a whole batch (65,536 Parquet rows, a Dask
    # block): their temporaries must stay near the chunk budget, not grow with it.
    import tracemalloc

    rng = np.random.default_rng(12)
    params, scatter = random_params("full", 16, 8, rng)
    X = sample_rows(params, 120_000, rng)
    weights = np.ones(X.shape[0])
    rows = default_chunk_rows(16, 8)
    parts = [
        chunk_statistics(X[s : s + rows], weights[s : s + rows], params, scatter)
        for s in range(0, X.shape[0], rows)
    ]
    expected = parts[0]
    for part in parts[1:]:
        expected = expected + part
    tracemalloc.start()
    try:
        whole = chunk_statistics(X, weights, params, scatter)
        log_density, log_resp = log_responsibilities(X, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(whole.second, expected.second, rtol=1e-10, atol=1e-9)
    assert whole.log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-12)
    assert log_resp.shape == (X.shape[0], 8)
    assert log_density @ weights == pytest.approx(expected.log_likelihood, rel=1e-10)
    # Unchunked, the projected rows alone would take 120,000 x 8 x 16 x 8 B = 123 MB.
    per_row_outputs = log_density.nbytes + log_resp.nbytes
    assert peak < per_row_outputs + 2 * 16 * 2**20 + 2 * X.nbytes // 16


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_component_moments_equal_the_packed_product(dtype):
    from gaussmix.engine.covariance.scatter import (
        _gathered_moments,
        _packed_products_moments,
        _scaled_moments,
    )

    rng = np.random.default_rng(21)
    centred = rng.standard_normal((13, 500)).astype(dtype)
    weighted_resp = rng.uniform(0.1, 1.0, (4, 500)).astype(dtype)
    weighted_resp[0, 60:] = 0.0  # few active rows
    weighted_resp[1, ::2] = 0.0  # half
    weighted_resp[2] = 0.0  # none: zero moments
    nonzero = weighted_resp > 0
    packed = _packed_products_moments(centred, weighted_resp)
    tolerance = (
        {"rtol": 1e-10, "atol": 1e-10} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-3}
    )
    gathered = _gathered_moments(centred.T, np.zeros((4, 13)), weighted_resp, nonzero)
    np.testing.assert_allclose(gathered, packed, **tolerance)
    np.testing.assert_allclose(_scaled_moments(centred, weighted_resp), packed, **tolerance)
    np.testing.assert_array_equal(gathered[2], 0.0)
    # about a shift c_k directly, and from row-major rows
    shifts = rng.standard_normal((4, 13))
    about_shifts = _gathered_moments(
        np.ascontiguousarray(centred.T), shifts, weighted_resp, nonzero
    )
    differences = centred[:, :60].T.astype(np.float64) - shifts[0]
    reference = (differences * weighted_resp[0, :60, np.newaxis]).T @ differences
    np.testing.assert_allclose(about_shifts[0], reference, rtol=1e-4)
    np.testing.assert_array_equal(about_shifts, np.swapaxes(about_shifts, 1, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("active_fraction", [1.0, 0.3, 0.05, "one dense"])
def test_second_moments_from_rows_equal_those_from_columns(dtype, active_fraction):
    """Whichever route the cost model picks (packed, scaled, gathered), the chunk's own
    rows and its centred columns give the same moments about the shifts."""
    rng = np.random.default_rng(22)
    n_samples, n_features, n_components = 900, 16, 6
    X = (rng.standard_normal((n_samples, n_features)) + 50.0).astype(dtype)
    shifts = 50.0 + rng.standard_normal((n_components, n_features))
    reference = shifts.mean(axis=0)
    centred = (X.astype(np.float64) - reference).T.astype(dtype)
    weighted_resp = rng.uniform(0.0, 1.0, (n_components, n_samples))
    kept = 0.05 if active_fraction == "one dense" else active_fraction
    weighted_resp[rng.uniform(size=weighted_resp.shape) > kept] = 0.0
    if active_fraction == "one dense":  # gathered components and one scaled component
        weighted_resp[0] = rng.uniform(0.5, 1.0, n_samples)
    weighted_resp = weighted_resp.astype(dtype)
    offsets = shifts - reference
    counts = weighted_resp.sum(axis=1, dtype=np.float64)
    first = (weighted_resp @ centred.T).astype(np.float64)
    from_columns = FULL_SCATTER.centred_second_moments(
        centred, weighted_resp, offsets, counts, first
    )
    from_rows = FULL_SCATTER.centred_second_moments(
        centred, weighted_resp, offsets, counts, first, rows=X, reference=reference
    )
    expected = np.stack(
        [
            ((X - s) * r[:, np.newaxis]).T @ (X - s)
            for s, r in zip(shifts, weighted_resp.astype(np.float64), strict=True)
        ]
    )
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    scale = np.abs(expected).max()
    np.testing.assert_allclose(from_columns, expected, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(from_rows, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("route", ["gathered", "packed"])
def test_float32_moments_far_from_the_origin_match_float64_statistics(route, monkeypatch):
    """Rows 1e5 from the origin, shifts a standard deviation away from the components'
    means (a first E-step): the float32 moments about the shifts agree with float64
    statistics of the same float32 rows (the gathered rows are centred as the columns
    are; moving them to c_k in one float32 subtraction lost two digits)."""
    from gaussmix.engine.covariance import scatter

    monkeypatch.setattr(scatter, "_per_component_is_cheaper", lambda *_: route == "gathered")
    rng = np.random.default_rng(44)
    n_features, n_components = 16, 6
    means = 1e5 + 10.0 * rng.standard_normal((n_components, n_features))
    labels = rng.integers(n_components, size=3000)
    X = (means[labels] + rng.standard_normal((3000, n_features))).astype(np.float32)
    shifts = means + rng.standard_normal(means.shape)
    covariance = FullForm.from_covariances(
        np.broadcast_to(np.eye(n_features), (n_components, n_features, n_features)).copy()
    )
    params = MixtureParams(np.full(n_components, 1 / n_components), shifts, covariance)
    weights = np.ones(3000)
    stats = chunk_statistics(X, weights.astype(np.float32), params, FULL_SCATTER)
    expected = chunk_statistics(X.astype(np.float64), weights, params, FULL_SCATTER)
    covariances = FULL_SCATTER.about_mean(stats.second, stats.first, stats.counts)
    expected_covariances = FULL_SCATTER.about_mean(expected.second, expected.first, expected.counts)
    scale = expected.counts[:, np.newaxis, np.newaxis]
    np.testing.assert_allclose(covariances / scale, expected_covariances / scale, atol=2e-4)


def test_several_threads_get_at_least_two_chunks_each():
    X, weights = np.zeros((50_000, 4)), np.ones(50_000)
    long_chunks = ArrayData(X, weights, 20_000, n_threads=2)
    assert sum(1 for _ in long_chunks.chunks()) >= 4
    assert ArrayData(X, weights, 20_000, n_threads=1).chunk_rows == 20_000
    # never below a quarter of the kernels' length: then some threads get fewer
    assert ArrayData(X, weights, 20_000, n_threads=8).chunk_rows == 5_000
    # small data stays one chunk, run in the calling thread
    assert ArrayData(X[:4_000], weights[:4_000], 20_000, n_threads=8).chunk_rows >= 4_000
    total = long_chunks.map_reduce(lambda rows, w: np.array([rows.shape[0], w.sum()]))
    np.testing.assert_array_equal(total, [50_000, 50_000.0])
