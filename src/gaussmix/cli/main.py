"""Entry point of the ``gaussmix`` command."""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaussmix")
def cli() -> None:
    """gaussmix: Gaussian mixture models fitted by EM."""


def main() -> None:
    """Run the command line (the ``gaussmix`` console script)."""
    cli()
