"""select_model's summary numbers components from 1, as the CLI and report do."""

import numpy as np

from gaussmix import select_model


def test_clustering_table_is_one_based_and_counts_predictions():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(8, 1, (70, 2))])
    result = select_model(X, n_components=[2], covariance_types=["EII"], random_state=0)
    lines = result.summary().splitlines()
    header = lines[lines.index("Clustering table:") + 1].split()
    counts = [int(v) for v in lines[lines.index("Clustering table:") + 2].split()]
    assert header == ["1", "2"]
    # Component j of the table is index j - 1 of predict.
    assert counts == np.bincount(result.best_estimator_.predict(X), minlength=2).tolist()
    assert sorted(counts) == [40, 70]
