"""The one list of covariance models, their order, and what follows from it.

Everything else about the models is asked of the classes themselves: scikit-learn's
names (`CovarianceModel.sklearn_name`) and capabilities (`names_with`). Adding a model
is one class and one line in `_REGISTERED`.
"""

from __future__ import annotations

from ._base import CovarianceModel
from .diagonal import EEI, EVI, VEI, VVI
from .ellipsoidal import EEE, EEV, EVE, EVV, VEE, VEV, VVE, VVV
from .spherical import EII, VII
from .univariate import E, V, univariate_equivalent

__all__ = [
    "MODELS",
    "ALIASES",
    "COVARIANCE_TYPES",
    "UNIVARIATE_MODELS",
    "canonical_name",
    "get_covariance_model",
    "model_class",
    "model_order",
    "models_for_features",
    "names_with",
    "register",
    "unregister",
]

#: The models, in mclust's order.
_REGISTERED: tuple[type[CovarianceModel], ...] = (
    EII,
    VII,
    EEI,
    VEI,
    EVI,
    VVI,
    EEE,
    VEE,
    EVE,
    VVE,
    EEV,
    VEV,
    EVV,
    VVV,
)

#: Registered models by mclust code, in mclust's order.
MODELS: dict[str, type[CovarianceModel]] = {}

#: scikit-learn's covariance types and the mclust model each one is.
ALIASES: dict[str, str] = {}

#: Every accepted value of ``covariance_type`` on several features (aliases first, then
#: mclust codes); one feature also takes the `UNIVARIATE_MODELS`.
COVARIANCE_TYPES: list[str] = []

#: mclust's two models for one feature (what the fourteen become there), in its order.
UNIVARIATE_MODELS: dict[str, type[CovarianceModel]] = {model.name: model for model in (E, V)}


def _refresh_names() -> None:
    ALIASES.clear()
    ALIASES.update(
        {model.sklearn_name: code for code, model in MODELS.items() if model.sklearn_name}
    )
    COVARIANCE_TYPES[:] = [*ALIASES, *MODELS]


def register(model: type[CovarianceModel]) -> type[CovarianceModel]:
    """Add a covariance model to the registry (after the others); returns it.

    Raises
    ------
    TypeError
        If the class leaves a capability undeclared, or its name is taken.
    """
    missing = model.undeclared_capabilities()
    if missing:
        raise TypeError(
            f"covariance model {model.__name__} does not declare {', '.join(missing)}; "
            "every model sets each of CovarianceModel.CAPABILITIES as a class attribute."
        )
    if model.name in MODELS or model.name in ALIASES:
        raise TypeError(f"a covariance model named {model.name!r} is already registered.")
    MODELS[model.name] = model
    _refresh_names()
    return model


def unregister(name: str) -> None:
    """Remove a registered model (for tests that register a throwaway one)."""
    del MODELS[name]
    _refresh_names()


for _model in _REGISTERED:
    register(_model)


def model_order() -> list[str]:
    """Every registered code in mclust's order, the univariate ones last."""
    return [*MODELS, *UNIVARIATE_MODELS]


def names_with(capability: str) -> list[str]:
    """mclust codes of the registered models whose ``capability`` is true, in order."""
    if capability not in CovarianceModel.CAPABILITIES:
        raise ValueError(
            f"unknown capability {capability!r}; one of {CovarianceModel.CAPABILITIES}."
        )
    return [code for code, model in MODELS.items() if getattr(model, capability)]


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
    if name not in MODELS and name not in UNIVARIATE_MODELS:
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
    name = canonical_name(covariance_type)
    return UNIVARIATE_MODELS[name] if name in UNIVARIATE_MODELS else MODELS[name]


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
