"""The fourteen covariance models: counts, optimality, constraints, recovery, monotone EM.

Every expected value is computed here independently of the models' own code: parameter
counts from mclust's documented table, optimality against scipy.optimize over an explicit
parametrisation of each constraint, constraints from eigen-decompositions.
"""

import warnings

import numpy as np
import pytest
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.engine.covariance.models import MODELS, get_covariance_model
from mixture_samples import draw_mixture

NAMES = list(MODELS)

# mclust's documentation (?mclustModelNames, Table 3 of Scrucca et al. 2016) counts the
# covariance parameters of each model as follows, with G components in d dimensions.
# alpha = G*d (means), beta = d*(d+1)/2 (one full covariance), written out by hand.
MCLUST_COVARIANCE_PARAMETERS = {
    "EII": lambda G, d: 1,
    "VII": lambda G, d: G,
    "EEI": lambda G, d: d,
    "VEI": lambda G, d: G + d - 1,
    "EVI": lambda G, d: G * d - G + 1,
    "VVI": lambda G, d: G * d,
    "EEE": lambda G, d: d * (d + 1) // 2,
    "VEE": lambda G, d: d * (d + 1) // 2 + G - 1,
    "EVE": lambda G, d: d * (d + 1) // 2 + (G - 1) * (d - 1),
    "VVE": lambda G, d: d * (d + 1) // 2 + (G - 1) * d,
    "EEV": lambda G, d: G * d * (d + 1) // 2 - (G - 1) * d,
    "VEV": lambda G, d: G * d * (d + 1) // 2 - (G - 1) * (d - 1),
    "EVV": lambda G, d: G * d * (d + 1) // 2 - (G - 1),
    "VVV": lambda G, d: G * d * (d + 1) // 2,
}

MCLUST_ORDER = "EII VII EEI VEI EVI VVI EEE VEE EVE VVE EEV VEV EVV VVV".split()


def test_registry_lists_all_fourteen_models_in_mclust_order():
    assert NAMES == MCLUST_ORDER


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_components, n_features", [(1, 1), (1, 4), (2, 3), (3, 2), (9, 4)])
def test_parameter_counts_match_mclust(name, n_components, n_features):
    model = get_covariance_model(name)
    expected_cov = MCLUST_COVARIANCE_PARAMETERS[name](n_components, n_features)
    assert model.n_covariance_parameters(n_components, n_features) == expected_cov
    expected = expected_cov + n_components * n_features + n_components - 1
    assert model.n_parameters(n_components, n_features) == expected


# --------------------------------------------------------------------------- constraint algebra
def _rotation(angles, d):
    """Rotation from d(d-1)/2 free angles: a product of Givens rotations (covers SO(d))."""
    rotation = np.eye(d)
    for angle, (i, j) in zip(angles, zip(*np.triu_indices(d, 1))):
        givens = np.eye(d)
        c, s = np.cos(angle), np.sin(angle)
        givens[i, i] = givens[j, j] = c
        givens[i, j], givens[j, i] = -s, s
        rotation = rotation @ givens
    return rotation


def _unit_shape(log_values, d):
    """Diagonal of determinant one from d-1 free log-values."""
    logs = np.append(log_values, -np.sum(log_values))
    return np.exp(logs)


