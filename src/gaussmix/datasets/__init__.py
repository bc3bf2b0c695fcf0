"""Data sets: the chapter's generator and the classic real data bundled with gaussmix.

Nothing is downloaded: the real data sets ship inside the package (see
``data/SOURCES.md`` for their provenance).
"""

from ._bundled import load_diabetes, load_faithful
from ._generated import CHAPTER_COVARIANCES, CHAPTER_MEANS, CHAPTER_WEIGHTS, make_gmm_data

__all__ = [
    "make_gmm_data",
    "load_faithful",
    "load_diabetes",
    "CHAPTER_MEANS",
    "CHAPTER_COVARIANCES",
    "CHAPTER_WEIGHTS",
]
