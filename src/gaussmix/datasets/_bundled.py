"""Real data sets that ship inside the package (no download at run time)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_faithful", "load_diabetes"]

DIABETES_CLASSES = ("Normal", "Chemical", "Overt")


def _read_bundled_csv(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath("data").joinpath(name).open("rb") as handle:
        return pd.read_csv(handle)


def load_faithful() -> pd.DataFrame:
    """Old Faithful geyser eruptions (272 rows), the classic two-cluster mixture data.

    Returns
    -------
    data : DataFrame of shape (272, 2)
        ``eruptions`` (eruption length, minutes) and ``waiting`` (minutes to the next
        eruption). Härdle (1991); Azzalini & Bowman (1990); R's ``datasets::faithful``.

    Examples
    --------
    >>> from gaussmix.datasets import load_faithful
    >>> load_faithful().shape
    (272, 2)
    """
    return _read_bundled_csv("faithful.csv")


def load_diabetes() -> pd.DataFrame:
    """Reaven & Miller's (1979) chemical diabetes study (145 non-obese adults).

    Returns
    -------
    data : DataFrame of shape (145, 4)
        ``class`` (the clinical classification, an ordered categorical ``Normal`` <
        ``Chemical`` < ``Overt``), ``glucose`` and ``insulin`` (areas under the plasma
        glucose and insulin curves) and ``sspg`` (steady-state plasma glucose). The
        version distributed with R's mclust before version 6.

    Examples
    --------
    >>> from gaussmix.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> data["class"].value_counts().to_dict()
    {'Normal': 76, 'Chemical': 36, 'Overt': 33}
    """
    data = _read_bundled_csv("diabetes.csv")
    data["class"] = pd.Categorical(data["class"], categories=DIABETES_CLASSES, ordered=True)
    return data