class Constrained:
    """``Sigma_k = lambda_k D_k A_k D_k^T`` built from a free vector, per the model's letters."""

    def __init__(self, name, G, d):
        self.volume, self.shape, self.orientation = name
        self.G, self.d = G, d
        self.sizes = {
            "volume": 1 if self.volume == "E" else G,
            "shape": 0 if self.shape == "I" else (d - 1) * (1 if self.shape == "E" else G),
            "orientation": 0
            if self.orientation == "I"
            else d * (d - 1) // 2 * (1 if self.orientation == "E" else G),
        }
        self.size = sum(self.sizes.values())

    def covariances(self, theta):
        G, d = self.G, self.d
        nv, ns = self.sizes["volume"], self.sizes["shape"]
        volumes = np.broadcast_to(np.exp(theta[:nv]), (G,))
        if self.shape == "I":
            shapes = np.ones((G, d))
        else:
            per = theta[nv : nv + ns].reshape(-1, d - 1)
            shapes = np.broadcast_to(np.array([_unit_shape(p, d) for p in per]), (G, d))
        if self.orientation == "I":
            rotations = np.broadcast_to(np.eye(d), (G, d, d))
        else:
            per = theta[nv + ns :].reshape(-1, d * (d - 1) // 2)
            rotations = np.broadcast_to(np.array([_rotation(p, d) for p in per]), (G, d, d))
        return np.array(
            [volumes[k] * rotations[k] @ np.diag(shapes[k]) @ rotations[k].T for k in range(G)]
        )


def _objective(covariances, scatter, counts):
    total = 0.0
    for cov, w, n in zip(covariances, scatter, counts):
        total += n * np.linalg.slogdet(cov)[1] + np.trace(np.linalg.solve(cov, w))
    return total


def _model_scatter(model, full_scatter):
    diagonal = len(model.scatter.shape(1, 2)) == 2
    return np.diagonal(full_scatter, axis1=1, axis2=2).copy() if diagonal else full_scatter


def _dense(model, covariances, G, d):
    return model.form.from_covariances(covariances).dense_covariances(G, d)


def _random_scatter(rng, G, d, counts):
    factors = rng.normal(size=(G, d, d + 2))
    return factors @ factors.transpose(0, 2, 1) * (counts / (d + 2))[:, None, None]


@pytest.mark.parametrize("name", NAMES)
def test_parametrisation_has_the_documented_number_of_parameters(name):
    for G, d in [(2, 3), (3, 2)]:
        assert Constrained(name, G, d).size == MODELS[name].n_covariance_parameters(G, d)


@pytest.mark.parametrize("name", NAMES)
def test_m_step_minimises_the_expected_complete_negative_log_likelihood(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    G, d = 2, 3
    counts = np.array([40.0, 25.0])
    full_scatter = _random_scatter(rng, G, d, counts)
    # Diagonal models see only the diagonal of the scatter; the objective agrees.
    model = get_covariance_model(name, inner_tol=1e-13, inner_max_iter=20000)
    scatter = _model_scatter(model, full_scatter)
    if scatter.ndim == 2:
        full_scatter = np.stack([np.diag(s) for s in scatter])
    ours = _objective(
        _dense(model, model.estimate_covariances(scatter, counts, None), G, d),
        full_scatter,
        counts,
    )
    param = Constrained(name, G, d)
    best = np.inf
    for start in range(3):
        theta0 = np.random.default_rng(start).normal(scale=0.5 * start, size=param.size)
        result = optimize.minimize(
            lambda t: _objective(param.covariances(t), full_scatter, counts),
            theta0,
            method="BFGS",
            options={"gtol": 1e-7, "maxiter": 2000},
        )
        best = min(best, result.fun)
    # Ours is feasible (checked below), so it cannot beat the true minimum by more than
    # round-off; and it must be at least as good as the numerical optimiser.
    assert ours <= best + 1e-6 * abs(best)
    assert ours >= best - 1e-6 * abs(best)


def _covariances_under(name, G, d, rng):
    """Covariances that satisfy ``name``'s constraint, with distinct eigenvalues."""
    param = Constrained(name, G, d)
    return param.covariances(rng.normal(scale=0.7, size=param.size))


@pytest.mark.parametrize("name", NAMES)
def test_m_step_equals_unconstrained_estimate_when_constraint_is_inactive(name):
    rng = np.random.default_rng(3)
    G, d = 3, 3
    counts = np.array([30.0, 50.0, 20.0])
    truth = _covariances_under(name, G, d, rng)
    model = get_covariance_model(name, inner_tol=1e-14, inner_max_iter=5000)
    full_scatter = truth * counts[:, None, None]
    estimate = model.estimate_covariances(_model_scatter(model, full_scatter), counts, None)
    np.testing.assert_allclose(_dense(model, estimate, G, d), truth, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- constraints hold
def assert_satisfies(name, covariances, rtol=1e-6):
    """Check ``name``'s constraint on (K, d, d) covariances by eigen-decomposition."""
    volume, shape, orientation = name
    d = covariances.shape[-1]
    eigenvalues = np.linalg.eigvalsh(covariances)  # ascending, (K, d)
    volumes = np.prod(eigenvalues, axis=1) ** (1 / d)
    shapes = eigenvalues / volumes[:, None]
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=rtol)
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=rtol)
    if shape == "E":
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=rtol)
    scale = np.abs(covariances).max()
    if orientation == "I":
        off_diagonal = covariances * (1 - np.eye(d))
        np.testing.assert_allclose(off_diagonal, 0.0, atol=rtol * scale)
    if orientation == "E":
        for a in covariances:
            for b in covariances:
                np.testing.assert_allclose(a @ b, b @ a, atol=rtol * scale**2)
    if shape == "E" and orientation in "EI":
        normalised = covariances / volumes[:, None, None]
        np.testing.assert_allclose(
            normalised,
            np.broadcast_to(normalised[0], normalised.shape),
            rtol=rtol,
            atol=rtol * normalised.max(),
        )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", NAMES)
