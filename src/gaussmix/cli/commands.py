"""``gaussmix fit``, ``predict``, ``sample`` and ``info``."""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..estimators.display import component_order, display_labels
from ..io._json import atomic_output
from ._bayesian_options import fit_bayesian, map_covariance_types
from ._chunked import (
    missing_values_in_cli_terms,
    numbered_sample,
    open_chunked,
    reads_in_chunks,
    write_assignments_in_batches,
)
from ._data import MISSING_CHOICES, CsvLayout, csv_layout_options, parse_columns, read_table
from ._errors import CLIError
from ._model_file import Preparation, load_model_file, save_model_file
from ._options import CellProgressBar, parse_components, parse_covariance_types, status
from ._outputs import StagedFolder, assignments, write_table
from ._summary import single_model_summary

__all__ = ["fit", "predict", "sample", "info"]

_CRITERIA = ("bic", "aic", "icl")
#: Rows of a big file the report describes (drawn at random, in one pass).
REPORT_SAMPLE_ROWS = 100_000
_SMALL_DATA_VALUES = 200_000


def _command_line() -> str:
    return "gaussmix " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _missing_option(marginalize_help: str):
    """The ``--missing`` option; ``marginalize_help`` says what marginalising means here."""
    return click.option(
        "--missing",
        type=click.Choice(list(MISSING_CHOICES)),
        default="error",
        show_default=True,
        help="What to do with missing values: refuse them, drop their rows, or marginalize "
        + marginalize_help,
    )


def model_frame(model, values: np.ndarray) -> object:
    """The model's input: a DataFrame when it was fitted with column names, else an array."""
    if getattr(model, "feature_names_in_", None) is None:
        return values
    return pd.DataFrame(values, columns=list(model.feature_names_in_))


