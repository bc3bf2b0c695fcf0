"""The compiled kernels against the NumPy path: where each is faster, and what compiling costs.

Run from the repository root::

    python benchmarks/bench_compiled.py            # writes docs/benchmarks-compiled.md
    python benchmarks/bench_compiled.py --quick    # fewer sizes, prints only

What is measured
----------------
1. **Per iteration**: ``GaussianMixture`` fits the same rows from the same start
   (``means_init``, ``weights_init``, ``precisions_init``, ``tol=0``) once with 1 and
   once with ``1 + n`` iterations; the difference over ``n`` is the time of one
   iteration. Each size runs with the kernels (``GAUSSMIX_COMPILED=1``) and without
   (``0``), alternating, in one process, one BLAS thread, CPU time, best of the repeats.
   The models (``--models``): VVV and VVI (the whole loop compiled, closed-form
   M-steps), VEI, VEE, VEV (the whole loop, iterative M-steps), EEV (the whole loop,
   eigendecompositions) and VVE (E-step and M-step compiled, the loop in Python). The row says where
   ``worth_compiling`` sends a fit of that size, so the threshold can be checked
   against the measurement.
2. **First use**: in fresh processes, the wall time of ``import gaussmix`` plus one
   small VVV fit (the whole-loop kernel) and one small VVE fit (its E-step and M-step),
   with an empty Numba cache (compiling) and again with the cache just written
   (loading).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import threadpoolctl

import gaussmix.engine.kernels as kernels
from gaussmix import GaussianMixture
from gaussmix.engine.kernels import ENVIRONMENT_SWITCH, worth_compiling

#: The size bound of `worth_compiling`, lifted while the compiled side is timed.
DEFAULT_MAX_WORK = kernels._MAX_WORK

SIZES = [  # (n_samples, n_features, n_components)
    (150, 4, 3),
    (2_000, 4, 3),
    (5_000, 4, 3),  # just above worth_compiling's bound
    (9_083, 4, 9),  # GvHD.pos's size with the sweep's largest K
    (20_000, 4, 3),
    (2_000, 16, 8),
    (20_000, 8, 8),
    (100_000, 4, 3),
]
QUICK_SIZES = [(150, 4, 3), (2_000, 4, 3), (20_000, 8, 8)]
MODELS = ["VVV", "VVI", "VEI", "VEE", "VEV", "EEV", "VVE"]


def make_rows(n_samples, n_features, n_components, seed=0):
    """Rows from ``n_components`` overlapping spherical Gaussians."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_components, n_features))
    labels = rng.integers(0, n_components, size=n_samples)
    return centres[labels] + rng.normal(size=(n_samples, n_features))


def fit_seconds(X, name, start, max_iter, compiled):
    """CPU seconds of one fit from ``start`` with exactly ``max_iter`` iterations.

    The compiled side runs compiled at every size (the size bound is lifted), so that
    the table shows where the bound should lie.
    """
    os.environ[ENVIRONMENT_SWITCH] = "1" if compiled else "0"
    kernels._MAX_WORK = 10**15 if compiled else DEFAULT_MAX_WORK
    estimator = GaussianMixture(
        len(start["weights_init"]), covariance_type=name, tol=0.0, max_iter=max_iter, **start
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began = time.process_time()
        estimator.fit(X)
        return time.process_time() - began


def per_iteration(X, name, n_components, n_iter, repeats):
    """Best per-iteration CPU seconds, compiled and NumPy, from one start."""
    seed = GaussianMixture(n_components, covariance_type=name, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed.fit(X)
    start = dict(
        means_init=seed.means_, weights_init=seed.weights_, precisions_init=seed.precisions_
    )
    for compiled in (True, False):  # kernels and caches loaded before any timing
        fit_seconds(X, name, start, 1, compiled)
    # The best of each length, then their difference: the best of the differences would
    # keep a repeat whose short fit alone was slowed (VVE at 150 x 4 came out negative).
    one = {True: np.inf, False: np.inf}
    many = {True: np.inf, False: np.inf}
    for _ in range(repeats):
        for compiled in (True, False):
            one[compiled] = min(one[compiled], fit_seconds(X, name, start, 1, compiled))
            many[compiled] = min(many[compiled], fit_seconds(X, name, start, 1 + n_iter, compiled))
    return tuple((many[side] - one[side]) / n_iter for side in (True, False))


_FIRST_USE = """
import time
began = time.perf_counter()
import numpy as np
from gaussmix import GaussianMixture
X = np.random.default_rng(0).normal(size=(150, 4))
GaussianMixture(3, covariance_type="VVV", random_state=0).fit(X)
GaussianMixture(3, covariance_type="VVE", random_state=0).fit(X)
print(time.perf_counter() - began)
"""


def first_use_seconds():
    """Wall seconds of import + two small fits: compiling, then loading the cache."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache, ENVIRONMENT_SWITCH: "1"}
        times = []
        for _ in range(2):
            output = subprocess.run(
                [sys.executable, "-c", _FIRST_USE],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(output.stdout.strip().splitlines()[-1]))
    off = subprocess.run(
        [sys.executable, "-c", _FIRST_USE],
        env={**os.environ, ENVIRONMENT_SWITCH: "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    return times[0], times[1], float(off.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=MODELS, metavar="MODEL")
    parser.add_argument("--output", default="docs/benchmarks-compiled.md")
    args = parser.parse_args(argv)
    command = "python benchmarks/bench_compiled.py " + " ".join(argv or sys.argv[1:])
    load_before = os.getloadavg()
    compiling, loading, numpy_only = first_use_seconds()
    lines = [
        "# Benchmark: compiled kernels against the NumPy path",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} at the start (shared: "
        "CPU times are the guide). One BLAS thread.",
        "",
        "## First use",
        "",
        "Fresh processes: `import gaussmix`, one small VVV fit and one small VVE fit "
        "(wall seconds).",
        "",
        "| Numba cache | seconds |",
        "|---|---|",
        f"| empty (compiles the kernels) | {compiling:.1f} |",
        f"| written by the run above (loads them) | {loading:.1f} |",
        f"| kernels off (`{ENVIRONMENT_SWITCH}=0`) | {numpy_only:.1f} |",
        "",
        "## Per EM iteration",
        "",
        f"CPU ms per iteration, best of {args.repeats} alternating repeats of at least "
        f"{args.iterations} iterations (more on small tables) from the same start; the "
        "compiled side is compiled at every size, the last column says where "
        "`worth_compiling` sends a fit by default.",
        "",
        "| N | d | K | model | compiled ms | NumPy ms | NumPy / compiled | compiled by default |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    with threadpoolctl.threadpool_limits(1):
        for n_samples, n_features, n_components in QUICK_SIZES if args.quick else SIZES:
            X = make_rows(n_samples, n_features, n_components)
            n_iter = max(args.iterations, min(200, 200_000 // (n_samples * n_components)))
            for name in args.models:
                compiled, numpy_path = per_iteration(X, name, n_components, n_iter, args.repeats)
                line = (
                    f"| {n_samples:,} | {n_features} | {n_components} | {name} | "
                    f"{1000 * compiled:.3f} | {1000 * numpy_path:.3f} | "
                    f"{numpy_path / compiled:.1f} | "
                    f"{'yes' if worth_compiling(n_samples, n_features, n_components) else 'no'} |"
                )
                lines.append(line)
                print(line, flush=True)
    load_after = os.getloadavg()
    lines += ["", f"Load average at the end: {load_after[0]:.1f}."]
    if not args.quick:
        with open(args.output, "w") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
