"""scikit-learn's first sentence of each mixture error and warning, for drop-in use.

User code written against ``sklearn.mixture`` matches these messages (``pytest.raises(...,
match=...)``, ``except ... if "..." in str(exc)``, warning filters), and so do
scikit-learn's own mixture tests, which gaussmix passes (``tests/sklearn_contract/``). So
wherever gaussmix refuses something scikit-learn refuses, the message *starts* with
scikit-learn's sentence, reproduced word for word (including its quirks), and continues with
gaussmix's own explanation of what is wrong and what to do. Each helper returns only the
scikit-learn part; callers append their advice after a space.
"""

from __future__ import annotations

from ..engine.covariance.forms import ILL_DEFINED_COVARIANCE

__all__ = [
    "CONVERGENCE",
    "ILL_DEFINED_COVARIANCE",
    "bad_shape",
    "too_few_samples",
    "weights_out_of_range",
    "weights_not_normalised",
    "precision_not_positive",
    "bad_n_samples",
    "bad_degrees_of_freedom_prior",
    "with_advice",
]

#: The ConvergenceWarning when the best initialisation stopped at ``max_iter``.
CONVERGENCE = (
    "Best performing initialization did not converge. Try different init parameters, or "
    "increase max_iter, tol, or check for degenerate data."
)


def with_advice(sklearn_sentence: str, advice: str) -> str:
    """scikit-learn's sentence, then gaussmix's advice."""
    return f"{sklearn_sentence} {advice}" if advice else sklearn_sentence


def bad_shape(sklearn_name: str, expected: tuple, got: tuple) -> str:
    """A user-given array of the wrong shape; ``sklearn_name`` as scikit-learn calls it
    (``"weights"``, ``"means"``, ``"full precision"``, ``"full covariance_prior"``)."""
    return f"The parameter '{sklearn_name}' should have the shape of {expected}, but got {got}."


def too_few_samples(n_components: int, n_samples: int) -> str:
    """Fewer rows than components."""
    return (
        f"Expected n_samples >= n_components but got n_components = {n_components}, "
        f"n_samples = {n_samples}."
    )


def weights_out_of_range(smallest: float, largest: float) -> str:
    """``weights_init`` outside [0, 1].

    scikit-learn prints the smallest weight after "max value" and the largest after
    "min value"; matching code depends on that order, so it is kept (the advice that
    follows states the range plainly).
    """
    return (
        "The parameter 'weights' should be in the range [0, 1], but got "
        f"max value {smallest:.5f}, min value {largest:.5f}."
    )


def weights_not_normalised(total: float) -> str:
    """``weights_init`` that does not sum to 1."""
    return f"The parameter 'weights' should be normalized, but got sum(weights) = {total:.5f}."


def precision_not_positive(covariance_type: str, matrices: bool) -> str:
    """``precisions_init`` that is not (symmetric) positive (definite)."""
    what = "symmetric, positive-definite" if matrices else "positive"
    return f"'{covariance_type} precision' should be {what}."


def bad_n_samples(n_samples) -> str:
    """``sample(n_samples)`` with fewer than one row."""
    return (
        f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at least one sample."
    )


def bad_degrees_of_freedom_prior(n_features: int, value: float) -> str:
    """A Wishart ``degrees_of_freedom_prior`` not above ``n_features - 1``."""
    return (
        f"The parameter 'degrees_of_freedom_prior' should be greater than {n_features - 1}, "
        f"but got {value:.3f}."
    )
