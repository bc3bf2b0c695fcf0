"""Supervised classification by class-conditional mixtures (mclust's MclustDA and EDDA).

It sits above `gaussmix.selection`: each class's mixture is chosen by `select_model`.
"""

from .discriminant import MixtureClassifier

__all__ = ["MixtureClassifier"]
