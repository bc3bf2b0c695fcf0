"""One-line errors: every failure is a single stderr line, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import sys
import warnings

import click

__all__ = ["CLIError", "OneLineErrorGroup", "EXIT_INTERRUPTED"]

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class CLIError(click.ClickException):
    """A user-facing problem; its message names the problem and the fix."""

    exit_code = 1


#: Raised by click >= 8.2 when a group is called without a command.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Interrupted(Exception):
    """Ctrl-C inside a command."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _emit(prefix: str, message: str) -> None:
    click.echo(f"{prefix}: error: {_one_line(message)}", err=True)


class OneLineErrorGroup(click.Group):
    """A click group whose errors are one line: usage mistakes exit 2, others 1, Ctrl-C 130.

    Unexpected exceptions are reported as one line too, and library warnings are not
    printed; set ``GAUSSMIX_DEBUG=1`` to see tracebacks and warnings.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Raised past click's own handler, which would print an extra blank line.
            raise _Interrupted from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command line; every failure becomes one line and an exit status."""
        prog = prog_name or "gaussmix"
        try:
            with warnings.catch_warnings():
                if not os.environ.get("GAUSSMIX_DEBUG"):
                    # Library warnings (overflow in extreme data, EM not converging in one
                    # cell of a sweep) would break the one-line contract; what matters is
                    # reported in the summary, the report or the error line.
                    warnings.simplefilter("ignore")
                result = super().main(
                    args=args,
                    prog_name=prog_name,
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
            code = result if isinstance(result, int) else 0
        except (Exception, KeyboardInterrupt) as exc:
            if os.environ.get("GAUSSMIX_DEBUG") and not isinstance(exc, _EXPECTED):
                raise
            code = _report(exc, prog)
        if standalone_mode:
            sys.exit(code)
        return code


#: Exceptions that are part of a normal run: exits, usage errors, interruptions.
_EXPECTED = (
    click.exceptions.Exit,
    click.ClickException,
    click.exceptions.Abort,
    _Interrupted,
    KeyboardInterrupt,
)


def _report(exc: BaseException, prog: str) -> int:
    """Print what ended the command as one line (or the help); return the exit status."""
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, _NO_ARGS_IS_HELP):  # a bare `gaussmix`: show the help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx is not None else str(exc))
        return 0
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx is not None else prog
        _emit(where, f"{exc.format_message()} (see '{where} --help')")
        return 2
    if isinstance(exc, click.ClickException):
        _emit(prog, exc.format_message())
        return exc.exit_code
    if isinstance(exc, (_Interrupted, KeyboardInterrupt, click.exceptions.Abort)):
        click.echo(f"{prog}: interrupted", err=True)
        return EXIT_INTERRUPTED
    if isinstance(exc, (ValueError, TypeError, OSError, MemoryError)):
        _emit(prog, str(exc) or type(exc).__name__)
        return 1
    _emit(  # a bug: still one line, but say so
        prog,
        f"unexpected {type(exc).__name__}: {exc}. This is a gaussmix bug; please "
        "report it (rerun with GAUSSMIX_DEBUG=1 for the traceback)",
    )
    return 1