def test_fitted_covariances_satisfy_the_constraint(name, five_d_data):
    X, _ = five_d_data
    gm = GaussianMixture(3, covariance_type=name, reg_covar=0.0, max_iter=20, random_state=0).fit(X)
    assert gm.covariances_.shape == (3, 5, 5)
    assert_satisfies(name, gm.covariances_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", NAMES)
def test_lower_bounds_never_decrease(name, chapter_data):
    X = chapter_data[0][:500]
    gm = GaussianMixture(
        3, covariance_type=name, reg_covar=0.0, tol=1e-10, max_iter=25, random_state=1
    )
    gm.fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


@pytest.mark.parametrize("name", NAMES)
def test_recovers_covariances_of_data_generated_under_the_model(name):
    rng = np.random.default_rng(11)
    G, d = 2, 3
    truth = _covariances_under(name, G, d, rng)
    means = np.array([[0.0, 0.0, 0.0], [12.0, -12.0, 12.0]])
    X, labels = draw_mixture(1200, means, truth, np.array([0.45, 0.55]), seed=5)
    gm = GaussianMixture(G, covariance_type=name, means_init=means, random_state=0).fit(X)
    assert np.mean(gm.predict(X) == labels) > 0.99
    np.testing.assert_allclose(gm.covariances_, truth, atol=0.12 * np.abs(truth).max())
    assert_satisfies(name, gm.covariances_, rtol=1e-5)


@pytest.mark.parametrize("name", ["VEI", "VEE", "EVE", "VVE", "VEV"])
def test_iterative_m_step_never_worse_than_previous(name):
    rng = np.random.default_rng(2)
    G, d = 3, 3
    counts = np.array([30.0, 50.0, 20.0])
    model = get_covariance_model(name, inner_max_iter=1)
    previous = model.form.from_covariances(
        _covariances_under(name, G, d, rng)
        if model.form.name == "full"
        else np.diagonal(_covariances_under(name, G, d, rng), axis1=1, axis2=2).copy()
    )
    full_scatter = _random_scatter(rng, G, d, counts)
    scatter = _model_scatter(model, full_scatter)
    if scatter.ndim == 2:
        full_scatter = np.stack([np.diag(s) for s in scatter])
    before = _objective(previous.dense_covariances(G, d), full_scatter, counts)
    estimate = model.estimate_covariances(scatter, counts, previous)
    after = _objective(_dense(model, estimate, G, d), full_scatter, counts)
    assert after <= before + 1e-9 * abs(before)


ITERATIVE = ["VEI", "VEE", "EVE", "VVE", "VEV"]


@pytest.mark.parametrize("name", ITERATIVE)
@pytest.mark.parametrize("scale", [1e-6, 1e-2, 10.0, 1e8])
@pytest.mark.parametrize("with_previous", [False, True])
def test_iterative_m_step_is_equivariant_to_the_data_scale(name, scale, with_previous):
    # Data scaled by c have scatter scaled by c^2 and maximum-likelihood covariances scaled
    # by c^2: the inner iterations, with their default tolerance, must stop at the same
    # step whatever the units (they stopped elsewhere when the tolerance was relative to
    # the objective, which grows with |log c|).
    rng = np.random.default_rng(sum(map(ord, name)) + 3)
    G, d = 3, 4
    counts = np.array([30.0, 50.0, 20.0])
    model = get_covariance_model(name)
    scatter = _model_scatter(model, _random_scatter(rng, G, d, counts))
    previous = None
    if with_previous:
        start = _covariances_under(name, G, d, rng)
        previous = start if model.form.name == "full" else np.diagonal(start, axis1=1, axis2=2)
    c2 = scale**2

    def estimate(factor):
        form = None if previous is None else model.form.from_covariances(factor * previous)
        return _dense(model, model.estimate_covariances(factor * scatter, counts, form), G, d)

    unscaled = estimate(1.0)
    np.testing.assert_allclose(estimate(c2), c2 * unscaled, rtol=1e-6, atol=0)


@pytest.mark.parametrize("name", ["VEI", "VEE", "VVE"])
def test_component_on_one_point_names_the_current_reg_covar_and_what_helps(name):
    # 8 rows, K=4: a component can hold a single point, whose scatter is zero; these
    # models divide by its volume before the ridge is added, so the reg_covar already set
    # cannot be the remedy "e.g. 1e-6" suggested.
    # The one point's scatter is exactly zero (not rounding residue), so no reg_covar can
    # help these models, and the message does not suggest one. A start that is already
    # singular is an error; a later singular M-step stops EM at the valid parameters
    # entering it, with the same reason in its ConvergenceWarning.
    X = np.random.default_rng(0).normal(size=(8, 1))
    for reg_covar in (1e-6, 0.1):
        # One k-means start (scikit-learn's) gives a component a single point here; the
        # default best-of-kmeans start avoids that partition altogether.
        model = GaussianMixture(
            4, covariance_type=name, reg_covar=reg_covar, random_state=0, init_params="kmeans"
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                model.fit(X)
            except ValueError as error:
                message = str(error)
            else:
                message = next(str(w.message) for w in caught if "M-step failed" in str(w.message))
                assert not model.converged_
                assert np.all(np.isfinite(model.covariances_)) and np.isfinite(model.lower_bound_)
        assert f"now {reg_covar:g}" in message and "no reg_covar helps" in message
        assert "fewer components" in message
        assert "larger reg_covar" not in message
    # The suggested remedies work: fewer components, or a model it names.
    for remedy in (
        GaussianMixture(2, covariance_type=name, reg_covar=1e-6, random_state=0),
        GaussianMixture(4, covariance_type="VVV", reg_covar=1e-6, random_state=0),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            remedy.fit(X)
        assert not [w for w in caught if "M-step failed" in str(w.message)]
