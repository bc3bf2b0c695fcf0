"""One self-contained HTML report of a fitted mixture (figures embedded, no network)."""

from .html_report import Figure, build_report, write_report

__all__ = ["build_report", "write_report", "Figure"]
