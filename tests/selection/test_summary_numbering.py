"""select_model's summary numbers components from 1 by weight, as the CLI and report do,
and says why cells failed."""

import numpy as np

from gaussmix import select_model


def test_clustering_table_is_one_based_heaviest_first_and_counts_predictions():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(8, 1, (70, 2))])
    result = select_model(X, n_components=[2], covariance_types=["EII"], random_state=0)
    lines = result.summary().splitlines()
    header = lines[lines.index("Clustering table:") + 1].split()
    counts = [int(v) for v in lines[lines.index("Clustering table:") + 2].split()]
    assert header == ["1", "2"]
    # Component j of the table is the j-th heaviest: here the 70-row cluster first,
    # whatever order EM left the components in.
    assert counts == [70, 40]
    best = result.best_estimator_
    heaviest_first = np.argsort(-best.weights_, kind="stable")
    assert counts == np.bincount(best.predict(X), minlength=2)[heaviest_first].tolist()


def test_summary_lists_why_cells_failed_instead_of_pointing_at_errors_():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 2))
    result = select_model(
        X, n_components=[1, 2, 6, 7], covariance_types=["VVV", "EII"], random_state=0
    )
    text = result.summary()
    assert "errors_" not in text
    assert f"{len(result.errors_)} of 8 cells could not be fitted:" in text
    for reason in set(result.errors_["reason"]):
        assert reason in text
    for row in result.errors_.itertuples():
        line = next(line for line in text.splitlines() if row.reason in line)
        assert row.covariance_type in line and str(row.n_components) in line
