"""How a sweep's cell is started and stopped: extra starts for EVE/VVE, mclust's stop rule."""

import warnings

import numpy as np
import pytest
from mclust_reference import load_reference

from gaussmix import GaussianMixture
from gaussmix.engine.core.hierarchical import hierarchical_partitions
from gaussmix.selection import _cells
from gaussmix.selection._cells import (
    EXTRA_STARTS,
    _fit_from,
    _initial_from_labels,
    _start_from_model,
    fit_cell,
)
from gaussmix.selection._sweep_data import sweep_data

SETTINGS = {"tol": 1e-5, "max_iter": 1000, "reg_covar": 0.0, "random_state": 0}


def _generated(seed):
    """Four elongated clusters sharing roughly one orientation, in 3-d."""
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    blocks = [
        rng.normal(size=(60, 3)) * scale @ rotation.T + centre
        for scale, centre in [
            ([3.0, 1.0, 0.3], [0, 0, 0]),
            ([1.0, 2.0, 0.5], [6, 1, 0]),
            ([0.5, 0.5, 2.0], [0, 7, 2]),
            ([2.0, 0.3, 1.0], [5, 6, -3]),
        ]
    ]
    return np.vstack(blocks)


@pytest.mark.parametrize(("seed", "k", "name"), [(3, 3, "EVE"), (3, 5, "EVE"), (3, 5, "VVE")])
def test_a_shared_orientation_cell_keeps_the_best_of_its_starts(seed, k, name):
    X = _generated(seed)
    data = sweep_data(X, None, marginalize=False, random_state=0)
    labels = hierarchical_partitions(X, np.ones(len(X)), [k], random_state=0)[k]
    cell = fit_cell(data, k, name, labels, SETTINGS)
    params = {**SETTINGS, "init_params": "random"}
    starts = [{**params, **_initial_from_labels(X, np.ones(len(X)), labels, k, name, 0.0)}]
    starts += [_start_from_model(data, k, name, h, params, labels) for h in EXTRA_STARTS[name]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        each = [_fit_from(data, k, name, start, labels)[1].log_likelihood for start in starts]
    # On these data the hierarchical start alone ends in a clearly worse optimum ...
    assert each[0] < max(each) - 1.0
    # ... and the cell keeps the best start's fit.
    assert cell.log_likelihood == pytest.approx(max(each), abs=1e-9)
    assert cell.estimator.score(X) * len(X) == pytest.approx(cell.log_likelihood, rel=1e-10)


@pytest.mark.parametrize(("seed", "k"), [(3, 2), (5, 3), (7, 3)])
def test_vve_also_starts_from_its_shared_orientation_neighbours(seed, k):
    # On these data VVE started from the hierarchical partition, or from VEV's or VVI's
    # fit, ends far below VVE started from EVE's fit (VVE with equal volumes) or EVV's
    # (equal volumes, varying orientations): the cell must reach the better optimum.
    X = _generated(seed)
    data = sweep_data(X, None, marginalize=False, random_state=0)
    labels = hierarchical_partitions(X, np.ones(len(X)), [k], random_state=0)[k]
    params = {**SETTINGS, "init_params": "random"}
    own = {**params, **_initial_from_labels(X, np.ones(len(X)), labels, k, "VVE", 0.0)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = fit_cell(data, k, "VVE", labels, SETTINGS)

        def fitted(start):
            return _fit_from(data, k, "VVE", start, labels)[1].log_likelihood

        others = [fitted(own)] + [
            fitted(_start_from_model(data, k, "VVE", helper, params, labels))
            for helper in ("VEV", "VVI")
        ]
        neighbours = [
            fitted(_start_from_model(data, k, "VVE", helper, params, labels))
            for helper in ("EVE", "EVV")
        ]
    assert max(neighbours) > max(others) + 10.0
    assert cell.log_likelihood == pytest.approx(max(neighbours), abs=1e-9)


def test_em_heading_into_a_singularity_stops_where_mclust_stops():
    # thyroid, EVV with 7 components, from mclust's own hierarchical start: EM run to the
    # sweep's tolerance collapses a component onto a few rows; mclust stops earlier, with
    # BIC 5250.15 (its sign negated). The cell must not be NA there.
    reference = load_reference("thyroid")
    X = reference.X
    data = sweep_data(X, None, marginalize=False, random_state=0)
    labels = hierarchical_partitions(X, np.ones(len(X)), [7], random_state=0)[7]
    start = _initial_from_labels(X, np.ones(len(X)), labels, 7, "EVV", 0.0)
    # A single fit run to the sweep's tolerance heads into the collapse: it either fails or
    # stops before the singular M-step without converging.
    direct = GaussianMixture(7, covariance_type="EVV", init_params="random", **SETTINGS, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            direct.fit(X)
        except ValueError:
            pass
        else:
            assert not direct.converged_ and direct._collapse is not None
    cell = fit_cell(data, 7, "EVV", labels, SETTINGS)
    assert cell.status == "converged"
    assert "mclust's relative tolerance" in cell.reason
    assert cell.bic <= reference.bic.loc[7, "EVV"] + 0.01


def test_cells_of_one_sweep_share_their_first_fits(monkeypatch):
    # EVE's and VVE's extra starts come from the fits of VEV, VVI, EVE and EVV from the
    # same partition: the first fits of those models' own cells, made once per sweep.
    X = _generated(3)
    data = sweep_data(X, None, marginalize=False, random_state=0)
    labels = hierarchical_partitions(X, np.ones(len(X)), [3], random_state=0)[3]
    names = ["VVI", "EVE", "VVE", "VEV", "EVV"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = {name: fit_cell(data, 3, name, labels, SETTINGS) for name in names}
        made = []
        plain_fit = _cells._plain_fit

        def counted(data, k, name, params):
            made.append(name)
            return plain_fit(data, k, name, params)

        monkeypatch.setattr(_cells, "_plain_fit", counted)
        shared = {}
        together = {name: fit_cell(data, 3, name, labels, SETTINGS, shared) for name in names}
    # Each model's first fit once, and one fit from each extra start of EVE and VVE.
    assert sorted(made) == sorted(names + ["EVE"] * 2 + ["VVE"] * 3)
    # Once their own cells are done, the kept fits no longer hold their training data.
    assert sorted(shared) == [(3, name) for name in sorted(_cells._HELPERS)]
    assert all(fitted.source is None for fitted in shared.values())
    # The next K's cells let this K's fits go.
    labels_2 = hierarchical_partitions(X, np.ones(len(X)), [2], random_state=0)[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_cell(data, 2, "EVE", labels_2, SETTINGS, shared)
    assert sorted(shared) == [(2, "EVE"), (2, "VEV"), (2, "VVI")]
    for name in names:
        ours, theirs = together[name], alone[name]
        assert (ours.status, ours.reason) == (theirs.status, theirs.reason)
        assert ours.log_likelihood == theirs.log_likelihood
        assert ours.icl == theirs.icl
        np.testing.assert_array_equal(ours.estimator.covariances_, theirs.estimator.covariances_)