@click.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--components",
    default="1-9",
    show_default=True,
    help="Numbers of components to try: a number, a range (1-9) or a list (1,2,5).",
)
@click.option(
    "--covariance-types",
    default="all",
    show_default=True,
    help="Covariance models to try: 'all' or a comma-separated list (full,diag,VVV,EEI,...).",
)
@click.option(
    "--criterion",
    type=click.Choice(_CRITERIA, case_sensitive=False),
    default="bic",
    show_default=True,
    help="Model selection criterion (lower is better).",
)
@click.option(
    "--columns", default=None, help="Comma-separated feature columns (default: all numeric)."
)
@click.option("--standardize", is_flag=True, help="Scale every feature to mean 0, sd 1 first.")
@click.option(
    "--contamination",
    type=click.FloatRange(0.0, 0.5),
    default=0.05,
    show_default=True,
    help="Fraction of rows flagged as anomalies (lowest density).",
)
@_missing_option("(EM on each row's observed values; every row is assigned).")
@click.option(
    "--method",
    type=click.Choice(["em", "variational", "dp"]),
    default="em",
    show_default=True,
    help="em: select K and model by the criterion. variational / dp: one Bayesian mixture "
    "(Dirichlet / Dirichlet-process prior) with max(--components) components, pruned to "
    "those with weight >= 1%.",
)
@click.option(
    "--prior",
    type=click.Choice(["none", "default"]),
    default="none",
    show_default=True,
    help="'default': MAP-EM with mclust's conjugate prior (models EII VII EEI VVI EEE VVV).",
)
@click.option(
    "--out-of-core/--in-memory",
    "out_of_core",
    default=None,
    help="Read a Parquet file in row batches, never whole (default: when its numeric "
    "columns exceed 1 GiB as float64).",
)
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed of the fits.")
@csv_layout_options
@click.option("--quiet", "-q", is_flag=True, help="No progress output and no summary.")
def fit(
    data,
    out,
    components,
    covariance_types,
    criterion,
    columns,
    standardize,
    contamination,
    missing,
    method,
    prior,
    out_of_core,
    random_state,
    header,
    skip_rows,
    quiet,
):
    """Fit mixtures to DATA (CSV, Parquet or .npy), choose the best, write results to --out.

    Writes model.json, assignments.csv (one row per data row: component, probabilities,
    uncertainty, log-density, anomaly flag), selection.csv (the criterion for every
    number of components and covariance model) and report.html.
    """
    from ..estimators import AnomalyDetector
    from ..report import build_report, write_report
    from ..selection import select_model

    ks = parse_components(components)
    models = parse_covariance_types(covariance_types)
    prior_params = {} if prior == "none" else {"prior": "default"}
    if prior_params:
        models = map_covariance_types(models, covariance_types)
    if missing == "marginalize" and method != "em":
        raise CLIError(
            f"--method {method} cannot fit missing values; use --method em with "
            "--missing marginalize, or --missing drop."
        )
    missing_params = {"missing": "marginalize"} if missing == "marginalize" else {}
    layout = CsvLayout(header, skip_rows)
    if reads_in_chunks(data, out_of_core):
        if not layout.is_default:  # a Parquet file names its columns itself
            raise CLIError("--header and --skip-rows describe CSV/TSV files; drop them here.")
        inputs = _chunked_inputs(data, parse_columns(columns), missing, standardize, random_state)
    else:
        inputs = _in_memory_inputs(data, parse_columns(columns), missing, standardize, layout)
    notes = list(inputs.notes)
    if standardize:
        notes.append("features standardised to mean 0, sd 1 (model parameters are in those units)")

    start = time.perf_counter()
    # Small data: one BLAS/OpenMP thread per fit avoids oversubscribing the machine.
    small = inputs.n_values < _SMALL_DATA_VALUES
    threads = threadpool_limits(limits=1) if small else contextlib.nullcontext()
    with threads:
        if method == "em":
            description = f"{len(ks)} K x {len(models)} models"
            with CellProgressBar(len(ks) * len(models), description, quiet) as bar:
                result = select_model(
                    inputs.model_input,
                    n_components=ks,
                    covariance_types=models,
                    criterion=criterion.lower(),
                    random_state=random_state,
                    progress=bar.callback,
                    **prior_params,
                    **missing_params,
                )
            model = result.best_estimator_
        else:
            status(f"Fitting a {method} Bayesian mixture...", quiet)
            result = None
            model, note = fit_bayesian(
                inputs.model_input, method, ks, models, covariance_types, random_state
            )
            notes.append(note)
    detector = AnomalyDetector.from_fitted_mixture(
        model, inputs.model_input, contamination=contamination
    )
    status(f"Fitted in {time.perf_counter() - start:.1f} s; writing results...", quiet)

    with StagedFolder(out) as folder:
        save_model_file(
            folder.path("model.json"),
            model,
            inputs.preparation,
            detector.threshold_,
            {"command": _command_line(), "criterion": criterion.lower()},
        )
        n_rows, flagged = inputs.write_assignments(
            model, detector.threshold_, folder.path("assignments.csv")
        )
        if result is not None:
            result.table_.copy().to_csv(folder.path("selection.csv"))
        html = build_report(
            model,
            inputs.report_data,
            selection=result,
            detector=detector,
            command=_command_line(),
            title=f"gaussmix fit: {data}",
            notes=notes,
        )
        write_report(html, folder.path("report.html"))
        written = [folder.final(name) for name in folder.names]
    if not quiet:
        for note in notes:  # first: a dropped column or row changes what the summary means
            click.echo(f"Note: {note}")
        if result is not None:
            click.echo(result.summary())
        else:  # one Bayesian fit: no selection table, but the same summary of its model
            n_rows_total = inputs.n_values // model.n_features_in_
            click.echo(single_model_summary(model, inputs.report_data, n_rows_total))
        click.echo(f"Anomalies: {flagged} of {n_rows} rows (contamination {contamination:g}).")
        click.echo("Wrote:")
        for path in written:
            click.echo(f"  {path}")


