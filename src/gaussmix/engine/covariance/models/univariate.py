"""mclust's univariate models: ``"E"`` (equal variance) and ``"V"`` (varying variance).

With one feature the fourteen multivariate models collapse into two: every model with
equal volume is ``"E"``, every model with varying volume is ``"V"`` (the shape and the
orientation of a 1 x 1 covariance are fixed). mclust then fits and names only these two;
so does gaussmix (`select_model` on one feature, or ``covariance_type="E"``/``"V"``).
"""

from __future__ import annotations

from .spherical import EII, VII

__all__ = ["E", "V", "univariate_equivalent"]


def _one_feature_only(name: str, n_features: int) -> None:
    if n_features != 1:
        raise ValueError(
            f"covariance_type={name!r} is mclust's univariate model and needs data with one "
            f"feature, but X has {n_features}. For several features use a multivariate "
            f"model, e.g. {'EII' if name == 'E' else 'VII'} (its equivalent) or 'VVV'."
        )


class E(EII):
    """Univariate, equal variance: one variance shared by every component."""

    name = "E"
    description = "univariate, equal variance"

    def check_n_features(self, n_features: int) -> None:
        _one_feature_only(self.name, n_features)


class V(VII):
    """Univariate, varying variance: each component its own variance."""

    name = "V"
    description = "univariate, unequal variance"
    sklearn_name = None  # "spherical" names VII, on any number of features

    def check_n_features(self, n_features: int) -> None:
        _one_feature_only(self.name, n_features)


def univariate_equivalent(name: str) -> str:
    """The univariate model a multivariate mclust code becomes on one feature.

    The volume letter decides: ``"EII"``, ``"EEE"``, ``"EVV"``, ... give ``"E"``;
    ``"VII"``, ``"VVV"``, ... give ``"V"``. ``"E"`` and ``"V"`` are returned unchanged.
    """
    return name[0]
