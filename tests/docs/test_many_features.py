"""docs/many-features.md: its code runs as written and the figures it shows exist."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEXT = (DOCS / "many-features.md").read_text()


def test_every_python_block_runs_in_order():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "many-features.md", "exec"), namespace)  # noqa: S102
    finally:
        plt.close("all")
    assert namespace["Z"].shape == (178, 2)


def test_every_image_exists_and_is_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)
    assert len(images) == 2
    for image in images:
        path = DOCS / image
        assert path.read_bytes().startswith(b"\x89PNG"), image
        assert path.stat().st_size < 200_000, image