@dataclass
class _FitInputs:
    """The data of ``gaussmix fit``, in memory or read in batches.

    Attributes
    ----------
    model_input : DataFrame or data source
        What the estimators fit (already standardised if asked).
    preparation : Preparation
        Columns and standardisation, saved with the model.
    notes : list of str
    report_data : DataFrame
        Rows the report's figures show (all of them, or a random sample).
    n_values : int
        Rows x features.
    write_assignments : callable
        ``write_assignments(model, threshold, path) -> (rows written, rows flagged)``.
    """

    model_input: object
    preparation: Preparation
    notes: list[str]
    report_data: pd.DataFrame
    n_values: int
    write_assignments: Callable[..., tuple[int, int]]


def _in_memory_inputs(data, columns, missing, standardize, layout) -> _FitInputs:
    table = read_table(data, columns, missing, layout)
    preparation = Preparation.fit(table.data, standardize)
    frame = pd.DataFrame(preparation.transform(table.data), columns=preparation.columns)

    def write(model, threshold, path):
        rows = assignments(model, frame, table.row_ids, threshold)
        write_table(rows, path)
        return len(rows), int(rows["anomaly"].sum()) if "anomaly" in rows else 0

    return _FitInputs(
        frame,
        preparation,
        list(table.notes),
        # Indexed by row number in the file, as assignments.csv (rows may have been dropped).
        (frame if standardize else table.data).set_axis(pd.Index(table.row_ids, name="row")),
        frame.size,
        write,
    )


