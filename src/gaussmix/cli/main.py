"""Entry point of the ``gaussmix`` command."""

from __future__ import annotations

import os

import click

from ..version import __version__
from ._errors import OneLineErrorGroup
from .commands import fit, info, predict, sample
from .demo import demo
from .toolkit_commands import bootstrap, density


@click.group(
    name="gaussmix", cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="gaussmix")
def cli() -> None:
    """gaussmix: Gaussian mixture models fitted by EM.

    Start with `gaussmix demo` (the textbook chapter end to end), then
    `gaussmix fit DATA --out DIR` on your own data.
    """


for _command in (demo, fit, predict, sample, info, bootstrap, density):
    cli.add_command(_command)


def main() -> None:
    """Run the command line (the ``gaussmix`` console script)."""
    # The command owns its process, so it may choose Numba's optimisation level before
    # the kernels load: level 1 compiled them ~40% faster than the default 3 (a first
    # `gaussmix demo` with an empty cache: 58.4 -> 46.9 s wall) and they ran as fast
    # (docs/architecture.md, "Compile cost"). A NUMBA_OPT the user set is kept.
    os.environ.setdefault("NUMBA_OPT", "1")
    cli(prog_name="gaussmix")
