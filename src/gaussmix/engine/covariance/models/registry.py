"""The one list of covariance models, their order, and scikit-learn's aliases."""

from __future__ import annotations

from ._base import CovarianceModel
from .diagonal import EEI, EVI, VEI, VVI
from .ellipsoidal import EEE, EEV, EVE, EVV, VEE, VEV, VVE, VVV
from .spherical import EII, VII

__all__ = [
    "MODELS",
    "ALIASES",
    "COVARIANCE_TYPES",
    "canonical_name",
    "get_covariance_model",
]

#: Registered models by mclust code, in mclust's order.
MODELS: dict[str, type[CovarianceModel]] = {
    model.name: model
    for model in (EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV)
}

#: scikit-learn's covariance types and the mclust model each one is.
ALIASES: dict[str, str] = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}

#: Every accepted value of ``covariance_type``.
COVARIANCE_TYPES: tuple[str, ...] = (*ALIASES, *MODELS)


def canonical_name(covariance_type: str) -> str:
    """The mclust code for ``covariance_type`` (an mclust code or a scikit-learn alias).

    Raises
    ------
    ValueError
        If the name is not registered; the message lists the valid names.
    """
    if not isinstance(covariance_type, str):
        raise TypeError(
            f"covariance_type must be a string, got {type(covariance_type).__name__}. "
            f"Use one of {', '.join(map(repr, COVARIANCE_TYPES))}."
        )
    name = ALIASES.get(covariance_type, covariance_type)
    if name not in MODELS:
        raise ValueError(
            f"Unknown covariance_type {covariance_type!r}. "
            f"Use one of {', '.join(map(repr, COVARIANCE_TYPES))}."
        )
    return name


def get_covariance_model(covariance_type: str, **options) -> CovarianceModel:
    """Instantiate the covariance model named ``covariance_type``.

    Parameters
    ----------
    covariance_type : str
        An mclust code (``"VVV"``, ``"EEI"``, ...) or a scikit-learn alias
        (``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``).
    **options
        Passed to the model (``inner_tol``, ``inner_max_iter``).
    """
    return MODELS[canonical_name(covariance_type)](**options)
