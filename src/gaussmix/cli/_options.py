"""Options shared by several commands, and parsing of option values that click's types do
not cover (ranges, model lists)."""

from __future__ import annotations

import re
import sys

import click

from ..engine.covariance.models import COVARIANCE_TYPES, MODELS, canonical_name
from ._errors import CLIError

__all__ = [
    "OUT_FOLDER",
    "COMPONENTS",
    "COVARIANCE_TYPES_TO_TRY",
    "FEATURE_COLUMNS",
    "parse_components",
    "parse_covariance_types",
    "show_progress",
    "status",
    "CellProgressBar",
]

MAX_COMPONENTS = 50

#: ``--out`` of a command that writes a folder of results.
OUT_FOLDER = click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
#: ``--components``: the numbers of components a sweep tries (`parse_components`).
COMPONENTS = click.option(
    "--components",
    default="1-9",
    show_default=True,
    help="Numbers of components to try: a number, a range (1-9) or a list (1,2,5).",
)
#: ``--covariance-types``: the models a sweep tries (`parse_covariance_types`).
COVARIANCE_TYPES_TO_TRY = click.option(
    "--covariance-types",
    default="all",
    show_default=True,
    help="Covariance models to try: 'all' or a comma-separated list (full,diag,VVV,EEI,...).",
)
#: ``--columns``: the feature columns (`parse_columns`).
FEATURE_COLUMNS = click.option(
    "--columns", default=None, help="Comma-separated feature columns (default: all numeric)."
)


def parse_components(text: str) -> list[int]:
    """``"1-9"``, ``"3"`` or ``"1,2,5"`` (or a mix) -> sorted distinct positive integers."""
    values: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise CLIError(
                f"--components {text!r} is not understood; use a number (3), a range (1-9) or a "
                "list (1,2,5)."
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low < 1 or high < low or high > MAX_COMPONENTS:
            raise CLIError(
                f"--components {text!r}: numbers must be from 1 to {MAX_COMPONENTS} and ranges "
                "increasing, e.g. 1-9."
            )
        values.update(range(low, high + 1))
    return sorted(values)


def parse_covariance_types(text: str) -> list[str]:
    """``"full,diag"`` or ``"all"`` -> mclust codes in mclust's order."""
    if text.strip().lower() == "all":
        return list(MODELS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    codes = []
    for name in names:
        try:
            codes.append(canonical_name(name))
        except ValueError:
            raise CLIError(
                f"unknown covariance type {name!r}; use 'all' or a comma-separated list of "
                f"{', '.join(COVARIANCE_TYPES)}."
            ) from None
    if not codes:
        raise CLIError("--covariance-types is empty; use e.g. full,diag or all.")
    return [code for code in MODELS if code in codes]


def show_progress(quiet: bool) -> bool:
    """Progress output only for a person watching: stderr is a terminal and not --quiet."""
    return not quiet and sys.stderr.isatty()


def status(message: str, quiet: bool) -> None:
    """A progress line on stderr (terminal only, never with --quiet)."""
    if show_progress(quiet):
        click.echo(message, err=True)


class CellProgressBar:
    """A progress bar over the cells of a model selection, on stderr.

    Shown only for a person watching (stderr is a terminal, no --quiet); otherwise
    `callback` is None and nothing is printed. Use as a context manager and pass
    `callback` as `select_model`'s ``progress``.

    Parameters
    ----------
    n_cells : int
        Cells of the sweep (numbers of components x covariance models).
    description : str
        Text before the bar.
    quiet : bool
        --quiet.
    """

    def __init__(self, n_cells: int, description: str, quiet: bool):
        self.n_cells = n_cells
        self.description = description
        self.enabled = show_progress(quiet)
        self._bar = None

    def __enter__(self) -> CellProgressBar:
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.n_cells,
                desc=self.description,
                unit="fit",
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
        return self

    @property
    def callback(self):
        """``progress`` for `select_model` (None when the bar is not shown)."""
        return self._advance if self._bar is not None else None

    def _advance(self, event) -> None:
        self._bar.set_postfix_str(f"K={event.n_components} {event.covariance_type}", refresh=False)
        self._bar.update(1)

    def __exit__(self, *exc_info) -> bool:
        if self._bar is not None:
            self._bar.close()
        return False
