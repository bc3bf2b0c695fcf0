"""The ``noise`` and ``noise_volume`` parameters of `GaussianMixture`.

See `gaussmix.engine.core.noise` for the model. This module validates the parameters, finds
the region and the initial noise rows, and turns Gaussian starting parameters into
starting parameters with a noise component.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..checks.parameters import Rule, is_real
from ..engine.core.noise import (
    MIN_INITIAL_NOISE,
    NoiseComponent,
    NoiseRegion,
    hypervolume_region,
    initial_mask,
    noise_requested,
    scaled_box_region,
)

__all__ = [
    "NOISE_RULES",
    "NoiseStart",
    "noise_start",
    "with_noise",
]


def _accepts_noise(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (np.ndarray, list, tuple))


#: Rules of the noise parameters (merged into `GaussianMixture._rules`).
NOISE_RULES = {
    "noise": Rule(_accepts_noise, "True, False or a boolean array with one entry per row"),
    "noise_volume": Rule(
        lambda v: v is None or (is_real(v) and np.isfinite(v) and v > 0),
        "None or a positive finite volume",
    ),
}


@dataclass(frozen=True)
class NoiseStart:
    """Where a fit with a noise component starts.

    Attributes
    ----------
    mask : ndarray of bool, shape (n_samples,)
        Rows that start as noise (the Gaussians start from the others).
    region : NoiseRegion
        The noise component's region (fixed during EM).
    """

    mask: np.ndarray
    region: NoiseRegion


def noise_start(estimator, data, X, weights, labels) -> NoiseStart | None:
    """The noise component's start for a fit, or None when ``noise`` is off.

    Raises
    ------
    ValueError
        For combinations not supported (missing values, partial labels, data sampled
        for initialisation) or a bad mask; each message names the fix.
    """
    if not noise_requested(estimator.noise):
        return None
    unsupported = [
        (estimator.missing != "error", "missing='marginalize'"),
        (labels is not None, "partial labels (y)"),
        (X.shape[0] != data.n_samples, "data sampled for initialisation (Dask input)"),
    ]
    for refused, what in unsupported:
        if refused:
            raise ValueError(
                f"A noise component cannot be combined with {what} yet. Set noise=False, "
                "or fit in memory by full EM without it."
            )
    mask = initial_mask(estimator.noise, X) & (weights > 0)
    present = X[weights > 0]
    region = (
        hypervolume_region(present)
        if estimator.noise_volume is None
        else scaled_box_region(present, float(estimator.noise_volume))
    )
    n_gaussian_rows = int(np.count_nonzero((weights > 0) & ~mask))
    if n_gaussian_rows < estimator.n_components:
        raise ValueError(
            f"Only {n_gaussian_rows} rows are not initial noise, fewer than "
            f"n_components={estimator.n_components}. Pass a noise mask with fewer rows, "
            "or use fewer components."
        )
    return NoiseStart(mask, region)


def with_noise(params, start: NoiseStart, weights: np.ndarray):
    """Gaussian starting parameters sharing their weight with the initial noise.

    The initial noise weight is the weight of the initial noise rows, at least
    `MIN_INITIAL_NOISE` (so that EM can still grow it).
    """
    total = float(np.sum(weights, dtype=np.float64))
    noise_weight = float(np.sum(weights[start.mask], dtype=np.float64)) / total
    noise_weight = min(max(noise_weight, MIN_INITIAL_NOISE), 1.0 - MIN_INITIAL_NOISE)
    return replace(
        params,
        weights=np.asarray(params.weights, dtype=np.float64) * (1.0 - noise_weight),
        noise=NoiseComponent(noise_weight, start.region),
    )
