"""mclust's reference results (tests/data/mclust/) and a cell-by-cell comparison with gaussmix.

Used by ``test_mclust_reference.py`` and by ``benchmarks/compare_mclust.py``. mclust's
BIC is ``2 log L - p log n`` (higher is better); gaussmix's is its negation, so every
comparison below is made in gaussmix's sign (lower is better).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gaussmix import select_model

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "mclust"

#: Outcome of one cell: equal within the tolerance, gaussmix better, gaussmix worse,
#: both NA, or exactly one of the two NA.
EQUAL, BETTER, WORSE, BOTH_NA, NA_MISMATCH = "equal", "better", "worse", "both NA", "NA mismatch"


@dataclass(frozen=True)
class Reference:
    """One data set's mclust output, BIC in gaussmix's sign (lower is better)."""

    name: str
    X: np.ndarray
    bic: pd.DataFrame
    best_model: str
    best_k: int
    best_loglik: float


def load_reference(name: str) -> Reference:
    """Read ``tests/data/mclust/<name>.json``."""
    raw = json.loads((REFERENCE_DIR / f"{name}.json").read_text())
    models = list(np.atleast_1d(raw["models"]))
    values = np.array(
        [[np.nan if v is None else -float(v) for v in np.atleast_1d(row)] for row in raw["bic"]]
    )
    table = pd.DataFrame(values, index=pd.Index(raw["G"], name="n_components"), columns=models)
    X = np.array(raw["X"], dtype=np.float64).reshape(len(raw["X"]), -1)
    best = raw["best"]
    return Reference(name, X, table, best["model"], int(best["G"]), float(best["loglik"]))


def reference_names() -> list[str]:
    """Every data set with a stored reference."""
    return sorted(path.stem for path in REFERENCE_DIR.glob("*.json"))


def gaussmix_sweep(reference: Reference, n_components=range(1, 10), **params):
    """select_model on the reference's data with mclust's settings."""
    settings = {"init_params": "hierarchical", "reg_covar": 0.0, **params}
    models = list(reference.bic.columns)
    return select_model(reference.X, n_components, models, **settings)


def compare_cells(
    reference: Reference, ours: pd.DataFrame, tolerance: float = 0.01
) -> pd.DataFrame:
    """Classify every cell of ``ours`` (gaussmix's BIC table) against mclust's.

    Returns a long frame: ``n_components``, ``model``, ``mclust``, ``gaussmix``,
    ``difference`` (gaussmix minus mclust; negative: gaussmix better) and ``outcome``.
    """
    rows = []
    for k in ours.index:
        for model in ours.columns:
            theirs, mine = reference.bic.loc[k, model], ours.loc[k, model]
            if np.isnan(theirs) and np.isnan(mine):
                outcome = BOTH_NA
            elif np.isnan(theirs) or np.isnan(mine):
                outcome = NA_MISMATCH
            elif abs(mine - theirs) <= tolerance:
                outcome = EQUAL
            else:
                outcome = BETTER if mine < theirs else WORSE
            rows.append((k, model, theirs, mine, mine - theirs, outcome))
    return pd.DataFrame(
        rows, columns=["n_components", "model", "mclust", "gaussmix", "difference", "outcome"]
    )


def outcome_counts(comparison: pd.DataFrame) -> dict[str, int]:
    """How many cells fall in each outcome."""
    counts = comparison["outcome"].value_counts()
    return {key: int(counts.get(key, 0)) for key in (EQUAL, BETTER, WORSE, BOTH_NA, NA_MISMATCH)}
