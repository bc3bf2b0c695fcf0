"""Time a full mclust-style sweep: 14 covariance models x K = 1..9 on 5,000 x 4 rows.

Usage::

    python benchmarks/bench_select_model.py [--rows 5000] [--n-jobs 1] [--repeats 1]

Data: a four-component mixture in four dimensions with unequal full covariances,
drawn with NumPy (seed 0). Prints the wall time of hierarchical initialisation alone,
of the whole sweep, the chosen model and the number of failed cells. CPU time of this
process is printed beside wall time: on a shared, loaded machine it is the better guide.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from gaussmix import select_model
from gaussmix.engine.core.hierarchical import HierarchicalSubsetWarning, hierarchical_partitions


def make_data(n_rows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 5, 5, 0], [5, 0, 4, 4]], dtype=float)
    factors = rng.normal(size=(4, 4, 4))
    covariances = factors @ factors.transpose(0, 2, 1) / 4 + 0.2 * np.eye(4)
    labels = rng.choice(4, size=n_rows, p=[0.4, 0.3, 0.2, 0.1])
    return np.vstack(
        [rng.multivariate_normal(means[k], covariances[k], np.sum(labels == k)) for k in range(4)]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    X = make_data(args.rows)
    warnings.simplefilter("ignore", HierarchicalSubsetWarning)
    start, cpu = time.perf_counter(), time.process_time()
    hierarchical_partitions(X, np.ones(len(X)), range(1, 10), random_state=0)
    print(
        f"hierarchical tree ({min(args.rows, 2000)} rows): {time.perf_counter() - start:.2f} s "
        f"wall, {time.process_time() - cpu:.2f} s CPU"
    )
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = select_model(X, n_jobs=args.n_jobs, random_state=0)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"select_model 14 models x K=1..9 on {X.shape[0]}x{X.shape[1]}, "
            f"n_jobs={args.n_jobs}: {elapsed:.2f} s wall, {cpu:.2f} s CPU (this process); best {result.best_params_}; "
            f"{len(result.errors_)} failed cells"
        )


if __name__ == "__main__":
    main()
