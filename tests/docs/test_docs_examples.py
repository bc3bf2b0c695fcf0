"""Every Python block of the user docs runs, in order, as a reader would run them.

Blocks of one page share a namespace (later blocks use earlier names) and run in a
temporary folder with matplotlib's Agg backend. A block that needs what a reader has but
a test machine has not (a 2 GB Parquet file, a cluster) is marked just above its fence
with ``<!-- no-run: why -->`` and is only parsed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- no-run: [^>]*-->\s*\n)?```python\n(.*?)```", re.DOTALL)


def _blocks(page: Path) -> list[tuple[bool, str]]:
    """``(runs, code)`` for each Python block of a page, in order."""
    return [
        (marker is None or marker == "", code)
        for marker, code in BLOCK.findall(page.read_text(encoding="utf-8"))
    ]


PAGES_WITH_CODE = [page for page in PAGES if _blocks(page)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda page: page.name)
def test_every_python_block_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for index, (runs, code) in enumerate(_blocks(page)):
        tree = ast.parse(code, filename=f"{page.name}, block {index + 1}")
        if runs:
            exec(compile(tree, f"{page.name}, block {index + 1}", "exec"), namespace)  # noqa: S102
        plt.close("all")


def test_skipped_blocks_say_why():
    for page in PAGES:
        for reason in re.findall(r"<!-- no-run:([^>]*)-->", page.read_text(encoding="utf-8")):
            assert len(reason.strip()) > 10, f"{page.name}: say why a block does not run"
