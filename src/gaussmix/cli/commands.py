"""``gaussmix fit``, ``predict``, ``sample`` and ``info``."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..estimators.display import component_order, display_labels
from ..io import atomic_output
from ._chunked import (
    missing_values_in_cli_terms,
    open_chunked,
    reads_in_chunks,
    write_assignments_in_batches,
)
from ._data import MISSING_CHOICES, CsvLayout, csv_layout_options, read_table
from ._errors import CLIError
from ._fit import FitPlan, print_fit_summary, run_fit, write_fit_outputs
from ._model_file import load_model_file
from ._options import COMPONENTS, COVARIANCE_TYPES_TO_TRY, FEATURE_COLUMNS, OUT_FOLDER
from ._outputs import assignments, write_table

__all__ = ["fit", "predict", "sample", "info"]

_CRITERIA = ("bic", "aic", "icl")


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
@OUT_FOLDER
@COMPONENTS
@COVARIANCE_TYPES_TO_TRY
@click.option(
    "--criterion",
    type=click.Choice(_CRITERIA, case_sensitive=False),
    default="bic",
    show_default=True,
    help="Model selection criterion (lower is better).",
)
@click.option(
    "--allow-degenerate",
    is_flag=True,
    help="Let a degenerate fit (a component collapsed onto tied rows or too few rows) be "
    "chosen; by default such cells show NA in selection.csv and are never the best.",
)
@FEATURE_COLUMNS
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
@click.option(
    "--merge",
    is_flag=True,
    help="Also merge the components into clusters by entropy (mclust's clustCombi): "
    "merging.csv, merged_clusters.csv, merging.png.",
)
@csv_layout_options
@click.option("--quiet", "-q", is_flag=True, help="No progress output and no summary.")
def fit(**options):
    """Fit mixtures to DATA (CSV, Parquet or .npy), choose the best, write results to --out.

    Writes model.json, assignments.csv (one row per data row: component, probabilities,
    uncertainty, log-density, anomaly flag), selection.csv (the criterion for every
    number of components and covariance model) and report.html.
    """
    plan = FitPlan.from_options(**options)  # every option above, by name
    outcome = run_fit(plan)
    written = write_fit_outputs(outcome, plan)
    print_fit_summary(outcome, written, plan)


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
    from ..engine.data.standardized import StandardizedSource

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
            f"a {type(model).__name__} cannot assign rows with missing values; use --missing drop."
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
