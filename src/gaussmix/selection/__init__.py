"""Model selection over numbers of components and covariance models (mclust's ``Mclust``)."""

from ._bootstrap import BootstrapLRTResult, bootstrap_lrt
from ._result import ModelSelectionResult
from ._select import CRITERIA, CellDone, select_model

__all__ = [
    "select_model",
    "ModelSelectionResult",
    "CRITERIA",
    "CellDone",
    "bootstrap_lrt",
    "BootstrapLRTResult",
]
