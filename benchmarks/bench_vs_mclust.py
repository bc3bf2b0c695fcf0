"""Model selection against R's mclust: the same rows, the same run, interleaved, wall time.

Run from the repository root (R with the mclust and jsonlite packages must be installed;
R is a benchmark tool only, never a dependency of gaussmix or its tests)::

    python benchmarks/bench_vs_mclust.py                 # writes docs/benchmarks-mclust.md
    python benchmarks/bench_vs_mclust.py --quick         # small tables, one repeat, prints only
    python benchmarks/bench_vs_mclust.py --only iris,acidity --repeats 5
    python benchmarks/bench_vs_mclust.py --all           # adds the 30-column table (long)

What is measured
----------------
For each data set, R's ``Mclust(X, G = 1:9)`` (mclust's defaults: every model its
dimension allows, hierarchical start on SVD-scaled data, no prior) against
``select_model(X, n_components=range(1, 10), covariance_types=..., init_params=
"hierarchical", reg_covar=0)`` with select_model's sweep defaults (``tol=1e-5``,
``max_iter=1000``, as mclust's ``emControl``), ``covariance_types="all"``: on one column
both fit two models (mclust's E and V, gaussmix's EII and VII, to which the fourteen
reduce there). The R side is timed inside R (``system.time`` around ``Mclust`` only, so R's
start-up and the CSV read are excluded); gaussmix is timed around ``select_model`` in this
process. Each repeat runs R then gaussmix on every data set before the next repeat
starts, so both see the same machine load; the median over repeats is reported with the
spread (min-max) that shows how noisy the machine was.

The R code is generated at run time into a temporary file; CSV files of the data are
written to a temporary directory (USArrests, acidity and GvHD.pos come from R itself).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris

import gaussmix
from gaussmix import select_model
from gaussmix.datasets import load_diabetes, load_faithful

#: R code run per fit: read the CSV, time Mclust alone, print the result as JSON.
R_FIT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({library(mclust); library(jsonlite)})
X <- as.matrix(read.csv(args[1]))
if (ncol(X) == 1) X <- X[, 1]
timing <- system.time(fit <- Mclust(X, G = 1:9, verbose = FALSE))
cat(toJSON(list(elapsed = timing[["elapsed"]],
                cpu = timing[["user.self"]] + timing[["sys.self"]],
                model = fit$modelName, G = fit$G, bic = fit$bic,
                version = as.character(packageVersion("mclust")),
                r = R.version.string),
           auto_unbox = TRUE, digits = NA))
"""

#: R code that writes R's own data sets to CSV files in a directory.
R_EXPORT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(mclust))
data(acidity); data(GvHD)
write.csv(USArrests, file.path(args[1], "USArrests.csv"), row.names = FALSE)
write.csv(data.frame(acidity = as.numeric(acidity)), file.path(args[1], "acidity.csv"),
          row.names = FALSE)
