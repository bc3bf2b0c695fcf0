"""The interface every covariance model implements."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..forms import (
    ILL_DEFINED_COVARIANCE,
    CovarianceForm,
    SingularCovarianceError,
    singular_covariance_message,
)
from ..scatter import Scatter

__all__ = ["CovarianceModel"]


def _smallest_variances(scatter: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each component's variance in its flattest direction, ``min eig(W_k) / n_k``."""
    if scatter.ndim == 2:
        smallest = scatter.min(axis=-1)
    else:
        finite = np.all(np.isfinite(scatter), axis=(1, 2))
        smallest = np.full(len(scatter), np.nan)
        if np.any(finite):
            smallest[finite] = np.linalg.eigvalsh(scatter[finite])[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return smallest / counts


def _pooled_variance(scatter: np.ndarray, counts: np.ndarray) -> float:
    """Average within-component variance per feature, ``sum_k tr(W_k) / (n d)``."""
    traces = scatter.sum(axis=-1) if scatter.ndim == 2 else np.trace(scatter, axis1=1, axis2=2)
    return float(traces.sum() / (counts.sum() * scatter.shape[-1]))


class CovarianceModel:
    """A parametrisation ``Sigma_k = lambda_k D_k A_k D_k^T`` with its constraints.

    Subclasses set the class attributes and implement `estimate_covariances` and
    `n_covariance_parameters`; everything else is shared.

    Parameters
    ----------
    inner_tol : float, default=1e-8
        Tolerance of iterative M-steps (models without a closed form): they stop when
        the objective changes by less than ``inner_tol`` times the total weight, a
        criterion that does not depend on the data's units.
    inner_max_iter : int, default=100
        Iteration cap of iterative M-steps.

    Attributes
    ----------
    name : str
        The mclust code: volume, shape, orientation, each E(qual), V(ariable) or I(dentity).
    description : str
        The constraint in words, as mclust prints it.
    form : type of CovarianceForm
        How the fitted covariances are stored and evaluated.
    scatter : Scatter
        Which second moments the E-step must accumulate for this model.

    Capabilities, declared by every model (`CAPABILITIES`; a registered class that
    leaves one out is refused) and asked by estimators, selection and the CLI instead
    of a model's name:

    sklearn_name : str or None
        scikit-learn's ``covariance_type`` for this model (``"full"`` for VVV), if any.
    one_point_safe : bool
        Whether the estimate stays defined when a component sits on one point (the
        ridge ``reg_covar`` then gives it a positive covariance): no volume or shape is
        shared through a division by it.
    supports_map : bool
        Whether the posterior mode under a conjugate prior has a closed form here
        (`map_covariances`).
    supports_variational : bool
        Whether the covariances have a Normal-Wishart variational posterior
        (`variational_points_per_precision`).
    ridge_rescues_zero_scatter : bool
        Whether ``reg_covar`` keeps the estimate defined when a component's scatter is
        exactly zero along some direction (nothing is divided by that component's own
        volume or shape before the ridge is added).
    compiled_constraint : str or None
        mclust's three constraint letters (volume, shape, orientation) of the M-step the
        compiled kernels (`gaussmix.engine.kernels`) compute for this model (closed forms,
        and the iterative ones with this model's `inner_tol` and `inner_max_iter`), so
        that a small in-memory fit runs its whole EM loop compiled; None when they do not
        (EVE, VVE: the model's E-steps may still run compiled). A subclass that overrides
        `estimate` or `estimate_covariances` without declaring its own
        ``compiled_constraint`` gets None: the compiled loop would otherwise fit its
        parent's covariances instead of its own.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    form: ClassVar[type[CovarianceForm]]
    scatter: ClassVar[Scatter]
    sklearn_name: ClassVar[str | None]
    one_point_safe: ClassVar[bool]
    supports_map: ClassVar[bool]
    supports_variational: ClassVar[bool]
    ridge_rescues_zero_scatter: ClassVar[bool]
    compiled_constraint: ClassVar[str | None]

    #: What every model declares about itself.
    CAPABILITIES: ClassVar[tuple[str, ...]] = (
        "sklearn_name",
        "one_point_safe",
        "supports_map",
        "supports_variational",
        "ridge_rescues_zero_scatter",
        "compiled_constraint",
    )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        overrides_m_step = any(name in vars(cls) for name in ("estimate", "estimate_covariances"))
        inherits_compiled = getattr(cls, "compiled_constraint", None) is not None
        if overrides_m_step and inherits_compiled and "compiled_constraint" not in vars(cls):
            cls.compiled_constraint = None

    @classmethod
    def undeclared_capabilities(cls) -> list[str]:
        """The `CAPABILITIES` this class (or a base below `CovarianceModel`) leaves out."""
        return [name for name in cls.CAPABILITIES if not hasattr(cls, name)]

    def __init__(self, inner_tol: float = 1e-8, inner_max_iter: int = 100):
        self.inner_tol = inner_tol
        self.inner_max_iter = inner_max_iter

    def check_n_features(self, n_features: int) -> None:
        """Refuse data the model cannot describe (only univariate models refuse any).

        Raises
        ------
        ValueError
            If the model needs another number of features.
        """

    def estimate_covariances(
        self,
        scatter: np.ndarray,
        counts: np.ndarray,
        previous: CovarianceForm | None,
    ) -> np.ndarray:
        """Maximum-likelihood covariances (compact shape of `form`) under the constraint.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d) or (K, d)
            Weighted scatter of each component about its mean, ``W_k``
            (the diagonal only when `scatter` is diagonal).
        counts : ndarray of shape (K,)
            Weighted soft counts ``n_k``.
        previous : CovarianceForm or None
            The current covariances; iterative M-steps start from them.
        """
        raise NotImplementedError

    @staticmethod
    def n_covariance_parameters(n_components: int, n_features: int) -> int:
        """Number of free covariance parameters, counted as mclust counts them."""
        raise NotImplementedError

    def map_covariances(self, data_term, counts, prior, n_features: int) -> np.ndarray:
        """Posterior mode of the covariances under a conjugate prior (if `supports_map`).

        Parameters
        ----------
        data_term : ndarray
            The scatter plus the prior's shrinkage term, in the shape of `scatter`.
        counts : ndarray of shape (K,)
            Weighted soft counts.
        prior : object
            The resolved prior, with ``scale`` (a matrix for full-scatter models, else a
            number) and ``dof``.
        n_features : int

        Returns
        -------
        ndarray
            Covariances in the compact shape of `form`.
        """
        raise NotImplementedError(f"{self.name} has no closed-form posterior mode")

    def variational_points_per_precision(self, counts: np.ndarray) -> np.ndarray | float:
        """How many points inform each stored precision of a variational fit.

        Each component's own count, unless a model shares one covariance (EEE).
        """
        return counts

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the whole mixture: covariances, means and weights."""
        return (
            self.n_covariance_parameters(n_components, n_features)
            + n_components * n_features
            + n_components
            - 1
        )

    def estimate(
        self,
        scatter: np.ndarray,
        counts: np.ndarray,
        reg_covar: float,
        previous: CovarianceForm | None = None,
    ) -> CovarianceForm:
        """M-step for the covariances: constrained estimate plus ``reg_covar`` ridge.

        Raises
        ------
        SingularCovarianceError
            If a covariance is not positive definite; the message names what helps.
        """
        # Degenerate statistics (an emptied or collapsed component) give non-finite values
        # here; the form then raises SingularCovarianceError, explained below.
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                covariances = self.estimate_covariances(scatter, counts, previous)
            return self.form.from_covariances(self.form.add_to_diagonal(covariances, reg_covar))
        except (np.linalg.LinAlgError, SingularCovarianceError) as exc:
            message = self._flat_component_message(scatter, counts, reg_covar)
            if message is not None:
                raise SingularCovarianceError(message) from exc
            if isinstance(exc, SingularCovarianceError):
                raise
            raise SingularCovarianceError(singular_covariance_message()) from exc

    def _flat_component_message(
        self, scatter: np.ndarray, counts: np.ndarray, reg_covar: float
    ) -> str | None:
        """What helps when a component has no spread in some direction (else None)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = _pooled_variance(scatter, counts)
            flat = _smallest_variances(scatter, counts) <= max(
                reg_covar, np.finfo(float).eps * pooled
            )
        if not np.any(flat) or not np.isfinite(pooled) or pooled <= 0:
            return None
        from .registry import names_with  # the registry imports this module

        alternatives = ", ".join(name for name in names_with("one_point_safe") if name != self.name)
        zero_spread = np.any(_smallest_variances(scatter, counts) == 0)
        if zero_spread and not self.ridge_rescues_zero_scatter:
            # The scatter is exactly zero along some direction (see Scatter.about_mean):
            # this model divides by the component's own volume or shape before any
            # ridge is added, so no reg_covar can help.
            return (
                f"{ILL_DEFINED_COVARIANCE} Here a component of the {self.name} model has no "
                "spread at all along some direction (e.g. it holds a single point, or rows "
                "tied in a column), and the model divides by that component's own volume "
                f"or shape before reg_covar (now {reg_covar:g}) is added, so no reg_covar "
                "helps. Use fewer components, or a model that allows a one-point component "
                f"with a positive reg_covar, such as {alternatives}."
            )
        # A tenth of the average within-component variance keeps the E-step from giving a
        # component to a single point, and is small beside the clusters' spread.
        suggested = float(f"{0.1 * pooled:.1g}")
        return (
            f"{ILL_DEFINED_COVARIANCE} Here {int(flat.sum())} of the {len(counts)} components "
            f"{'holds' if flat.sum() == 1 else 'hold'} their weight on (almost) a single point or a flat set (e.g. fewer points "
            "than features + 1), as happens when n_components is close to the number of rows, "
            f"and the current reg_covar={reg_covar:g} does not give the {self.name} estimate "
            "enough spread. Use fewer components, a larger reg_covar (e.g. "
            f"reg_covar={suggested:g}, a tenth of the average within-component variance, or "
            "more), or a model that allows a one-point component with a positive reg_covar, "
            f"such as {alternatives}."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
