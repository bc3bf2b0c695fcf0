"""The one list of covariance models, their order, and scikit-learn's aliases."""

from __future__ import annotations

from ._base import CovarianceModel
from .diagonal import EEI, EVI, VEI, VVI
from .ellipsoidal import EEE, EEV, EVE, EVV, VEE, VEV, VVE, VVV
from .spherical import EII, VII
from .univariate import E, V, univariate_equivalent

__all__ = [
    "MODELS",
    "UNIVARIATE_MODELS",
    "model_class",
    "models_for_features",
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

#: mclust's two models for one feature (what the fourteen become there), in its order.
UNIVARIATE_MODELS: dict[str, type[CovarianceModel]] = {model.name: model for model in (E, V)}

_ALL_MODELS = {**MODELS, **UNIVARIATE_MODELS}

#: scikit-learn's covariance types and the mclust model each one is.
ALIASES: dict[str, str] = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}

#: Every accepted value of ``covariance_type`` on several features (one feature also
#: takes the `UNIVARIATE_MODELS`).
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
    if name not in _ALL_MODELS:
        raise ValueError(
            f"Unknown covariance_type {covariance_type!r}. "
            f"Use one of {', '.join(map(repr, COVARIANCE_TYPES))} (or, on one feature, "
            "mclust's univariate 'E' and 'V')."
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
    return model_class(covariance_type)(**options)


def model_class(covariance_type: str) -> type[CovarianceModel]:
    """The registered class of ``covariance_type`` (any accepted name, univariate included)."""
    return _ALL_MODELS[canonical_name(covariance_type)]


def models_for_features(names, n_features: int) -> list[str]:
    """mclust codes to fit on data with ``n_features`` columns, in mclust's order.

    On one feature every multivariate code becomes its univariate equivalent (``"E"`` or
    ``"V"``, see `univariate_equivalent`), duplicates dropped, as mclust fits only those
    two. On more features the univariate codes are refused.

    Raises
    ------
    ValueError
        If ``"E"`` or ``"V"`` is asked for on data with several features.
    """
    if n_features == 1:
        wanted = {univariate_equivalent(name) for name in names}
        return [name for name in UNIVARIATE_MODELS if name in wanted]
    for name in names:
        get_covariance_model(name).check_n_features(n_features)
    return list(names)
