"""The missing-value kernels' routes (per-pattern products, batched rows, diagonal masks,
blocks) against a row-by-row reference built from scipy densities and explicit inverses."""

import functools

import numpy as np
import pytest
from missing_reference import reference_log_prob

import gaussmix.engine.missing.kernels as missing_module
import gaussmix.engine.missing.patterns as patterns_module
from gaussmix.engine.core.estep import chunk_statistics
from gaussmix.engine.core.params import MixtureParams
from gaussmix.engine.covariance.forms import DiagonalForm, FullForm, SphericalForm, TiedForm
from gaussmix.engine.covariance.scatter import DIAGONAL_SCATTER, FULL_SCATTER
from gaussmix.engine.missing import (
    conditional_expectation,
    incomplete_statistics,
    observed_weighted_log_prob,
)


def _random_covariances(form, rng, n_components, n_features):
    def spd():
        A = rng.normal(size=(n_features, n_features))
        return A @ A.T / n_features + 0.3 * np.eye(n_features)

    return {
        FullForm: lambda: np.stack([spd() for _ in range(n_components)]),
        TiedForm: spd,
        DiagonalForm: lambda: rng.uniform(0.5, 2.0, size=(n_components, n_features)),
        SphericalForm: lambda: rng.uniform(0.5, 2.0, size=n_components),
    }[form]()


def _params(form=FullForm, n_components=3, n_features=6, seed=0, spread=2.0, offset=0.0):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_components, 3.0))
    means = offset + rng.normal(scale=spread, size=(n_components, n_features))
    covariances = _random_covariances(form, rng, n_components, n_features)
    return MixtureParams(weights, means, form.from_covariances(covariances))


def _holes(n_rows=300, n_features=6, seed=1, offset=0.0, repeated=(0.35, 0.15, 0.1)):
    """Rows with NaN: shares ``repeated`` of the rows take one fixed pattern each (so that
    patterns have many rows), the others random holes, plus complete and empty rows."""
    rng = np.random.default_rng(seed)
    X = offset + rng.normal(scale=2.0, size=(n_rows, n_features))
    holes = rng.random(X.shape) < 0.3
    start = 0
    for share in repeated:
        stop = start + int(share * n_rows)
        pattern = np.zeros(n_features, dtype=bool)
        pattern[rng.choice(n_features, size=rng.integers(1, n_features), replace=False)] = True
        holes[start:stop] = pattern
        start = stop
    holes[-3:] = False  # complete rows
    holes[-6:-4] = True  # empty rows
    X[holes] = np.nan
    order = rng.permutation(n_rows)
    return X[order]


def _reference_statistics(X, w, params, labels=None):
    """Counts, first and second moments about the means, and the log-likelihood."""
    n_components, n_features = params.means.shape
    dense = params.covariance.dense_covariances(n_components, n_features)
    log_prob = reference_log_prob(X, params)
    log_density = np.logaddexp.reduce(log_prob, axis=1)
    resp = np.exp(log_prob - log_density[:, np.newaxis])
    if labels is not None:
        for n, y in enumerate(labels):
            if y >= 0:
                resp[n] = np.eye(n_components)[y]
                log_density[n] = log_prob[n, y]
    counts = np.zeros(n_components)
    first = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features, n_features))
    log_likelihood = 0.0
    for n, row in enumerate(X):
        o = ~np.isnan(row)
        if not o.any():
            continue
        m = ~o
        log_likelihood += w[n] * log_density[n]
        for k in range(n_components):
            S = dense[k]
            gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
            filled = row.copy()
            filled[m] = params.means[k][m] + gain @ (row[o] - params.means[k][o])
            C = np.zeros((n_features, n_features))
            C[np.ix_(m, m)] = S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)]
            diff = filled - params.means[k]
            weight = w[n] * resp[n, k]
            counts[k] += weight
            first[k] += weight * diff
            second[k] += weight * (np.outer(diff, diff) + C)
    return counts, first, second, log_likelihood


@functools.cache
def _case(form, seed, labelled=False):
    """Parameters, rows, weights, labels and the reference statistics (computed once)."""
    params = _params(form)
    X = _holes(seed=seed)
    w = np.random.default_rng(seed + 100).uniform(0.2, 3.0, size=X.shape[0])
    labels = None
    if labelled:
        labels = np.full(X.shape[0], -1)
        labels[::4] = np.arange(X.shape[0])[::4] % params.n_components
    return params, X, w, labels, _reference_statistics(X, w, params, labels)


