"""Time per variational iteration: gaussmix's BayesianGaussianMixture against scikit-learn's.

Run from the repository root::

    python benchmarks/bench_bayesian.py            # full run, appends to docs/benchmarks-bayesian.md
    python benchmarks/bench_bayesian.py --quick    # small data, prints only

What is measured
----------------
Both libraries fit the same data from the same initial responsibilities (scikit-learn's
``_initialize_parameters`` and gaussmix's ``_initial_responsibilities`` are overridden to
return one array) with ``tol=0``, so they run exactly the requested number of iterations.
A fit with ``1 + n`` iterations and a fit with one iteration are timed; their difference
divided by ``n`` is the time per iteration, free of validation and initialisation. Runs
alternate between the libraries and the best of the repeats is kept. The final lower
bounds must agree to 1e-6 relative (the same computation). BLAS is limited to the thread
count given by ``--threads`` for both. With one thread (the default) gaussmix's chunk
threads are off too (``GAUSSMIX_NUM_THREADS=1``) and the clock is the process's CPU time,
which other jobs on a shared machine disturb much less than wall time; with more threads
it is wall time. The target is a gaussmix / scikit-learn ratio of at most 0.33.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGMM

import gaussmix
from gaussmix import BayesianGaussianMixture

#: (label, n_samples, n_features, n_components, covariance_type, prior type)
CASES = [
    ("low-dimensional DP", 200_000, 2, 10, "full", "dirichlet_process"),
    ("medium DP", 50_000, 16, 16, "full", "dirichlet_process"),
    ("medium diagonal, Dirichlet", 50_000, 16, 16, "diag", "dirichlet_distribution"),
]
QUICK_CASES = [
    ("low-dimensional DP", 20_000, 2, 10, "full", "dirichlet_process"),
    ("medium DP", 5_000, 16, 16, "full", "dirichlet_process"),
    ("medium diagonal, Dirichlet", 5_000, 16, 16, "diag", "dirichlet_distribution"),
]
REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-bayesian.md"


class _SklearnFrom(SklearnBGMM):
    start = None

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.start)


class _OursFrom(BayesianGaussianMixture):
    start = None

    def _initial_responsibilities(self, X, weights, random_state):
        return self.start


def _data(n_samples, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    return centres[labels] + rng.normal(size=(n_samples, n_features))


#: The clock of every timing: CPU time on one thread, wall time otherwise (see `main`).
CLOCK = {"now": time.process_time, "name": "CPU time"}
TARGET_RATIO = 0.33


def _timed_fit(cls, start, X, n_iter, params):
    estimator = cls(max_iter=n_iter, tol=0.0, **params)
    estimator.start = start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        began = CLOCK["now"]()
        estimator.fit(X)
        return CLOCK["now"]() - began, estimator


def measure(case, n_iter: int, repeats: int):
    """Seconds per iteration for scikit-learn and gaussmix on one case."""
    label, n_samples, n_features, n_components, covariance_type, prior_type = case
    X = _data(n_samples, n_features, n_components)
    start = np.random.default_rng(1).dirichlet(np.ones(n_components), size=n_samples)
    params = dict(
        n_components=n_components,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
    )
    best = {"scikit-learn": np.inf, "gaussmix": np.inf}
    bounds = {}
    for _ in range(repeats):
        for name, cls in (("scikit-learn", _SklearnFrom), ("gaussmix", _OursFrom)):
            long, fitted = _timed_fit(cls, start, X, 1 + n_iter, params)
            short, _ = _timed_fit(cls, start, X, 1, params)
            best[name] = min(best[name], (long - short) / n_iter)
            bounds[name] = float(np.ravel(fitted.lower_bound_)[0])
    agreement = abs(bounds["gaussmix"] - bounds["scikit-learn"]) / abs(bounds["scikit-learn"])
    if agreement > 1e-6:
        raise AssertionError(f"{label}: lower bounds differ by {agreement:.2e} relative")
    return best, agreement


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, print only")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.threads == 1:
        os.environ["GAUSSMIX_NUM_THREADS"] = "1"
    else:
        CLOCK.update(now=time.perf_counter, name="wall time")
    rows = []
    with threadpoolctl.threadpool_limits(args.threads):
        for case in QUICK_CASES if args.quick else CASES:
            best, agreement = measure(case, args.iterations, args.repeats)
            label, n, d, k, covariance_type, prior_type = case
            rows.append(
                f"| {label} | {n:,} | {d} | {k} | {covariance_type} | "
                f"{best['scikit-learn'] * 1e3:.1f} | {best['gaussmix'] * 1e3:.1f} | "
                f"{best['scikit-learn'] / best['gaussmix']:.2f}x | "
                f"{best['gaussmix'] / best['scikit-learn']:.3f} | "
                f"{'yes' if best['gaussmix'] <= TARGET_RATIO * best['scikit-learn'] else 'no'} | "
                f"{agreement:.0e} |"
            )
            print(rows[-1], flush=True)
    header = (
        "| case | n | d | K | covariance | scikit-learn ms/iter | gaussmix ms/iter | speed-up "
        f"| ratio | ratio <= {TARGET_RATIO} | lower bound rel. diff |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    section = (
        f"\n## Run of {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
        f"{' (quick)' if args.quick else ''}\n\n"
        f"`{' '.join(['python benchmarks/bench_bayesian.py', *(argv or sys.argv[1:])])}`: "
        f"gaussmix {gaussmix.__version__}, scikit-learn {sklearn.__version__}, "
        f"NumPy {np.__version__}, Python {platform.python_version()}, {args.threads} BLAS "
        f"thread(s), {CLOCK['name']}, {args.iterations} timed iterations, best of "
        f"{args.repeats}; load average at the end {os.getloadavg()[0]:.1f}.\n\n"
        + header
        + "\n"
        + "\n".join(rows)
        + "\n"
    )
    print(section)
    if not args.quick:
        if not REPORT.exists():
            REPORT.write_text(
                "# Benchmarks: variational Bayes per iteration\n\n"
                "Produced by `benchmarks/bench_bayesian.py` (see its docstring for the method). "
                "Each run appends a section.\n"
            )
        with REPORT.open("a") as report:
            report.write(section)


if __name__ == "__main__":
    sys.exit(main())
