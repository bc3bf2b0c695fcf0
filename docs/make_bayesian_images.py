"""Regenerate the figure and the numbers of docs/bayesian.md: ``python docs/make_bayesian_images.py``."""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import BayesianGaussianMixture as SklearnBGMM  # noqa: E402

from gaussmix import BayesianGaussianMixture, plot  # noqa: E402
from gaussmix.datasets import make_gmm_data  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
SETTINGS = dict(
    n_components=10,
    weight_concentration_prior_type="dirichlet_process",
    weight_concentration_prior=0.01,
    n_init=5,
)

X, _ = make_gmm_data(1500, random_state=0)
bgm = BayesianGaussianMixture(random_state=0, **SETTINGS).fit(X)
ax = plot.variational_weights(bgm, threshold=0.02)
ax.figure.savefig(Path(__file__).parent / "images" / "bayesian-weights.png", dpi=110)

print(
    "| data seed | gaussmix: components > 2% | gaussmix lower bound | scikit-learn: components > 2% | scikit-learn lower bound |"
)
print("|---|---|---|---|---|")
for seed in range(10):
    X, _ = make_gmm_data(1500, random_state=seed)
    ours = BayesianGaussianMixture(random_state=seed, **SETTINGS).fit(X)
    theirs = SklearnBGMM(random_state=seed, **SETTINGS).fit(X)
    print(
        f"| {seed} | {np.count_nonzero(ours.weights_ > 0.02)} | {ours.lower_bound_:.1f} | "
        f"{np.count_nonzero(theirs.weights_ > 0.02)} | {float(np.ravel(theirs.lower_bound_)[0]):.1f} |",
        flush=True,
    )