write.csv(GvHD.pos, file.path(args[1], "GvHD.pos.csv"), row.names = FALSE)
"""

#: Data sets in the order of the report, and which runs include them: "quick" (also the
#: default run), "default", or "all" only (mclust on the 30-column table ran 17 minutes
#: without finishing on the shared 2-core machine, beyond the default run's ~10 minutes).
DATASETS = [
    ("iris", "quick"),
    ("faithful", "quick"),
    ("diabetes", "quick"),
    ("USArrests", "quick"),
    ("acidity", "quick"),
    ("GvHD.pos", "default"),
    ("wdbc10", "default"),
    ("breast-cancer", "all"),
]

DESCRIPTIONS = {
    "iris": "iris (scikit-learn)",
    "faithful": "faithful (bundled)",
    "diabetes": "diabetes (bundled)",
    "USArrests": "USArrests (R datasets)",
    "acidity": "acidity (mclust, 1-d)",
    "GvHD.pos": "GvHD.pos (mclust)",
    "wdbc10": "wdbc, first 10 columns",
    "breast-cancer": "breast cancer, 30 columns",
}


@dataclass
class Outcome:
    """Timings and the best model of one side on one data set."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    model: str = ""
    bic: float = float("nan")  # mclust's sign: 2 log L - p log n, higher is better

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def run_r(code: str, *args: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as script:
        script.write(code)
    try:
        done = subprocess.run(
            ["Rscript", "--vanilla", script.name, *args],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(script.name)
    return done.stdout


def load_data(name: str, directory: Path) -> np.ndarray:
    if name == "iris":
        return load_iris().data
    if name == "faithful":
        return load_faithful().to_numpy(dtype=float)
    if name == "diabetes":
        return load_diabetes().drop(columns="class").to_numpy(dtype=float)
    if name == "wdbc10":
        return load_breast_cancer().data[:, :10]
    if name == "breast-cancer":
        return load_breast_cancer().data
    return np.loadtxt(directory / f"{name}.csv", delimiter=",", skiprows=1, ndmin=2)


def fit_mclust(path: Path) -> tuple[float, float, str, float, str]:
    answer = json.loads(run_r(R_FIT, str(path)))
    model = f"{answer['model']},{answer['G']}"
    version = f"{answer['r']}, mclust {answer['version']}"
    return float(answer["elapsed"]), float(answer["cpu"]), model, float(answer["bic"]), version


def fit_gaussmix(X: np.ndarray) -> tuple[float, float, str, float]:
    # On one column "all" is EII and VII, as mclust fits E and V there (select_model's own rule).
    models = "all"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start, cpu = time.perf_counter(), time.process_time()
        result = select_model(
            X,
            n_components=range(1, 10),
            covariance_types=models,
            init_params="hierarchical",
            reg_covar=0,
        )
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    best = result.best_params_
    name = best["covariance_type"]  # on one feature already mclust's E or V
    return elapsed, cpu, f"{name},{best['n_components']}", -float(result.best_score_)


def machine_notes() -> str:
    try:
        load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} logical CPUs ({cpu}); load average {load} (1 / 5 / 15 min)"


def render(command, rows, versions, notes_before, notes_after, total_seconds) -> str:
    lines = [
        "# Model selection against R's mclust",
        "",
        "Produced by `benchmarks/bench_vs_mclust.py`; see its docstring for what is timed.",
        "",
        f"Command: `{command}`",
        "",
        f"- gaussmix {gaussmix.__version__}, NumPy {np.__version__}, Python "
        f"{platform.python_version()}; {versions}",
        f"- Machine at start: {notes_before}",
        f"- Machine at end: {notes_after}",
        f"- Whole run: {total_seconds / 60:.1f} min",
        "",
        "Both sides: every covariance model mclust fits on the data's dimension, K = 1..9, "
        "hierarchical start, no regularisation. R is timed inside R (`system.time` around "
        "`Mclust`), gaussmix around `select_model`; wall time, median of the repeats with "
        "the range (min-max) in brackets; CPU time (median) beside it, the steadier guide on a "
        "loaded machine (both sides run single-threaded). BIC in mclust's sign (higher is better). The "
        "machine is shared: on a loaded machine the ranges show how far one run can drift.",
        "",
        "| data | rows × cols | repeats | mclust s | gaussmix s | gaussmix / mclust "
        "| CPU s: mclust / gaussmix | mclust best | gaussmix best | mclust BIC | gaussmix BIC |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for name, X, r_side, py_side in rows:
        ratio = py_side.median / r_side.median
        ratios.append(ratio)
        lines.append(
            f"| {DESCRIPTIONS[name]} | {X.shape[0]:,} × {X.shape[1]} | {len(r_side.seconds)} "
            f"| {r_side.median:.2f} ({r_side.spread}) | {py_side.median:.2f} ({py_side.spread}) "
            f"| {ratio:.2f} | {statistics.median(r_side.cpu):.2f} / "
            f"{statistics.median(py_side.cpu):.2f} | {r_side.model} | {py_side.model} | {r_side.bic:.2f} "
            f"| {py_side.bic:.2f} |"
        )
    lines += [
        "",
        f"Median ratio {statistics.median(ratios):.2f}, worst {max(ratios):.2f}, best "
        f"{min(ratios):.2f} (target: median ≤ 1.0, worst ≤ 2.0).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small tables, 1 repeat, print only")
    parser.add_argument("--all", action="store_true", help="add the 30-column table (long)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the small tables")
    parser.add_argument(
        "--large-repeats", type=int, default=1, help="repeats of tables above 2,000 cells"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated data set names (any, even outside the run)"
    )
    parser.add_argument("--output", default="docs/benchmarks-mclust.md")
    args = parser.parse_args(argv)
    if shutil.which("Rscript") is None:
        sys.exit(
            "Rscript not found: install R with mclust and jsonlite (r-cran-mclust r-cran-jsonlite)."
        )
    runs = {"quick"} if args.quick else {"quick", "default"} | ({"all"} if args.all else set())
    names = [name for name, run in DATASETS if run in runs]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {name for name, _ in DATASETS}
        if unknown:
            sys.exit(f"unknown data sets {sorted(unknown)}; choose from {[n for n, _ in DATASETS]}")
        names = [name for name, _ in DATASETS if name in wanted]  # any data set, by name
    command = "python benchmarks/bench_vs_mclust.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    started = time.perf_counter()
    notes_before = machine_notes()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run_r(R_EXPORT, str(directory))
        data = {}
        for name in names:
            X = load_data(name, directory)
            path = directory / f"{name}.input.csv"
            np.savetxt(
                path,
                X,
                delimiter=",",
                header=",".join(f"x{j}" for j in range(X.shape[1])),
                comments="",
                fmt="%.17g",
            )
            data[name] = (X, path)
        # A tiny sweep first, so that lazy imports are not charged to the first data set.
        fit_gaussmix(load_iris().data[:40, :2])
        results = {name: (Outcome(), Outcome()) for name in names}
        versions = ""

        def repeats_of(X):
            if args.quick:
                return 1
            return args.repeats if X.size <= 2000 else args.large_repeats

        max_repeats = max(repeats_of(X) for X, _ in data.values())
        for repeat in range(max_repeats):
            for name in names:
                X, path = data[name]
                if repeat >= repeats_of(X):
                    continue
                r_side, py_side = results[name]
                seconds, cpu, r_side.model, r_side.bic, versions = fit_mclust(path)
                r_side.seconds.append(seconds)
                r_side.cpu.append(cpu)
                seconds, cpu, py_side.model, py_side.bic = fit_gaussmix(X)
                py_side.seconds.append(seconds)
                py_side.cpu.append(cpu)
                print(
                    f"[{repeat + 1}] {name:14s} {X.shape[0]:>6} x {X.shape[1]:<3} "
                    f"mclust {r_side.seconds[-1]:7.2f} s ({r_side.model}, {r_side.bic:.2f})   "
                    f"gaussmix {py_side.seconds[-1]:7.2f} s ({py_side.model}, {py_side.bic:.2f})   "
                    f"CPU s {r_side.cpu[-1]:.2f} / {py_side.cpu[-1]:.2f}",
                    flush=True,
                )
    rows = [(name, data[name][0], *results[name]) for name in names]
    report = render(
        command.strip(),
        rows,
        versions,
        notes_before,
        machine_notes(),
        time.perf_counter() - started,
    )
    print(report)
    if not args.quick:
        Path(args.output).write_text(report)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
