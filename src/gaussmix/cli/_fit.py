"""``gaussmix fit`` in three steps: plan, run, write.

- `FitPlan.from_options` turns the command's options into a frozen plan, refusing bad
  combinations before any data is read;
- `run_fit` reads the data (in memory or in batches), fits (a selection sweep, or one
  Bayesian mixture) and sets the anomaly threshold, giving a `FitOutcome`;
- `write_fit_outputs` writes model.json, assignments.csv, selection.csv and report.html
  into the output folder (all or nothing), and `print_fit_summary` tells the user.

A new option is a field of `FitPlan` (parsed in ``from_options``) read by the step
that needs it; a new fitting method is an entry of `FIT_METHODS`; a new output file is
a line of `write_fit_outputs`.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ._bayesian_options import fit_bayesian, map_covariance_types
from ._chunked import numbered_sample, open_chunked, reads_in_chunks, write_assignments_in_batches
from ._data import CsvLayout, parse_columns, read_table
from ._errors import CLIError
from ._model_file import Preparation, save_model_file
from ._options import CellProgressBar, parse_components, parse_covariance_types, status
from ._outputs import StagedFolder, assignments, write_table
from ._summary import single_model_summary
from .toolkit_commands import check_merge_input, write_merging

__all__ = [
    "FitPlan",
    "FitInputs",
    "FittedMixture",
    "FitOutcome",
    "FitWritten",
    "FIT_METHODS",
    "read_fit_inputs",
    "run_fit",
    "write_fit_outputs",
    "print_fit_summary",
]

#: Rows of a big file the report describes (drawn at random, in one pass).
REPORT_SAMPLE_ROWS = 100_000
#: Below this many values (rows x features) each fit runs on one BLAS/OpenMP thread.
_SMALL_DATA_VALUES = 200_000


def command_line() -> str:
    """The command as the user typed it (for the model file and the report)."""
    return "gaussmix " + " ".join(shlex.quote(a) for a in sys.argv[1:])


# ---------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class FitPlan:
    """What ``gaussmix fit`` will do, decided from its options before any data is read.

    Attributes
    ----------
    data, out : str
        The data file and the output folder.
    components : tuple of int
        Numbers of components to try (``--components``).
    models : tuple of str
        Covariance models to try (mclust codes), restricted to those with a MAP M-step
        under ``--prior default``.
    covariance_types : str
        ``--covariance-types`` as typed (the Bayesian methods read ``all`` as full).
    criterion : str
        ``bic``, ``aic`` or ``icl`` (lower case).
    allow_degenerate : bool
        ``--allow-degenerate``: degenerate cells of the sweep keep their criterion and may
        be chosen (`select_model`'s ``allow_degenerate``).
    columns : tuple of str or None
        ``--columns``; None takes every numeric column.
    standardize : bool
    contamination : float
    missing : str
        ``error``, ``drop`` or ``marginalize``.
    method : str
        ``em``, ``variational`` or ``dp`` (a key of `FIT_METHODS`).
    estimator_params : dict
        Extra `GaussianMixture` parameters of every fit of the sweep (``prior``,
        ``missing``).
    out_of_core : bool or None
    random_state : int
    quiet : bool
    """

    data: str
    out: str
    components: tuple[int, ...]
    models: tuple[str, ...]
    covariance_types: str
    criterion: str
    allow_degenerate: bool
    columns: tuple[str, ...] | None
    standardize: bool
    contamination: float
    missing: str
    method: str
    estimator_params: dict[str, str]
    out_of_core: bool | None
    random_state: int
    merge: bool
    layout: CsvLayout
    quiet: bool

    @classmethod
    def from_options(
        cls,
        *,
        data,
        out,
        components,
        covariance_types,
        criterion,
        allow_degenerate,
        columns,
        standardize,
        contamination,
        missing,
        method,
        prior,
        out_of_core,
        random_state,
        merge,
        header,
        skip_rows,
        quiet,
    ) -> FitPlan:
        """The plan of ``gaussmix fit`` with these options (keyword per option).

        Raises
        ------
        CLIError
            For an invalid option or combination of options.
        """
        ks = parse_components(components)
        models = parse_covariance_types(covariance_types)
        if prior != "none":
            models = map_covariance_types(models, covariance_types)
        if missing == "marginalize" and method != "em":
            raise CLIError(
                f"--method {method} cannot fit missing values; use --method em with "
                "--missing marginalize, or --missing drop."
            )
        if allow_degenerate and method != "em":
            raise CLIError(
                f"--allow-degenerate ranks the cells of --method em's model sweep; --method "
                f"{method} fits one mixture and chooses nothing, so drop the flag."
            )
        estimator_params = {
            **({} if prior == "none" else {"prior": "default"}),
            **({"missing": "marginalize"} if missing == "marginalize" else {}),
        }
        parsed_columns = parse_columns(columns)
        return cls(
            data=data,
            out=out,
            components=tuple(ks),
            models=tuple(models),
            covariance_types=covariance_types,
            criterion=criterion.lower(),
            allow_degenerate=bool(allow_degenerate),
            columns=None if parsed_columns is None else tuple(parsed_columns),
            standardize=standardize,
            contamination=contamination,
            missing=missing,
            method=method,
            estimator_params=estimator_params,
            out_of_core=out_of_core,
            random_state=random_state,
            merge=merge,
            layout=CsvLayout(header, skip_rows),
            quiet=quiet,
        )


# ---------------------------------------------------------------------------- inputs
@dataclass
class FitInputs:
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


def read_fit_inputs(plan: FitPlan) -> FitInputs:
    """The plan's data: read whole, or opened for reading in batches (big Parquet files)."""
    columns = None if plan.columns is None else list(plan.columns)
    if reads_in_chunks(plan.data, plan.out_of_core):
        if not plan.layout.is_default:  # a Parquet file names its columns itself
            raise CLIError("--header and --skip-rows describe CSV/TSV files; drop them here.")
        return _chunked_inputs(
            plan.data, columns, plan.missing, plan.standardize, plan.random_state
        )
    return _in_memory_inputs(plan.data, columns, plan.missing, plan.standardize, plan.layout)


def _in_memory_inputs(data, columns, missing, standardize, layout) -> FitInputs:
    table = read_table(data, columns, missing, layout)
    preparation = Preparation.fit(table.data, standardize)
    frame = pd.DataFrame(preparation.transform(table.data), columns=preparation.columns)

    def write(model, threshold, path):
        rows = assignments(model, frame, table.row_ids, threshold)
        write_table(rows, path)
        return len(rows), int(rows["anomaly"].sum()) if "anomaly" in rows else 0

    return FitInputs(
        frame,
        preparation,
        list(table.notes),
        # Indexed by row number in the file, as assignments.csv (rows may have been dropped).
        (frame if standardize else table.data).set_axis(pd.Index(table.row_ids, name="row")),
        frame.size,
        write,
    )


def _chunked_inputs(data, columns, missing, standardize, random_state) -> FitInputs:
    from ..engine.data.standardized import StandardizedSource

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

    return FitInputs(
        source,
        preparation,
        notes,
        sample,
        source.n_samples * source.n_features,
        write,
    )


# ---------------------------------------------------------------------------- run
@dataclass(frozen=True)
class FittedMixture:
    """What a fitting method of `FIT_METHODS` gives.

    Attributes
    ----------
    model : GaussianMixture
    selection : ModelSelectionResult or None
        The sweep behind ``model``, if there was one.
    notes : tuple of str
        Remarks of the method for the summary and the report.
    """

    model: Any
    selection: Any = None
    notes: tuple[str, ...] = ()


def _select_by_criterion(plan: FitPlan, model_input) -> FittedMixture:
    """``--method em``: every K x model fitted by EM; the best by the criterion."""
    from ..selection import select_model

    description = f"{len(plan.components)} K x {len(plan.models)} models"
    n_cells = len(plan.components) * len(plan.models)
    with CellProgressBar(n_cells, description, plan.quiet) as bar:
        result = select_model(
            model_input,
            n_components=list(plan.components),
            covariance_types=list(plan.models),
            criterion=plan.criterion,
            allow_degenerate=plan.allow_degenerate,
            random_state=plan.random_state,
            progress=bar.callback,
            **plan.estimator_params,
        )
    return FittedMixture(result.best_estimator_, result)


def _fit_bayesian_mixture(plan: FitPlan, model_input) -> FittedMixture:
    """``--method variational`` / ``dp``: one Bayesian mixture, pruned, refined by EM."""
    status(f"Fitting a {plan.method} Bayesian mixture...", plan.quiet)
    model, note = fit_bayesian(
        model_input,
        plan.method,
        list(plan.components),
        list(plan.models),
        plan.covariance_types,
        plan.random_state,
    )
    return FittedMixture(model, notes=(note,))


#: ``--method`` -> how the mixture is fitted: ``fit(plan, model_input) -> FittedMixture``.
FIT_METHODS: dict[str, Callable[[FitPlan, Any], FittedMixture]] = {
    "em": _select_by_criterion,
    "variational": _fit_bayesian_mixture,
    "dp": _fit_bayesian_mixture,
}


@dataclass(frozen=True)
class FitOutcome:
    """Everything ``gaussmix fit`` computed, ready to be written.

    Attributes
    ----------
    inputs : FitInputs
    model : GaussianMixture
        The chosen (or refined) mixture.
    selection : ModelSelectionResult or None
        The sweep behind ``model`` (``--method em``), else None.
    detector : AnomalyDetector
        ``model`` with the anomaly threshold set at ``--contamination``.
    notes : tuple of str
        Remarks for the summary and the report, in order.
    seconds : float
        Wall time of the fit.
    """

    inputs: FitInputs
    model: Any
    selection: Any
    detector: Any
    notes: tuple[str, ...]
    seconds: float


def _fit_threads(n_values: int):
    """Small data: one BLAS/OpenMP thread per fit avoids oversubscribing the machine."""
    if n_values < _SMALL_DATA_VALUES:
        return threadpool_limits(limits=1)
    return contextlib.nullcontext()


def run_fit(plan: FitPlan) -> FitOutcome:
    """Read the data, fit by the plan's method and set the anomaly threshold."""
    from ..estimators import AnomalyDetector

    inputs = read_fit_inputs(plan)
    if plan.merge:
        check_merge_input(inputs.model_input)
    notes = list(inputs.notes)
    if plan.standardize:
        notes.append("features standardised to mean 0, sd 1 (model parameters are in those units)")
    start = time.perf_counter()
    with _fit_threads(inputs.n_values):
        fitted = FIT_METHODS[plan.method](plan, inputs.model_input)
    detector = AnomalyDetector.from_fitted_mixture(
        fitted.model, inputs.model_input, contamination=plan.contamination
    )
    seconds = time.perf_counter() - start
    status(f"Fitted in {seconds:.1f} s; writing results...", plan.quiet)
    return FitOutcome(
        inputs, fitted.model, fitted.selection, detector, (*notes, *fitted.notes), seconds
    )


# ---------------------------------------------------------------------------- write
@dataclass(frozen=True)
class FitWritten:
    """What `write_fit_outputs` wrote.

    Attributes
    ----------
    paths : list of Path
        The files, at their final places.
    n_rows, n_flagged : int
        Rows of assignments.csv, and those flagged as anomalies.
    """

    paths: list
    n_rows: int
    n_flagged: int
    merging: str | None = None


def write_fit_outputs(outcome: FitOutcome, plan: FitPlan) -> FitWritten:
    """Write model.json, assignments.csv, selection.csv (``--method em``) and report.html.

    The files are staged and moved into ``plan.out`` together, so a failure leaves no
    partial output folder.
    """
    from ..report import build_report, write_report

    model, detector, selection = outcome.model, outcome.detector, outcome.selection
    command = command_line()
    with StagedFolder(plan.out) as folder:
        save_model_file(
            folder.path("model.json"),
            model,
            outcome.inputs.preparation,
            detector.threshold_,
            {"command": command, "criterion": plan.criterion},
        )
        n_rows, flagged = outcome.inputs.write_assignments(
            model, detector.threshold_, folder.path("assignments.csv")
        )
        if selection is not None:
            selection.table_.copy().to_csv(folder.path("selection.csv"))
        merging = None
        if plan.merge:
            merging = write_merging(
                folder, model, outcome.inputs.model_input, outcome.inputs.report_data.index
            )
        html = build_report(
            model,
            outcome.inputs.report_data,
            selection=selection,
            detector=detector,
            command=command,
            title=f"gaussmix fit: {plan.data}",
            notes=list(outcome.notes),
        )
        write_report(html, folder.path("report.html"))
        paths = [folder.final(name) for name in folder.names]
    return FitWritten(paths, n_rows, flagged, merging)


def print_fit_summary(outcome: FitOutcome, written: FitWritten, plan: FitPlan) -> None:
    """The summary after a fit: the selection table, notes, anomalies, files written."""
    if plan.quiet:
        return
    for note in outcome.notes:  # first: a dropped column or row changes what the summary means
        click.echo(f"Note: {note}")
    if outcome.selection is not None:
        click.echo(outcome.selection.summary())
    else:  # one Bayesian fit: no selection table, but the same summary of its model
        n_rows = outcome.inputs.n_values // outcome.model.n_features_in_
        click.echo(single_model_summary(outcome.model, outcome.inputs.report_data, n_rows))
    click.echo(
        f"Anomalies: {written.n_flagged} of {written.n_rows} rows "
        f"(contamination {plan.contamination:g})."
    )
    if written.merging:
        click.echo(written.merging)
    click.echo("Wrote:")
    for path in written.paths:
        click.echo(f"  {path}")