def _assert_statistics_match(stats, reference, scatter):
    counts, first, second, log_likelihood = reference
    if scatter is DIAGONAL_SCATTER:
        second = np.diagonal(second, axis1=1, axis2=2)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-10)
    np.testing.assert_allclose(stats.first, first, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats.second, second, rtol=1e-9, atol=1e-9)
    assert stats.log_likelihood == pytest.approx(log_likelihood, rel=1e-10)


ROUTES = ["per-pattern", "batched", "mixed", "diagonal-masks-off"]


@pytest.fixture(params=ROUTES)
def route(request, monkeypatch):
    """How the general kernel treats patterns: every pattern by its own products, every
    row batched, a mix; the last disables the diagonal kernel so diagonal covariances
    take the general one too."""
    rows = {"per-pattern": 1, "batched": 10**9, "mixed": 20, "diagonal-masks-off": 20}
    monkeypatch.setattr(patterns_module, "_LARGE_PATTERN_ROWS", rows[request.param])
    if request.param == "diagonal-masks-off":
        monkeypatch.setattr(missing_module, "_diagonal_variances", lambda params: None)
    return request.param


@pytest.mark.parametrize("form", [FullForm, TiedForm, DiagonalForm, SphericalForm])
@pytest.mark.parametrize("scatter", [FULL_SCATTER, DIAGONAL_SCATTER], ids=["full", "diag"])
def test_statistics_of_every_route_match_the_row_by_row_reference(form, scatter, route):
    params, X, w, _, reference = _case(form, seed=1)
    stats = incomplete_statistics(X, w, params, scatter)
    _assert_statistics_match(stats, reference, scatter)
    assert stats.total_weight == pytest.approx(w[~np.isnan(X).all(axis=1)].sum(), rel=1e-12)


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_log_densities_and_imputations_of_every_route(form, route):
    params = _params(form)
    X = _holes(seed=4)
    reference = reference_log_prob(X, params)
    np.testing.assert_allclose(observed_weighted_log_prob(X, params), reference, rtol=1e-10)
    resp = np.exp(reference - np.logaddexp.reduce(reference, axis=1, keepdims=True))
    imputed = conditional_expectation(X, params)
    dense = params.covariance.dense_covariances(*params.means.shape)
    for n, row in enumerate(X):
        o = ~np.isnan(row)
        expected = row.copy()
        if not o.any():
            expected = params.weights @ params.means
        elif not o.all():
            m = ~o
            expected[m] = sum(
                resp[n, k]
                * (
                    params.means[k][m]
                    + dense[k][np.ix_(m, o)]
                    @ np.linalg.solve(dense[k][np.ix_(o, o)], row[o] - params.means[k][o])
                )
                for k in range(params.n_components)
            )
        np.testing.assert_allclose(imputed[n], expected, rtol=1e-9, atol=1e-12)


