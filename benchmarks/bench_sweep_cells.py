"""Where a `select_model` sweep spends its time: every cell timed, per covariance model.

Run from the repository root::

    python benchmarks/bench_sweep_cells.py                        # breast cancer, 569 x 30
    python benchmarks/bench_sweep_cells.py --data iris --models VVV,VVE
    python benchmarks/bench_sweep_cells.py --models EVE,VVE --cells     # one row per cell

The sweep is `select_model`'s own (the same hierarchical partitions, the same
``fit_cell`` with its defaults, as ``gaussmix fit`` runs it), but each cell is timed on
its own (CPU time of this process, one BLAS thread) and its EM iterations are counted.
Prints a Markdown table: per model, the seconds summed over K, the iterations, the
milliseconds per iteration, the slowest K and the cells that stopped at ``max_iter``
or failed. With ``--cells``, one row per cell instead: CPU seconds, EM iterations, status
and log-likelihood, to compare two versions cell by cell (a change of speed must not
change the fits).
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_breast_cancer, load_iris
from threadpoolctl import threadpool_limits

from gaussmix.engine.core.hierarchical import hierarchical_partitions
from gaussmix.engine.covariance.models import MODELS
from gaussmix.selection._cells import fit_cell
from gaussmix.selection._select import SWEEP_DEFAULTS
from gaussmix.selection._sweep_data import sweep_data

DATA = {
    "breast-cancer": lambda: load_breast_cancer().data,
    "wdbc10": lambda: load_breast_cancer().data[:, :10],
    "iris": lambda: load_iris().data,
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="breast-cancer")
    parser.add_argument("--models", default="all", help="comma-separated mclust codes")
    parser.add_argument("--max-k", type=int, default=9)
    parser.add_argument("--cells", action="store_true", help="one row per cell")
    args = parser.parse_args(argv)
    X = DATA[args.data]()
    models = list(MODELS) if args.models == "all" else args.models.split(",")
    ks = list(range(1, args.max_k + 1))
    warnings.simplefilter("ignore")
    data = sweep_data(X, None, marginalize=False, random_state=0)
    start = time.process_time()
    partitions = hierarchical_partitions(data.start_rows, data.start_weights, ks, random_state=0)
    print(f"{args.data} {X.shape[0]} x {X.shape[1]}: tree {time.process_time() - start:.2f} s CPU")
    params = {**SWEEP_DEFAULTS, "random_state": 0}
    if args.cells:
        _print_cells(data, models, ks, partitions, params)
        return
    print(
        "| model | CPU s (K = 1..9) | iterations | ms / iteration | slowest K (s) "
        "| max_iter cells | failed cells |"
    )
    print("|---|---|---|---|---|---|---|")
    total = 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for name in models:
            seconds, iterations, slowest, stopped, failed = 0.0, 0, (0, 0.0), [], []
            for k in ks:
                start = time.process_time()
                cell = fit_cell(data, k, name, partitions[k], params)
                elapsed = time.process_time() - start
                seconds += elapsed
                if elapsed > slowest[1]:
                    slowest = (k, elapsed)
                if cell.estimator is not None:
                    iterations += int(cell.estimator.n_iter_)
                if cell.status == "max_iter":
                    stopped.append(k)
                elif cell.status == "failed":
                    failed.append(k)
            total += seconds
            per_iteration = 1000 * seconds / iterations if iterations else float("nan")
            print(
                f"| {name} | {seconds:.2f} | {iterations} | {per_iteration:.2f} "
                f"| {slowest[0]} ({slowest[1]:.2f}) | {stopped or '-'} | {failed or '-'} |",
                flush=True,
            )
    print(f"total {total:.1f} s CPU")


def _print_cells(data, models, ks, partitions, params) -> None:
    print("| model | K | CPU s | EM iterations | status | log-likelihood |")
    print("|---|---|---|---|---|---|")
    total = 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for name in models:
            for k in ks:
                start = time.process_time()
                cell = fit_cell(data, k, name, partitions[k], params)
                elapsed = time.process_time() - start
                total += elapsed
                fitted = cell.estimator is not None
                iterations = int(cell.estimator.n_iter_) if fitted else "-"
                loglik = f"{cell.log_likelihood:.4f}" if fitted else "-"
                print(
                    f"| {name} | {k} | {elapsed:.2f} | {iterations} | {cell.status} | {loglik} |",
                    flush=True,
                )
    print(f"total {total:.1f} s CPU")


if __name__ == "__main__":
    main()
