"""Information criteria of a fitted mixture, lower is better (mclust reports the negation).

One definition for every caller: `GaussianMixture.bic` / ``aic`` / ``icl``, the cells
of `select_model` and the EDDA model choice of `MixtureClassifier`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bic", "aic", "classification_penalty"]


def bic(log_likelihood: float, n_parameters: int, n_samples: float) -> float:
    """Bayesian information criterion ``-2 log L + p log n``.

    Parameters
    ----------
    log_likelihood : float
        Weighted log-likelihood of the data, ``log L``.
    n_parameters : int
        Free parameters ``p``.
    n_samples : float
        ``n``, the total sample weight.

    Returns
    -------
    bic : float
    """
    return -2 * log_likelihood + n_parameters * np.log(n_samples)


def aic(log_likelihood: float, n_parameters: int) -> float:
    """Akaike information criterion ``-2 log L + 2 p``.

    Parameters
    ----------
    log_likelihood : float
        Weighted log-likelihood of the data, ``log L``.
    n_parameters : int
        Free parameters ``p``.

    Returns
    -------
    aic : float
    """
    return -2 * log_likelihood + 2 * n_parameters


def classification_penalty(sample_weight: np.ndarray, responsibilities: np.ndarray) -> float:
    """``-2 sum_n w_n log max_k r_nk``: what the ICL adds to the BIC (mclust's hard form).

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
    responsibilities : ndarray of shape (n_samples, n_components)

    Returns
    -------
    penalty : float
        0 for certain assignments; ``+inf`` where a weighted row's largest
        responsibility is 0.
    """
    with np.errstate(divide="ignore"):
        log_max = np.log(responsibilities.max(axis=1).astype(np.float64))
    return -2 * float(sample_weight @ log_max)
