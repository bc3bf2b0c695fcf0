"""A cell whose EM stopped before a singular M-step is reported as singular, never chosen."""

import numpy as np

from gaussmix.selection._cells import fit_cell
from gaussmix.selection._sweep_data import sweep_data


def test_a_cell_whose_em_stopped_at_a_collapse_is_reported_singular():
    # Two VII components start on single rows with huge precision: their variance is 0
    # after the first M-step. GaussianMixture keeps the start and warns; the cell fails.
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(30, 3))
    start = {
        "weights_init": np.full(4, 0.25),
        "means_init": np.vstack([X[:2], rng.uniform(size=(2, 3))]),
        "precisions_init": np.array([1e6, 1e6, 10.0, 10.0])[:, None, None] * np.eye(3),
        "reg_covar": 0.0,
    }
    data = sweep_data(X, None, marginalize=False, random_state=0)
    cell = fit_cell(data, 4, "VII", None, start)
    # The reason names the collapse (the flat-set wording when the M-step says so).
    assert cell.status == "failed"
    assert cell.reason.startswith(
        (
            "singular covariance (a component collapsed)",
            "a component holds its weight on (almost) a single point",
        )
    )
    assert np.isnan(cell.bic)
