"""``gaussmix bootstrap``, ``gaussmix density`` and the outputs of ``gaussmix fit --merge``:
mclust's toolkit on the command line."""

from __future__ import annotations

import click
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ._data import parse_columns, read_table
from ._errors import CLIError
from ._model_file import Preparation, load_model_file, save_model_file
from ._options import (
    COMPONENTS,
    COVARIANCE_TYPES_TO_TRY,
    FEATURE_COLUMNS,
    OUT_FOLDER,
    CellProgressBar,
    parse_components,
    parse_covariance_types,
    status,
)
from ._outputs import StagedFolder, write_table

__all__ = ["bootstrap", "density", "check_merge_input", "write_merging"]


def _save_figure(figure, path) -> None:
    figure.savefig(path, dpi=90)


def _agg() -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)


def check_merge_input(model_input) -> None:
    """``--merge`` needs every row's probabilities in memory: refuse a data source."""
    if not isinstance(model_input, pd.DataFrame):
        raise CLIError(
            "--merge needs the data in memory (it keeps every row's probabilities); pass "
            "--in-memory, or merge a model fitted on a sample of the file."
        )


def write_merging(folder: StagedFolder, model, frame: pd.DataFrame, row_ids) -> str:
    """merging.csv (the hierarchy), merged_clusters.csv (labels for every number of
    clusters) and merging.png; returns the line to print."""
    from ..plotting.toolkit import merging as merging_figure
    from ..toolkit import combine_components

    _agg()
    result = combine_components(model, frame)
    write_table(result.table().reset_index(), folder.path("merging.csv"))
    labels = pd.DataFrame({"row": np.asarray(row_ids)})
    for n in range(result.n_components, 0, -1):
        labels[f"clusters_{n}"] = result.labels(n) + 1
    write_table(labels, folder.path("merged_clusters.csv"))
    _save_figure(merging_figure(result), folder.path("merging.png"))
    return (
        f"Merging: {result.n_components} components merged pairwise by entropy; the elbow is at "
        f"{result.elbow()} clusters (labels for every number in merged_clusters.csv)."
    )


def _model_input(loaded, data, missing) -> pd.DataFrame | np.ndarray:
    """DATA prepared as the model's training data was (columns, standardisation)."""
    preparation = loaded.preparation
    table = read_table(data, None if preparation.positional else preparation.columns, missing)
    values = preparation.transform(table.data)
    if values.shape[1] != loaded.model.n_features_in_:
        raise CLIError(
            f"the model expects {loaded.model.n_features_in_} features, the data give "
            f"{values.shape[1]}; pass data with the model's columns."
        )
    names = getattr(loaded.model, "feature_names_in_", None)
    return values if names is None else pd.DataFrame(values, columns=list(names))


_MISSING = click.option(
    "--missing",
    type=click.Choice(["error", "drop"]),
    default="error",
    show_default=True,
    help="What to do with rows that have missing values: refuse them or drop them.",
)


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
@click.argument("data", type=click.Path(dir_okay=False, path_type=str))
@OUT_FOLDER
@click.option(
    "--n-bootstrap",
    type=click.IntRange(2, 100_000),
    default=199,
    show_default=True,
    help="Number of bootstrap replicates (each refits the model).",
)
@click.option(
    "--method",
    type=click.Choice(["nonparametric", "weighted"]),
    default="nonparametric",
    show_default=True,
    help="Resample rows, or reweight them with Dirichlet weights (weighted likelihood bootstrap).",
)
@click.option(
    "--level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Coverage of the percentile intervals.",
)
@_MISSING
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed.")
@click.option("--quiet", "-q", is_flag=True, help="Print only where the results went.")
def bootstrap(model_path, data, out, n_bootstrap, method, level, missing, random_state, quiet):
    """Bootstrap standard errors and intervals of MODEL's weights, means and variances.

    MODEL is a file written by gaussmix fit, DATA the data it was fitted to. Writes
    bootstrap.csv (estimate, standard error and percentile interval of every weight,
    mean and variance, components numbered as in the model) and bootstrap.png.
    """
    from ..toolkit import bootstrap as run_bootstrap

    _agg()
    loaded = load_model_file(model_path)
    rows = _model_input(loaded, data, missing)
    status(f"Refitting {n_bootstrap} {method} bootstrap replicates...", quiet)
    with threadpool_limits(limits=1):
        result = run_bootstrap(
            loaded.model, rows, n_bootstrap=n_bootstrap, method=method, random_state=random_state
        )
    table = result.summary(level)
    with StagedFolder(out) as folder:
        write_table(table, folder.path("bootstrap.csv"))
        _save_figure(result.plot(level=level), folder.path("bootstrap.png"))
        written = [folder.final(name) for name in folder.names]
    if not quiet:
        if loaded.preparation.center is not None:
            click.echo("Note: the model was fitted on standardised features; so are these values.")
        click.echo(result.to_string(level))
    click.echo("Wrote:")
    for path in written:
        click.echo(f"  {path}")


