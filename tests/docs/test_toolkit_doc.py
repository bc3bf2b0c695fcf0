"""docs/toolkit.md: its code parses, its figures exist, README links to it.

(`python docs/make_toolkit_images.py` runs every block and redraws the figures; about a
minute.)
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "toolkit.md").read_text()


def test_every_python_block_parses():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)
    assert len(blocks) >= 4
    for block in blocks:
        ast.parse(block)


def test_every_image_exists_and_is_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", TEXT)
    assert len(images) == 5
    for image in images:
        path = ROOT / "docs" / image
        assert path.read_bytes().startswith(b"\x89PNG"), image
        assert path.stat().st_size < 200_000, image


def test_readme_links_the_page():
    assert "(docs/toolkit.md)" in (ROOT / "README.md").read_text()
