"""The noise component's region (mclust's hypvol) and the clutter rule, against hand computations."""

import numpy as np
import pytest

from gaussmix.engine.core.noise import (
    NoiseRegion,
    hypervolume_region,
    nearest_neighbour_clutter,
    scaled_box_region,
)


def _rotated_rectangle(length, width, angle, n_side=20):
    """A grid filling a length x width rectangle centred at (3, -2), rotated by angle."""
    u, v = np.meshgrid(
        np.linspace(-length / 2, length / 2, n_side), np.linspace(-width / 2, width / 2, n_side)
    )
    points = np.column_stack([u.ravel(), v.ravel()])
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]]) + np.array([3.0, -2.0])


def test_rotated_rectangle_takes_the_principal_box():
    # A filled 4 x 1 rectangle: its principal axes are its sides, so the principal
    # box is the rectangle itself (volume 4), smaller than the coordinate box.
    angle = np.pi / 6
    X = _rotated_rectangle(4.0, 1.0, angle)
    region = hypervolume_region(X)
    coordinate_box = (4 * np.cos(angle) + 1 * np.sin(angle)) * (4 * np.sin(angle) + np.cos(angle))
    assert coordinate_box > 4.0
    assert region.volume == pytest.approx(4.0, rel=1e-10)
    assert np.allclose(region.centre, [3.0, -2.0])


def test_diagonal_points_take_the_coordinate_box():
    # The unit square's corners plus points along its diagonal: the principal axes are
    # the diagonals, and the box along them is sqrt(2) x sqrt(2) = 2; the coordinate
    # box is the unit square (volume 1), the smaller.
    diagonal = np.linspace(0, 1, 30)
    X = np.vstack([[[0, 0], [1, 0], [0, 1], [1, 1]], np.column_stack([diagonal, diagonal])])
    region = hypervolume_region(X)
    assert region.volume == pytest.approx(1.0, rel=1e-12)
    assert np.allclose(region.axes, np.eye(2))


def test_region_holds_every_row_in_higher_dimensions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    region = hypervolume_region(X)
    coordinates = (X - region.centre) @ region.axes
    assert np.all(np.abs(coordinates) <= region.half_widths * (1 + 1e-12))
    # Each side touches a row: the box is the smallest one with these axes.
    assert np.allclose(np.abs(coordinates).max(axis=0), region.half_widths)
    bounding = np.prod(X.max(axis=0) - X.min(axis=0))
    assert region.volume <= bounding * (1 + 1e-12)


def test_constant_column_is_refused_with_the_fix():
    X = np.column_stack([np.arange(10.0), np.zeros(10)])
    with pytest.raises(ValueError, match="noise_volume"):
        hypervolume_region(X)


def test_given_volume_scales_the_coordinate_box():
    X = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 0.5]])
    region = scaled_box_region(X, 18.0)
    # The 2 x 1 box scaled by 3 about its centre (1, 0.5): 6 x 3 = 18.
    assert np.allclose(region.half_widths, [3.0, 1.5])
    assert np.allclose(region.centre, [1.0, 0.5])
    assert region.volume == pytest.approx(18.0)


def test_region_samples_fall_inside_and_fill_it():
    region = NoiseRegion(np.array([1.0, 2.0]), np.eye(2)[:, ::-1], np.array([1.0, 3.0]))
    points = region.sample(np.random.RandomState(0), 4000)
    # Axes swapped: the first coordinate spans the second half-width.
    assert np.all(np.abs(points[:, 0] - 1.0) <= 3.0) and np.all(np.abs(points[:, 1] - 2.0) <= 1.0)
    assert np.abs(points[:, 0] - 1.0).max() > 2.9 and np.abs(points[:, 1] - 2.0).max() > 0.95


def test_clutter_rule_flags_isolated_points():
    rng = np.random.default_rng(1)
    cluster = rng.normal(size=(300, 2)) * 0.5
    far = np.array([[10.0, 10.0], [-12.0, 7.0], [9.0, -11.0]])
    clutter = nearest_neighbour_clutter(np.vstack([cluster, far]))
    assert clutter[-3:].all()
    # A Gaussian's own tail has far neighbours too: a few start as noise (EM reassigns them).
    assert clutter[:300].mean() < 0.05