def _parse_levels(text: str) -> list[float]:
    try:
        levels = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        levels = []
    if not levels or not all(0 < p < 1 for p in levels):
        raise CLIError(
            f"--levels must be probabilities in (0, 1) separated by commas, e.g. "
            f"0.5,0.9,0.95; got {text!r}."
        )
    return sorted(set(levels))


@click.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=str))
@OUT_FOLDER
@COMPONENTS
@COVARIANCE_TYPES_TO_TRY
@FEATURE_COLUMNS
@click.option(
    "--levels",
    default="0.5,0.75,0.95",
    show_default=True,
    help="Probabilities of the highest-density regions.",
)
@click.option(
    "--hdr-source",
    type=click.Choice(["data", "model"]),
    default="data",
    show_default=True,
    help="Region levels from the density at the data's rows (as mclust) or at rows drawn "
    "from the model.",
)
@_MISSING
@click.option("--random-state", type=int, default=0, show_default=True, help="Seed.")
@click.option("--quiet", "-q", is_flag=True, help="Print only where the results went.")
def density(
    data,
    out,
    components,
    covariance_types,
    columns,
    levels,
    hdr_source,
    missing,
    random_state,
    quiet,
):
    """Estimate DATA's density by a mixture chosen by BIC, with highest-density regions.

    Writes model.json (usable by gaussmix predict and sample), density.csv (each row's
    log-density and whether it lies in each region), hdr_levels.csv (the density level
    of each region) and density.png (for more than two columns: the first two).
    """
    from ..toolkit import DensityEstimator

    _agg()
    probabilities = _parse_levels(levels)
    ks = parse_components(components)
    models = parse_covariance_types(covariance_types)
    table = read_table(data, parse_columns(columns), missing)
    frame = table.data
    with (
        CellProgressBar(len(ks) * len(models), "Density by BIC", quiet) as bar,
        threadpool_limits(limits=1),
    ):
        estimator = DensityEstimator(
            ks, models, hdr_source=hdr_source, random_state=random_state
        ).fit(frame, progress=bar.callback)
    log_levels = estimator.hdr_log_levels(probabilities)
    scores = estimator.score_samples(frame)
    rows = pd.DataFrame({"row": table.row_ids, "log_density": scores})
    for p, level in zip(probabilities, log_levels, strict=True):
        rows[f"in_{100 * p:g}"] = (scores >= level).astype(int)
    level_table = pd.DataFrame(
        {"probability": probabilities, "density": np.exp(log_levels), "log_density": log_levels}
    )
    with StagedFolder(out) as folder:
        save_model_file(
            folder.path("model.json"),
            estimator.model_,
            Preparation(list(frame.columns)),
            None,
            {"command": "gaussmix density", "criterion": "bic"},
        )
        write_table(rows, folder.path("density.csv"))
        write_table(level_table, folder.path("hdr_levels.csv"))
        ax = estimator.plot(frame, probabilities=probabilities)
        _save_figure(ax.figure, folder.path("density.png"))
        written = [folder.final(name) for name in folder.names]
    if not quiet:
        for note in table.notes:
            click.echo(f"Note: {note}")
        best = estimator.selection_.best_params_
        click.echo(
            f"Density: {best['covariance_type']} with K = {best['n_components']} (best BIC "
            f"of {len(ks) * len(models)} fits)."
        )
        for p, level in zip(probabilities, log_levels, strict=True):
            click.echo(
                f"  {100 * p:g}% highest-density region: log-density >= {level:.4g} "
                f"({int((scores >= level).sum())} of {len(scores)} rows)"
            )
    click.echo("Wrote:")
    for path in written:
        click.echo(f"  {path}")
