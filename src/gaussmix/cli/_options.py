"""Parsing of option values that click's types do not cover (ranges, model lists)."""

from __future__ import annotations

import re
import sys
import threading
import time

import click

from ..engine.covariance_models import COVARIANCE_TYPES, MODELS, canonical_name
from ._errors import CLIError

__all__ = ["parse_components", "parse_covariance_types", "show_progress", "status", "Ticker"]

MAX_COMPONENTS = 50


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


class Ticker:
    """While a long step runs, keep one stderr line updated with the elapsed time.

    Only on a terminal and without --quiet; the line is cleared when the step ends.
    (A per-fit progress bar needs a progress hook in `select_model`.)
    """

    def __init__(self, message: str, quiet: bool, interval: float = 0.5):
        self.message = message
        self.enabled = show_progress(quiet)
        self.interval = interval
        self._stop = threading.Event()

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.wait(self.interval):
            sys.stderr.write(f"\r{self.message} {time.perf_counter() - start:.0f} s")
            sys.stderr.flush()

    def __enter__(self) -> Ticker:
        if self.enabled:
            sys.stderr.write(self.message)
            sys.stderr.flush()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> bool:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        return False
