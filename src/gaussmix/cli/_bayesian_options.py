"""``gaussmix fit --prior default`` and ``--method variational|dp``."""

from __future__ import annotations

from ..engine.covariance.models import MODELS, names_with
from ._errors import CLIError

__all__ = ["map_covariance_types", "fit_bayesian"]

#: The concentration of the weight prior: small, so that unneeded components empty.
WEIGHT_CONCENTRATION = 0.01
#: Components below this weight are pruned.
PRUNE_THRESHOLD = 0.01


def map_covariance_types(models: list[str], requested: str) -> list[str]:
    """``models`` restricted to those with a closed-form MAP M-step.

    With ``--covariance-types all`` the others are dropped; naming one explicitly is an error.
    """
    supported = names_with("supports_map")
    unsupported = [model for model in models if model not in supported]
    if unsupported and requested.strip().lower() != "all":
        raise CLIError(
            f"--prior default does not support {', '.join(unsupported)}; use models among "
            f"{', '.join(supported)} (or --covariance-types all, which keeps those)."
        )
    return [model for model in models if model in supported]


def fit_bayesian(
    frame, method: str, ks: list[int], models: list[str], requested: str, random_state
):
    """One `BayesianGaussianMixture` with ``max(ks)`` components, pruned, refined by EM.

    Returns the fitted `GaussianMixture` and a note for the summary and the report.

    ``method`` is ``"variational"`` (finite Dirichlet prior) or ``"dp"`` (Dirichlet
    process). ``--covariance-types all`` means ``full``; otherwise exactly one of full,
    tied, diag, spherical (VVV, EEE, VVI, VII) must be named.
    """
    from ..estimators import BayesianGaussianMixture, GaussianMixture

    variational = {code: MODELS[code].sklearn_name for code in names_with("supports_variational")}
    if requested.strip().lower() == "all":
        models = ["VVV"]
    if len(models) != 1 or models[0] not in variational:
        names = ", ".join(alias or code for code, alias in variational.items())
        raise CLIError(
            f"--method {method} fits one covariance model; pass --covariance-types with one "
            f"of {names} (or all, meaning full)."
        )
    n_components = max(ks)
    bgm = BayesianGaussianMixture(
        n_components=n_components,
        covariance_type=variational[models[0]] or models[0],
        weight_concentration_prior_type=(
            "dirichlet_process" if method == "dp" else "dirichlet_distribution"
        ),
        weight_concentration_prior=WEIGHT_CONCENTRATION,
        n_init=5,
        random_state=random_state,
    ).fit(frame)
    pruned = bgm.prune(threshold=PRUNE_THRESHOLD)
    # EM from the kept components gives the model file and report a maximum-likelihood
    # mixture with its own convergence record.
    model = GaussianMixture(
        n_components=pruned.n_components,
        covariance_type=pruned.covariance_type,
        weights_init=pruned.weights_,
        means_init=pruned.means_,
        precisions_init=pruned.precisions_,
        random_state=random_state,
    ).fit(frame)
    note = (
        f"{'Dirichlet-process' if method == 'dp' else 'variational'} mixture with "
        f"{n_components} components: {pruned.n_components} kept (weight >= "
        f"{PRUNE_THRESHOLD:g}), then refined by EM"
    )
    return model, note
