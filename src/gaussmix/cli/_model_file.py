"""Model files written by the command line: the mixture plus how to prepare new data.

The CLI stores a `GaussianMixture` with `gaussmix.save`, and in its metadata the
feature columns, the standardisation (if any) and the anomaly threshold, so that
``gaussmix predict`` treats new data exactly as ``gaussmix fit`` treated the training
data. Metadata from a file are untrusted and validated here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..estimators import AnomalyDetector, persistence
from ._errors import CLIError

__all__ = ["Preparation", "ModelFile", "save_model_file", "load_model_file"]


@dataclass(frozen=True)
class Preparation:
    """Feature columns and the optional standardisation ``(x - center) / scale``."""

    columns: list[str]
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    #: True for a model saved without column names: new data's numeric columns are
    #: taken in order.
    positional: bool = False

    @classmethod
    def fit(cls, data: pd.DataFrame, standardize: bool) -> Preparation:
        """Learn the preparation from the training table."""
        if not standardize:
            return cls(list(data.columns))
        values = data.to_numpy(dtype=np.float64)
        # Missing values (NaN, kept by --missing marginalize) are left out of the moments.
        # A column with fewer than two observed values gets NaN and is refused below.
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            center = np.nanmean(values, axis=0)
            scale = np.nanstd(values, axis=0, ddof=1)
        return cls._standardizing(list(data.columns), center, scale)

    @classmethod
    def from_moments(cls, columns: list[str], moments) -> Preparation:
        """Standardisation from column moments computed in one pass over batches.

        Parameters
        ----------
        columns : list of str
            The feature columns.
        moments : ColumnMoments
            From `gaussmix.engine.data.standardized.column_moments`.

        Returns
        -------
        Preparation
        """
        return cls._standardizing(list(columns), moments.mean, moments.std)

    @classmethod
    def _standardizing(cls, columns: list[str], center, scale) -> Preparation:
        constant = [c for c, s in zip(columns, scale, strict=True) if not s > 0]
        if constant:
            raise CLIError(
                f"cannot standardise constant column(s) {', '.join(map(repr, constant))}; "
                "drop them with --columns."
            )
        return cls(
            columns, np.asarray(center, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        )

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """The model's input from a table that has (at least) the feature columns."""
        if self.positional:
            if data.shape[1] != len(self.columns):
                raise CLIError(
                    f"the model expects {len(self.columns)} numeric column(s), the data have "
                    f"{data.shape[1]}; choose them with --columns."
                )
            return data.to_numpy(dtype=np.float64)
        absent = [c for c in self.columns if c not in data.columns]
        if absent:
            raise CLIError(
                f"the data lack the model's column(s) {', '.join(map(repr, absent))}; pass "
                "data with the columns the model was fitted on."
            )
        values = data[self.columns].to_numpy(dtype=np.float64)
        if self.center is None:
            return values
        return (values - self.center) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Back to the data's units."""
        return values if self.center is None else values * self.scale + self.center

    def to_metadata(self) -> dict:
        """JSON-ready description."""
        standardize = None
        if self.center is not None:
            standardize = {"center": self.center.tolist(), "scale": self.scale.tolist()}
        return {"columns": list(self.columns), "standardize": standardize}

    @classmethod
    def from_metadata(cls, metadata: dict, n_features: int) -> Preparation:
        """Validate and rebuild (raises ValueError on anything unexpected)."""
        columns = metadata.get("columns")
        if columns is None:
            if metadata.get("standardize") is not None:
                raise ValueError("it has standardisation metadata but no column names")
            return cls([f"x{i + 1}" for i in range(n_features)], positional=True)
        if (
            not isinstance(columns, list)
            or len(columns) != n_features
            or not all(isinstance(c, str) for c in columns)
        ):
            raise ValueError(f"its column names are not a list of {n_features} strings")
        standardize = metadata.get("standardize")
        if standardize is None:
            return cls(columns)
        try:
            center = np.array(standardize["center"], dtype=np.float64)
            scale = np.array(standardize["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise ValueError("its standardisation metadata are malformed") from None
        if (
            center.shape != (n_features,)
            or scale.shape != (n_features,)
            or not np.all(np.isfinite(center))
            or not np.all(np.isfinite(scale))
            or np.any(scale <= 0)
        ):
            raise ValueError("its standardisation metadata are malformed")
        return cls(columns, center, scale)


@dataclass(frozen=True)
class ModelFile:
    """What a CLI model file holds."""

    model: object
    preparation: Preparation
    threshold: float | None
    metadata: dict


def save_model_file(path, model, preparation: Preparation, threshold, extra: dict) -> None:
    """Save the mixture with the preparation and threshold in its metadata."""
    metadata = {
        **extra,
        "cli": {
            **preparation.to_metadata(),
            "anomaly_threshold": None if threshold is None else float(threshold),
        },
    }
    persistence.save(model, path, metadata=metadata)


def load_model_file(path) -> ModelFile:
    """Load and validate a model file (from ``gaussmix fit`` or `gaussmix.save`)."""
    try:
        model, metadata = persistence.read_model_file(path)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    threshold = None
    if isinstance(model, AnomalyDetector):
        threshold, model = model.threshold_, model.mixture_
    cli = metadata.get("cli", {})
    try:
        if not isinstance(cli, dict):
            raise ValueError("its 'cli' metadata are not an object")
        preparation = Preparation.from_metadata(cli, model.n_features_in_)
        names = getattr(model, "feature_names_in_", None)
        if "columns" not in cli and names is not None:
            preparation = Preparation(
                [str(n) for n in names], preparation.center, preparation.scale
            )
        stored = cli.get("anomaly_threshold")
        if stored is not None:
            if isinstance(stored, bool) or not isinstance(stored, (int, float)):
                raise ValueError("its anomaly threshold is not a number")
            if not np.isfinite(stored):
                raise ValueError("its anomaly threshold is not finite")
            threshold = float(stored)
    except ValueError as exc:
        raise CLIError(
            f"model file {str(path)!r} is invalid: {exc}; re-create it with gaussmix fit."
        ) from None
    return ModelFile(model, preparation, threshold, metadata)
