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

__all__ = [
    "MODELS",
    "ALIASES",
    "COVARIANCE_TYPES",
    "canonical_name",
    "get_covariance_model",
    "names_with",
    "register",
    "unregister",
]

#: The models, in mclust's order.
_REGISTERED: tuple[type[CovarianceModel], ...] = (
    EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV,
)

#: Registered models by mclust code, in mclust's order.
MODELS: dict[str, type[CovarianceModel]] = {}

#: scikit-learn's covariance types and the mclust model each one is.
ALIASES: dict[str, str] = {}

#: Every accepted value of ``covariance_type`` (aliases first, then mclust codes).
COVARIANCE_TYPES: list[str] = []


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