def _chunked_inputs(data, columns, missing, standardize, random_state) -> _FitInputs:
    from ..engine.sources.standardized import StandardizedSource

    table = open_chunked(data, columns, missing)
    source = table.source
    if standardize:
        preparation = Preparation.from_moments(table.columns, table.moments)
        source = StandardizedSource(source, preparation.center, preparation.scale)
    else:
        preparation = Preparation(list(table.columns))
    sample = numbered_sample(source, REPORT_SAMPLE_ROWS, np.random.RandomState(random_state))
    notes = list(table.notes)
    if len(sample) < source.n_samples:
        notes.append(
            f"the report's tables and figures describe a random sample of "
            f"{len(sample):,} rows (the selection and assignments use every row)"
        )

    def frame_of(values):
        return pd.DataFrame(values, columns=preparation.columns)

    def write(model, threshold, path):
        return write_assignments_in_batches(model, source, threshold, path, frame_of)

    return _FitInputs(
        source,
        preparation,
        notes,
        sample,
        source.n_samples * source.n_features,
        write,
    )


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
@click.argument("data", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out", required=True, help="Output file (.csv, .tsv, .parquet).")
@_missing_option("(assign each row from its observed values).")
@click.option(
    "--out-of-core/--in-memory",
    "out_of_core",
    default=None,
    help="Read a Parquet file in row batches and write --out (.csv) batch by batch "
    "(default: when its numeric columns exceed 1 GiB as float64).",
)
@csv_layout_options
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def predict(model_path, data, out, missing, out_of_core, header, skip_rows, quiet):
    """Assign the rows of DATA with a MODEL written by gaussmix fit (same columns as
    assignments.csv)."""
    loaded = load_model_file(model_path)
    preparation = loaded.preparation
    layout = CsvLayout(header, skip_rows)
    if reads_in_chunks(data, out_of_core):
        if not layout.is_default:
            raise CLIError("--header and --skip-rows describe CSV/TSV files; drop them here.")
        n_rows = _predict_in_batches(loaded, data, out, missing)
        if not quiet:
            click.echo(f"Wrote {n_rows} assignments to {out}")
        return
    table = read_table(
        data, None if preparation.positional else preparation.columns, missing, layout
    )
    values = loaded.preparation.transform(table.data)
    if values.shape[1] != loaded.model.n_features_in_:
        raise CLIError(
            f"the model expects {loaded.model.n_features_in_} features, the data give "
            f"{values.shape[1]}; pass data with the model's columns."
        )
    if missing == "marginalize":
        _assign_from_observed_values(loaded.model)
    rows = assignments(
        loaded.model,
        model_frame(loaded.model, values),
        table.row_ids,
        loaded.threshold,
    )
    write_table(rows, out)
    if not quiet:
        click.echo(f"Wrote {len(rows)} assignments to {out}")


def _predict_in_batches(loaded, data, out, missing) -> int:
    """``gaussmix predict`` on a Parquet file read in batches, written batch by batch."""
    from ..engine.sources.standardized import StandardizedSource

    preparation = loaded.preparation
    if not str(out).lower().endswith(".csv"):
        raise CLIError(
            "out-of-core predictions are written as CSV: name --out *.csv, or pass "
            "--in-memory to write another format."
        )
    if preparation.positional:
        raise CLIError(
            "this model was saved without column names; out-of-core prediction needs them "
            "(refit it on a table with named columns, or pass --in-memory)."
        )
    table = open_chunked(data, preparation.columns, missing, scan=False)
    source = table.source
    if preparation.center is not None:
        source = StandardizedSource(source, preparation.center, preparation.scale)
    if missing == "marginalize":
        _assign_from_observed_values(loaded.model)

    def frame_of(values):
        return model_frame(loaded.model, values)

    with missing_values_in_cli_terms(data, missing), atomic_output(Path(out)) as temporary:
        n_rows, _ = write_assignments_in_batches(
            loaded.model, source, loaded.threshold, temporary, frame_of
        )
    return n_rows


def _assign_from_observed_values(model) -> None:
    """Let a loaded model assign rows with missing values (inference only: the fit is as
    saved)."""
    if not hasattr(model, "impute"):
        raise CLIError(
            f"a {type(model).__name__} cannot assign rows with missing values; "
            "use --missing drop."
        )
    model.set_params(missing="marginalize")


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "-n",
    "n_samples",
    type=click.IntRange(1, 10_000_000),
    required=True,
    help="Number of rows to draw.",
)
@click.option("--out", "out", required=True, help="Output file (.csv, .tsv, .parquet, .npy).")
@click.option("--random-state", type=int, default=None, help="Seed of the draws.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def sample(model_path, n_samples, out, random_state, quiet):
    """Draw -n rows from MODEL (in the data's original units) with their component."""
    loaded = load_model_file(model_path)
    model = loaded.model
    model.set_params(random_state=random_state)
    values, labels = model.sample(n_samples)
    frame = pd.DataFrame(
        loaded.preparation.inverse(np.asarray(values, dtype=np.float64)),
        columns=loaded.preparation.columns,
    )
    if not out.lower().endswith(".npy"):
        frame["component"] = display_labels(labels, component_order(model)) + 1  # by weight
    write_table(frame, out)
    if not quiet:
        click.echo(f"Wrote {n_samples} rows to {out}")


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
def info(model_path):
    """Describe MODEL: covariance model, components, weights, means, fit, provenance."""
    loaded = load_model_file(model_path)
    model = loaded.model
    covariance_model = model._model
    lines = [
        f"{type(model).__name__}: {model.n_components} component(s), "
        f"{model.n_features_in_} feature(s)",
        f"Covariance model: {covariance_model.name} ({covariance_model.description})",
        f"Features: {', '.join(loaded.preparation.columns)}"
        + (" (standardised)" if loaded.preparation.center is not None else ""),
        f"Log-likelihood per sample: {model.lower_bound_:.4f}; free parameters: "
        f"{model.n_parameters_}; EM {'converged' if model.converged_ else 'did not converge'} "
        f"after {model.n_iter_} iteration(s)",
    ]
    if loaded.threshold is not None:
        lines.append(f"Anomaly threshold (log-density): {loaded.threshold:.4f}")
    lines.append("")
    order = component_order(model)  # numbered by weight, as the report and assignments
    weights = pd.DataFrame(
        np.column_stack([model.weights_, model.means_])[order],
        columns=["weight"] + [f"mean {c}" for c in loaded.preparation.columns],
        index=pd.Index(range(1, model.n_components + 1), name="component"),
    )
    lines.append(weights.to_string(float_format=lambda v: f"{v:.4g}"))
    command = loaded.metadata.get("command")
    if isinstance(command, str):
        lines += ["", f"Made by: {command[:500]}"]
    click.echo("\n".join(lines))
