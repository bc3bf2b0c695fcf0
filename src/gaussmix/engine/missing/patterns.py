"""Missingness patterns: which coordinates of each row are missing, and rows grouped by pattern.

The kernels evaluate rows with the same missing coordinates together, so the inverse
of each observed block is computed once per pattern and component, not once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["missingness_patterns"]


def missingness_patterns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct patterns of observed coordinates and the pattern of each row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN where a value is missing.

    Returns
    -------
    patterns : ndarray of bool, shape (n_patterns, n_features)
        ``patterns[p, j]`` is True where coordinate ``j`` is observed in pattern ``p``.
    pattern_of_row : ndarray of int, shape (n_samples,)
        Index into ``patterns`` of each row.
    """
    return _observed_patterns(~np.isnan(X))


def _observed_patterns(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`missingness_patterns` of a boolean mask of observed values."""
    n_features = observed.shape[1]
    packed = np.packbits(observed, axis=1, bitorder="little")
    padding = (-packed.shape[1]) % 8
    if padding:
        packed = np.pad(packed, ((0, 0), (0, padding)))
    keys = np.ascontiguousarray(packed).view(np.uint64)
    if keys.shape[1] == 1:
        _, first_row, pattern_of_row = np.unique(keys[:, 0], return_index=True, return_inverse=True)
    else:
        _, first_row, pattern_of_row = np.unique(
            keys, axis=0, return_index=True, return_inverse=True
        )
    patterns = observed[first_row][:, :n_features]
    return patterns, pattern_of_row.ravel()


@dataclass(frozen=True)
class _PatternGroup:
    """The rows ``start:stop`` of a block sorted by pattern: all patterns with ``m`` missing.

    The first ``n_large`` patterns have at least `_LARGE_PATTERN_ROWS` rows each and are
    computed one at a time by matrix products; the rows of the others are batched.

    Attributes
    ----------
    start, stop : int
        The group's rows in the sorted block.
    missing : ndarray of int, shape (m, n_patterns)
        The missing coordinates of each pattern of the group (a column each), increasing.
    pattern_starts : ndarray of int, shape (n_patterns + 1,)
        First row of each pattern, counted from ``start``, then ``stop - start``.
    n_large : int
        Number of patterns with many rows (they come first).
    pattern_of_row : ndarray of int, shape (n_batched_rows,)
        Pattern (a column of ``missing``) of each batched row, non-decreasing.
    """

    start: int
    stop: int
    missing: np.ndarray
    pattern_starts: np.ndarray
    n_large: int
    pattern_of_row: np.ndarray

    @property
    def rows(self) -> slice:
        """The group's rows in the sorted block."""
        return slice(self.start, self.stop)

    def pattern_rows(self, pattern: int) -> slice:
        """The rows of one pattern in the sorted block."""
        return slice(
            self.start + self.pattern_starts[pattern], self.start + self.pattern_starts[pattern + 1]
        )

    @property
    def batched_rows(self) -> slice:
        """The rows of the patterns with few rows, in the sorted block."""
        return slice(self.start + self.pattern_starts[self.n_large], self.stop)


#: Patterns with at least this many rows in a block get their own matrix products;
#: the rows of rarer patterns are batched (a Python step per pattern would cost more).
_LARGE_PATTERN_ROWS = 128


def _count_missing(missing: np.ndarray) -> np.ndarray:
    """Missing values per row of a boolean mask (a byte product: faster than a bool sum)."""
    if missing.shape[1] < 256:
        return missing.view(np.uint8) @ np.ones(missing.shape[1], dtype=np.uint8)
    return missing.sum(axis=1)


def _pattern_order(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An order of the rows that brings equal patterns together, and where the sorted
    rows start a new pattern (bool, shape (n_rows - 1,)).

    The pattern's bits make an integer key (up to 64 features) in the narrowest unsigned
    type, sorted by a least-significant-digit radix sort on 16-bit digits: NumPy's stable
    sort of 16-bit integers is a radix sort, several times faster than sorting 64-bit
    keys.
    """
    n_rows, n_features = missing.shape
    if n_features > 64:
        packed = np.packbits(missing, axis=1, bitorder="little")
        order = np.lexsort(packed.T[::-1])
        sorted_packed = packed[order]
        return order, (sorted_packed[1:] != sorted_packed[:-1]).any(axis=1)
    key_type = next(t for t in (np.uint16, np.uint32, np.uint64) if n_features <= 8 * t().itemsize)
    bits = (np.uint64(1) << np.arange(n_features, dtype=np.uint64)).astype(key_type)
    keys = missing.view(np.uint8) @ bits
    order = np.argsort(keys.astype(np.uint16), kind="stable")
    for shift in range(16, n_features, 16):
        digits = (keys[order] >> key_type(shift)).astype(np.uint16)
        order = order[np.argsort(digits, kind="stable")]
    sorted_keys = keys[order]
    return order, sorted_keys[1:] != sorted_keys[:-1]


def _pattern_groups(
    missing: np.ndarray, n_missing: np.ndarray
) -> tuple[np.ndarray, list[_PatternGroup]]:
    """An order of the rows that sorts them by pattern, and the groups of that order.

    Parameters
    ----------
    missing : ndarray of bool, shape (n_rows, n_features)
        Every row has at least one missing and one observed value.
    n_missing : ndarray of int, shape (n_rows,)
        Missing values per row.

    Returns
    -------
    order : ndarray of int, shape (n_rows,)
        ``missing[order]`` has its rows grouped by number of missing values, with the
        patterns of many rows first in each group, and the rows of a pattern together.
    groups : list of _PatternGroup
        One per number of missing values present, in increasing order.
    """
    order, new_pattern = _pattern_order(missing)
    starts = np.flatnonzero(np.concatenate([[True], new_pattern]))
    sizes = np.diff(starts, append=order.size)
    pattern_n_missing = n_missing[order[starts]]
    small = sizes < _LARGE_PATTERN_ROWS
    # Large patterns first within each number of missing values (a stable sort keeps
    # the key order otherwise); the rows follow their patterns.
    permutation = np.lexsort((small, pattern_n_missing))
    sizes = sizes[permutation]
    new_starts = np.cumsum(sizes) - sizes
    order = order[np.repeat(starts[permutation] - new_starts, sizes) + np.arange(order.size)]
    small = small[permutation]
    pattern_n_missing = pattern_n_missing[permutation]
    patterns = missing[order[new_starts]]
    pattern_of_row = np.repeat(np.arange(sizes.size), sizes)
    bounds = np.flatnonzero(np.diff(pattern_n_missing, prepend=-1, append=-1))
    ends = np.append(new_starts, order.size)
    # Missing coordinates of every pattern, row by row: a group's are one stretch.
    coordinates = np.flatnonzero(patterns) % patterns.shape[1]
    stretch = np.zeros(pattern_n_missing.size + 1, dtype=np.intp)
    np.cumsum(pattern_n_missing, out=stretch[1:])
    groups = []
    for first, last in zip(bounds[:-1], bounds[1:], strict=True):
        m = int(pattern_n_missing[first])
        start, stop = int(ends[first]), int(ends[last])
        n_large = int(np.count_nonzero(~small[first:last]))
        missing_of_group = coordinates[stretch[first] : stretch[last]].reshape(last - first, m)
        groups.append(
            _PatternGroup(
                start=start,
                stop=stop,
                missing=np.ascontiguousarray(missing_of_group.T),
                pattern_starts=ends[first : last + 1] - start,
                n_large=n_large,
                pattern_of_row=pattern_of_row[int(ends[first + n_large]) : stop] - first,
            )
        )
    return order, groups
