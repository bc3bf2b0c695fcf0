"""Outputs that appear completely or not at all, and the per-row assignments table."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..estimators.display import component_order
from ..io import atomic_output
from ._errors import CLIError

__all__ = ["StagedFolder", "write_table", "assignments"]


class StagedFolder:
    """Files written into a hidden staging folder, moved into ``folder`` only on success.

    On any error (or Ctrl-C) the staging folder is removed, and ``folder`` is removed
    too if this command created it and it is still empty: no half-written output.
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    def __enter__(self) -> StagedFolder:
        if self.folder.exists() and not self.folder.is_dir():
            raise CLIError(f"--out {str(self.folder)!r} exists and is not a folder; pass a folder.")
        self._created = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=".gaussmix-partial-", dir=self.folder))
        except OSError as exc:
            raise CLIError(
                f"cannot create output folder {str(self.folder)!r} ({exc.strerror}); choose "
                "another --out."
            ) from None
        self.names: list[str] = []
        return self

    def path(self, name: str) -> Path:
        """Where to write ``name`` now (inside the staging folder)."""
        self.names.append(name)
        target = self.staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def final(self, name: str) -> Path:
        """Where ``name`` will be once the command succeeds."""
        return self.folder / name

    def __exit__(self, exc_type, exc, traceback) -> bool:
        try:
            if exc_type is None:
                for name in self.names:
                    destination = self.folder / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(self.staging / name, destination)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            if exc_type is not None and self._created:
                try:
                    self.folder.rmdir()
                except OSError:
                    pass
        return False


def write_table(frame: pd.DataFrame, path) -> None:
    """Write ``frame`` to ``path`` atomically, in the format its extension names."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {
        ".csv": lambda p: frame.to_csv(p, index=False),
        ".tsv": lambda p: frame.to_csv(p, index=False, sep="\t"),
        ".npy": lambda p: np.save(p, frame.to_numpy(dtype=np.float64), allow_pickle=False),
        ".parquet": lambda p: frame.to_parquet(p, index=False),
    }
    if suffix not in writers:
        raise CLIError(
            f"cannot write {path.name}: use a .csv, .tsv, .parquet or .npy file name for --out."
        )
    with atomic_output(path) as temporary:
        try:
            if suffix == ".npy":
                with open(temporary, "wb") as handle:  # np.save would append .npy to the name
                    np.save(handle, frame.to_numpy(dtype=np.float64), allow_pickle=False)
            else:
                writers[suffix](temporary)
        except ImportError:
            raise CLIError(
                "writing Parquet needs pyarrow; pip install 'gaussmix[parquet]' or use .csv."
            ) from None


def assignments(model, X: np.ndarray, row_ids, threshold: float | None) -> pd.DataFrame:
    """One row per data row: component (1-based), probabilities, uncertainty, log-density,
    anomaly flag (1 = log-density below the threshold).

    Components are numbered by weight, heaviest first, as in the summary, the report and
    the figures: ``prob_1`` is the heaviest component's probability. A noise component's
    probability stays the last column.
    """
    log_density, resp = model._log_density_and_responsibilities(X)  # one pass over X
    order = component_order(model)
    resp = resp[:, np.concatenate([order, np.arange(len(order), resp.shape[1])])]
    table = pd.DataFrame({"row": np.asarray(row_ids), "component": resp.argmax(axis=1) + 1})
    for k in range(resp.shape[1]):
        table[f"prob_{k + 1}"] = resp[:, k]
    table["uncertainty"] = 1.0 - resp.max(axis=1)
    table["log_density"] = log_density
    if threshold is not None:
        table["anomaly"] = (log_density < threshold).astype(int)
    return table
