"""docs/tutorial.md: its code parses and the figures it shows exist.

(Running every block takes half a minute; `python docs/make_tutorial_images.py` does that
and redraws the figures.)
"""

import ast
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
TEXT = (DOCS / "tutorial.md").read_text()


def test_every_python_block_parses():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
    assert len(blocks) >= 10
    for block in blocks:
        ast.parse(block)


def test_every_image_exists_and_is_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)
    assert len(images) >= 2
    for image in images:
        path = DOCS / image
        assert path.read_bytes().startswith(b"\x89PNG"), image
        assert path.stat().st_size < 200_000, image


def test_follows_the_chapter_sections():
    headings = re.findall(r"^## (11\.\d)", TEXT, flags=re.MULTILINE)
    assert headings == ["11.1", "11.2", "11.3", "11.4", "11.5"]
