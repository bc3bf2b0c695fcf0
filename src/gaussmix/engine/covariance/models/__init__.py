"""Covariance models (mclust's parametrisations), one small class each, in one registry."""

from ._base import CovarianceModel
from .registry import (
    ALIASES,
    COVARIANCE_TYPES,
    MODELS,
    UNIVARIATE_MODELS,
    canonical_name,
    get_covariance_model,
    model_class,
    model_order,
    models_for_features,
    names_with,
    register,
    unregister,
)

__all__ = [
    "CovarianceModel",
    "MODELS",
    "UNIVARIATE_MODELS",
    "ALIASES",
    "COVARIANCE_TYPES",
    "canonical_name",
    "get_covariance_model",
    "model_class",
    "model_order",
    "models_for_features",
    "names_with",
    "register",
    "unregister",
]