def test_routes_agree_with_each_other(monkeypatch):
    params = _params(FullForm, n_components=4, n_features=7, seed=5)
    X = _holes(n_rows=600, n_features=7, seed=6)
    w = np.random.default_rng(7).uniform(0.5, 2.0, size=X.shape[0])
    results = []
    for rows in (1, 25, 10**9):
        monkeypatch.setattr(patterns_module, "_LARGE_PATTERN_ROWS", rows)
        results.append(incomplete_statistics(X, w, params, FULL_SCATTER))
    for other in results[1:]:
        np.testing.assert_allclose(other.second, results[0].second, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(other.first, results[0].first, rtol=1e-12, atol=1e-12)
        assert other.log_likelihood == pytest.approx(results[0].log_likelihood, rel=1e-13)


@pytest.mark.parametrize("block_rows", [1, 7, 64])
@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_blocks_of_any_size_give_the_same_statistics(form, block_rows, monkeypatch):
    params = _params(form)
    X = _holes(n_rows=150, seed=8)
    w = np.random.default_rng(9).uniform(0.5, 2.0, size=X.shape[0])
    whole = incomplete_statistics(X, w, params, FULL_SCATTER)
    monkeypatch.setattr(missing_module, "default_chunk_rows", lambda *args, **kwargs: block_rows)
    blocked = incomplete_statistics(X, w, params, FULL_SCATTER)
    np.testing.assert_allclose(blocked.second, whole.second, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(blocked.counts, whole.counts, rtol=1e-12)
    assert blocked.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(
        observed_weighted_log_prob(X, params), reference_log_prob(X, params), rtol=1e-10
    )


@pytest.mark.parametrize("route", ["automatic", "general"])
def test_one_feature_rows_are_complete_or_empty(route, monkeypatch):
    if route == "general":
        monkeypatch.setattr(missing_module, "_diagonal_variances", lambda params: None)
    params = _params(FullForm, n_features=1)
    X = np.random.default_rng(10).normal(size=(40, 1))
    X[::3] = np.nan
    w = np.ones(40)
    ours = incomplete_statistics(X, w, params, FULL_SCATTER)
    kept = ~np.isnan(X[:, 0])
    ordinary = chunk_statistics(X[kept], w[kept], params, FULL_SCATTER)
    np.testing.assert_allclose(ours.second, ordinary.second, rtol=1e-12)
    np.testing.assert_allclose(ours.counts, ordinary.counts, rtol=1e-12)
    assert ours.log_likelihood == pytest.approx(ordinary.log_likelihood, rel=1e-12)
    log_prob = observed_weighted_log_prob(X, params)
    np.testing.assert_allclose(log_prob[~kept], np.log(np.broadcast_to(params.weights, (14, 3))))


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_a_single_component(form, route):
    params = _params(form, n_components=1)
    X = _holes(n_rows=120, seed=11)
    w = np.random.default_rng(12).uniform(0.5, 2.0, size=X.shape[0])
    stats = incomplete_statistics(X, w, params, FULL_SCATTER)
    _assert_statistics_match(stats, _reference_statistics(X, w, params), FULL_SCATTER)


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_labelled_rows_in_every_route(form, route):
    params, X, w, labels, reference = _case(form, seed=13, labelled=True)
    stats = incomplete_statistics(X, w, params, FULL_SCATTER, labels=labels)
    _assert_statistics_match(stats, reference, FULL_SCATTER)


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_float32_rows(form):
    params = _params(form)
    X = _holes(seed=15)
    w = np.ones(X.shape[0])
    single = incomplete_statistics(X.astype(np.float32), w.astype(np.float32), params, FULL_SCATTER)
    double = incomplete_statistics(X.astype(np.float32).astype(np.float64), w, params, FULL_SCATTER)
    np.testing.assert_allclose(single.second, double.second, rtol=1e-5, atol=1e-4)
    assert single.log_likelihood == pytest.approx(double.log_likelihood, rel=1e-6)
    log_prob = observed_weighted_log_prob(X.astype(np.float32), params)
    assert log_prob.dtype == np.float32
    np.testing.assert_allclose(log_prob, reference_log_prob(X, params), rtol=1e-5)


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_data_far_from_the_origin_keeps_its_digits(form, route):
    near = _params(form, seed=16)
    far = MixtureParams(near.weights, near.means + 1e6, near.covariance)
    X = _holes(seed=17)
    w = np.ones(X.shape[0])
    for scatter in (FULL_SCATTER, DIAGONAL_SCATTER):
        at_origin = incomplete_statistics(X, w, near, scatter)
        shifted = incomplete_statistics(X + 1e6, w, far, scatter)
        np.testing.assert_allclose(shifted.second, at_origin.second, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose(shifted.first, at_origin.first, rtol=1e-7, atol=1e-7)
        assert shifted.log_likelihood == pytest.approx(at_origin.log_likelihood, rel=1e-9)


def test_diagonal_components_far_apart_relative_to_their_widths():
    # Offsets of 1e3 standard deviations from the reference point: the expanded products
    # would lose every digit, so those components are summed exactly.
    rng = np.random.default_rng(18)
    means = np.array([[-1e3, 0.0, 5.0], [1e3, 2.0, -5.0]])
    params = MixtureParams(
        np.array([0.4, 0.6]), means, DiagonalForm.from_covariances(rng.uniform(0.5, 1.5, (2, 3)))
    )
    X = np.concatenate([means[0] + rng.normal(size=(40, 3)), means[1] + rng.normal(size=(60, 3))])
    X[rng.random(X.shape) < 0.3] = np.nan
    w = np.ones(X.shape[0])
    for scatter in (FULL_SCATTER, DIAGONAL_SCATTER):
        stats = incomplete_statistics(X, w, params, scatter)
        _assert_statistics_match(stats, _reference_statistics(X, w, params), scatter)
    np.testing.assert_allclose(
        observed_weighted_log_prob(X, params), reference_log_prob(X, params), rtol=1e-10
    )


@pytest.mark.parametrize("size", range(1, 9))
@pytest.mark.parametrize("vectorised", [True, False])
def test_small_inverses_and_log_determinants(size, vectorised, monkeypatch):
    monkeypatch.setattr(missing_module, "_VECTORISED_STACK", 0 if vectorised else 10**9)
    rng = np.random.default_rng(size)
    A = rng.normal(size=(3, 40, size, size))
    matrices = A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(size)
    stacked = np.moveaxis(matrices, (-2, -1), (0, 1))  # (m, m, 3, 40)
    inverse, log_det = missing_module._spd_inverse_and_log_det(stacked)
    np.testing.assert_allclose(
        np.moveaxis(inverse, (0, 1), (-2, -1)), np.linalg.inv(matrices), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(log_det, np.linalg.slogdet(matrices)[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", range(1, 8))
def test_blocks_times_vectors(size):
    rng = np.random.default_rng(size)
    blocks = rng.normal(size=(size, size, 3, 50))
    vectors = rng.normal(size=(3, size, 50))
    np.testing.assert_allclose(
        missing_module._multiply_blocks(blocks, vectors),
        np.einsum("ijkn,kjn->kin", blocks, vectors),
        rtol=1e-13,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        missing_module._column_dots(vectors, 2 * vectors), 2 * (vectors**2).sum(axis=1)
    )


@pytest.mark.parametrize("n_features", [3, 16, 17, 40, 70])
def test_pattern_groups_order_rows_by_pattern(n_features, monkeypatch):
    monkeypatch.setattr(patterns_module, "_LARGE_PATTERN_ROWS", 5)
    rng = np.random.default_rng(n_features)
    missing = rng.random((400, n_features)) < rng.uniform(0.05, 0.6, size=(400, 1))
    missing[:150] = missing[0]  # one pattern with many rows
    missing[150:200] = missing[160]
    missing[:, 0] |= ~missing.any(axis=1)
    missing[:, -1] &= ~missing.all(axis=1)
    keep = missing.any(axis=1) & ~missing.all(axis=1)
    missing = missing[keep]
    n_missing = missing.sum(axis=1)
    order, groups = patterns_module._pattern_groups(missing, n_missing)
    assert sorted(order) == list(range(missing.shape[0]))
    sorted_missing = missing[order]
    assert groups[0].start == 0 and groups[-1].stop == missing.shape[0]
    for group, following in zip(groups, groups[1:], strict=False):
        assert group.stop == following.start
        assert group.missing.shape[0] < following.missing.shape[0]
    for group in groups:
        sizes = np.diff(group.pattern_starts)
        assert np.all(sizes[: group.n_large] >= 5) and np.all(sizes[group.n_large :] < 5)
        for p in range(group.missing.shape[1]):
            rows = sorted_missing[group.pattern_rows(p)]
            expected = np.zeros(n_features, dtype=bool)
            expected[group.missing[:, p]] = True
            assert np.all(rows == expected)
        batched = sorted_missing[group.batched_rows]
        expected = np.zeros_like(batched)
        np.put_along_axis(expected, group.missing[:, group.pattern_of_row].T, True, axis=1)
        np.testing.assert_array_equal(batched, expected)


@pytest.mark.parametrize("form", [FullForm, DiagonalForm])
def test_an_empty_component_gets_no_responsibility(form, route):
    params = _params(form)
    params = MixtureParams(np.array([0.6, 0.0, 0.4]), params.means, params.covariance)
    X = _holes(n_rows=100, seed=19)
    w = np.ones(X.shape[0])
    with np.errstate(divide="ignore"):
        reference = _reference_statistics(X, w, params)
    stats = incomplete_statistics(X, w, params, FULL_SCATTER)
    assert stats.counts[1] == 0.0
    _assert_statistics_match(stats, reference, FULL_SCATTER)
    log_prob = observed_weighted_log_prob(X, params)
    assert np.all(log_prob[:, 1] == -np.inf)
