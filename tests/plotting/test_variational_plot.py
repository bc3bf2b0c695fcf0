"""plot.variational_weights: one bar per component, the pruned ones grey."""

import numpy as np
import pytest
from matplotlib.colors import to_hex

from gaussmix import BayesianGaussianMixture, plot
from gaussmix.plotting.variational import PRUNED_COLOR


def test_bars_below_the_threshold_are_grey():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(7, 1, (150, 2))])
    bgm = BayesianGaussianMixture(
        n_components=5, weight_concentration_prior=0.01, random_state=0
    ).fit(X)
    ax = plot.variational_weights(bgm, threshold=0.05)
    bars = ax.patches
    assert len(bars) == 5
    # Heaviest first: bar j is "component j" of every other figure and table.
    heaviest_first = np.sort(bgm.weights_)[::-1]
    np.testing.assert_allclose([bar.get_height() for bar in bars], heaviest_first)
    grey = [to_hex(bar.get_facecolor()) == PRUNED_COLOR.lower() for bar in bars]
    assert grey == list(heaviest_first < 0.05)
    assert f"{bgm.prune(0.05).n_components} of 5" in ax.get_title()


def test_threshold_must_be_a_weight():
    class Fitted:
        weights_ = np.array([0.5, 0.5])

    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        plot.variational_weights(Fitted(), threshold=2.0)
