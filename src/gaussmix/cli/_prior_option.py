"""``gaussmix fit --prior default``: which covariance models a MAP fit can use."""

from __future__ import annotations

from ..engine.map_prior import MAP_MODELS
from ._errors import CLIError

__all__ = ["map_covariance_types"]


def map_covariance_types(models: list[str], requested: str) -> list[str]:
    """``models`` restricted to those with a closed-form MAP M-step.

    With ``--covariance-types all`` the others are dropped; naming one explicitly is an error.
    """
    unsupported = [model for model in models if model not in MAP_MODELS]
    if unsupported and requested.strip().lower() != "all":
        raise CLIError(
            f"--prior default does not support {', '.join(unsupported)}; use models among "
            f"{', '.join(MAP_MODELS)} (or --covariance-types all, which keeps those)."
        )
    return [model for model in models if model in MAP_MODELS]
