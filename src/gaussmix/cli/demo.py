"""``gaussmix demo``: the textbook chapter end to end, with every figure and a report."""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import click
import numpy as np
import pandas as pd

from ._options import CellProgressBar, status
from ._outputs import StagedFolder, write_table

__all__ = ["demo"]

_SEED = 42


def _matched(true_means: np.ndarray, fitted_means: np.ndarray) -> np.ndarray:
    """Order of the fitted components that best matches the true ones (by distance)."""
    from scipy.optimize import linear_sum_assignment

    cost = ((true_means[:, None, :] - fitted_means[None, :, :]) ** 2).sum(axis=2)
    return linear_sum_assignment(cost)[1]


class _Figures:
    """Saves each figure as figures/NN-name.png and keeps it for the report."""

    def __init__(self, folder):
        self.folder = folder
        self.items = []

    def add(self, name: str, caption: str, figure) -> None:
        from ..report import Figure

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        png = buffer.getvalue()
        self.folder.path(f"figures/{len(self.items) + 1:02d}-{name}.png").write_bytes(png)
        self.items.append(Figure(caption, png))


def _new_axes(size=(7.0, 5.2)):
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _panels(n: int, size=(5.2, 4.4)):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * n, size[1]), layout="constrained")
    return figure, figure.subplots(1, n)


@dataclass
class _Chapter:
    """What the chapter's sections share: where they write, and what they fitted."""

    folder: StagedFolder
    figures: _Figures
    say: Callable[..., None]
    quiet: bool
    X: np.ndarray = field(default=None, repr=False)
    y_true: np.ndarray = field(default=None, repr=False)
    gmm: object = None
    selection: object = None
    detector: object = None
    X_moons: np.ndarray = field(default=None, repr=False)
    y_moons: np.ndarray = field(default=None, repr=False)
    bootstrap: object = None


@click.command()
@click.option(
    "--out",
    "out",
    default="gaussmix-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the figures, data, model and report.html.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only where the results went.")
def demo(out, quiet):
    """Reproduce the Gaussian-mixture chapter end to end and write report.html.

    Generated data, EM with its log-likelihood trace, true vs fitted ellipses, soft vs
    hard clustering, responsibilities, model selection over K = 1..7, density and
    anomalies, the two-moons limitation, and a Dirichlet-process fit that chooses K.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    say = (lambda *a, **k: None) if quiet else click.echo
    # Tiny data: one BLAS/OpenMP thread is fastest (many threads oversubscribe a busy machine).
    with threadpool_limits(limits=1), StagedFolder(out) as folder:
        chapter = _Chapter(folder, _Figures(folder), say, quiet)
        for section in _SECTIONS:
            section(chapter)
        _write_model_and_report(chapter, out)
    click.echo(f"Figures:  {folder.final('figures')}/ ({len(chapter.figures.items)} PNG files)")
    click.echo(f"Data:     {folder.final('data.csv')}")
    click.echo(f"Model:    {folder.final('model.json')}")
    click.echo(f"Report:   {folder.final('report.html')}")
    say(f"Done in {time.perf_counter() - start:.1f} s. Open the report in a browser.")


def _data_from_a_known_mixture(chapter: _Chapter) -> None:
    """11.1: 300 points from the chapter's three Gaussians, written to data.csv."""
    from ..datasets import make_gmm_data

    chapter.X, chapter.y_true = make_gmm_data(300, random_state=_SEED)
    data = pd.DataFrame(chapter.X, columns=["x1", "x2"]).assign(component=chapter.y_true + 1)
    write_table(data, chapter.folder.path("data.csv"))
    chapter.say("11.1 Data: 300 points from 3 Gaussians, weights 0.3/0.4/0.3")


def _em_from_random_starts(chapter: _Chapter) -> None:
    """11.2: EM from random starting points; its trace; true against fitted ellipses."""
    from .. import plotting as plot
    from ..datasets import CHAPTER_COVARIANCES, CHAPTER_MEANS, CHAPTER_WEIGHTS
    from ..estimators import GaussianMixture
    from ..estimators.display import component_order

    status("Fitting the mixture by EM...", chapter.quiet)
    gmm = chapter.gmm = GaussianMixture(
        3, init_params="random_from_data", tol=1e-6, max_iter=500, random_state=_SEED
    ).fit(chapter.X)
    chapter.say(
        f"11.2 EM: {'converged' if gmm.converged_ else 'stopped'} after {gmm.n_iter_} "
        f"iterations, log-likelihood per point {gmm.lower_bound_:.4f}"
    )
    true_of = np.argsort(_matched(CHAPTER_MEANS, gmm.means_))  # fitted k -> true component
    for j, k in enumerate(component_order(gmm)):  # numbered by weight, as the figures
        t = true_of[k]
        chapter.say(
            f"     component {j + 1}: learned mean {np.round(gmm.means_[k], 2)}, weight "
            f"{gmm.weights_[k]:.2f}; true mean {CHAPTER_MEANS[t]}, weight "
            f"{CHAPTER_WEIGHTS[t]:.1f}"
        )
    figure, (trace_ax, steps_ax) = _panels(2, size=(5.4, 4.0))
    plot.convergence(
        gmm, ax=trace_ax, steps_ax=steps_ax, title="EM convergence (random starting points)"
    )
    chapter.figures.add(
        "convergence",
        "EM log-likelihood at every iteration, and its increase per iteration (log scale)",
        figure,
    )
    ax = _new_axes()
    plot.clusters(
        gmm,
        chapter.X,
        ax=ax,
        true_means=CHAPTER_MEANS,
        true_covariances=CHAPTER_COVARIANCES,
        title="True (dashed, 3σ) vs fitted",
    )
    chapter.figures.add(
        "true-vs-fitted",
        "Fitted components with 1-, 2-, 3-sigma ellipses; dashed: the true components (3 sigma)",
        ax.figure,
    )


def _soft_versus_hard(chapter: _Chapter) -> None:
    """11.3: k-means against the mixture, uncertainty, responsibilities as pies."""
    from sklearn.cluster import KMeans

    from .. import plotting as plot
    from ..estimators.display import component_order

    X, gmm = chapter.X, chapter.gmm
    kmeans = KMeans(3, random_state=_SEED, n_init=10).fit(X)
    figure, axes = _panels(2)
    plot.gmm_vs_kmeans(X, gmm, kmeans, axes=axes)
    chapter.figures.add("kmeans-vs-gmm", "Hard (k-means) vs soft (mixture) clustering", figure)
    ax = _new_axes()
    plot.uncertainty(gmm, X, ax=ax)
    chapter.figures.add("uncertainty", "Points sized and coloured by uncertainty", ax.figure)
    ax = _new_axes((8.0, 6.0))
    plot.responsibilities(gmm, X, ax=ax)
    chapter.figures.add(
        "responsibilities",
        "Responsibilities as pies: confident and uncertain points",
        ax.figure,
    )
    entropy = gmm.entropy(X)
    uncertain = int((gmm.uncertainty(X) > 0.2).sum())
    most = int(np.argmax(entropy))
    probabilities = gmm.predict_proba(X)[most, component_order(gmm)]
    chapter.say(
        f"11.3 Soft vs hard: {uncertain} points have uncertainty > 0.2; the most uncertain, "
        f"{np.round(X[most], 2)}, has probabilities {np.round(probabilities, 2)}"
    )


def _choosing_k(chapter: _Chapter) -> None:
    """11.4: BIC (and AIC) over K = 1..7 and four covariance models."""
    from .. import plotting as plot
    from ..selection import select_model

    with CellProgressBar(7 * 4, "Model selection over K = 1..7", chapter.quiet) as bar:
        result = chapter.selection = select_model(
            chapter.X,
            n_components=range(1, 8),
            covariance_types=["full", "tied", "diag", "spherical"],
            random_state=_SEED,
            progress=bar.callback,
        )
    best = result.best_params_
    chapter.say(
        f"11.4 Model selection: BIC prefers {best['covariance_type']} with K = "
        f"{best['n_components']} (lower BIC is better)"
    )
    ax = _new_axes((8.5, 4.8))
    plot.criterion(result, ax=ax)
    chapter.figures.add("bic", "BIC against K for four covariance models", ax.figure)
    ax = _new_axes((8.5, 4.8))
    plot.criterion(result.aic_table_, ax=ax, ylabel="AIC (lower is better)", title="AIC against K")
    chapter.figures.add("aic", "AIC against K", ax.figure)


def _density_anomalies_and_moons(chapter: _Chapter) -> None:
    """11.5: density, the 5% least likely points, and the two-moons limitation."""
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_moons

    from .. import plotting as plot
    from ..estimators import AnomalyDetector, GaussianMixture

    X, gmm = chapter.X, chapter.gmm
    detector = chapter.detector = AnomalyDetector.from_fitted_mixture(gmm, X, contamination=0.05)
    flagged = int((detector.predict(X) == -1).sum())
    chapter.say(
        f"11.5 Anomalies: {flagged} points below the 5% log-density quantile "
        f"({detector.threshold_:.2f})"
    )
    ax = _new_axes()
    plot.density(gmm, X, ax=ax)
    chapter.figures.add("density", "Mixture density", ax.figure)
    ax = _new_axes()
    plot.anomalies(detector, X, ax=ax)
    chapter.figures.add("anomalies", "Anomalies: the 5% least likely points", ax.figure)
    X_moons, y_moons = make_moons(300, noise=0.1, random_state=_SEED)
    chapter.X_moons, chapter.y_moons = X_moons, y_moons
    gmm_moons = GaussianMixture(2, random_state=_SEED).fit(X_moons)
    kmeans_moons = KMeans(2, random_state=_SEED, n_init=10).fit(X_moons)
    figure, axes = _panels(3)
    plot.gmm_vs_kmeans(X_moons, gmm_moons, kmeans_moons, y_true=y_moons, axes=axes)
    chapter.figures.add(
        "moons", "Two moons: both k-means and the mixture fail on non-Gaussian clusters", figure
    )
    agreement = max(
        np.mean(gmm_moons.predict(X_moons) == y_moons),
        np.mean(gmm_moons.predict(X_moons) != y_moons),
    )
    chapter.say(
        f"     Two moons: the 2-component mixture labels only {100 * agreement:.0f}% of "
        "points correctly"
    )


def _dirichlet_process_chooses_k(chapter: _Chapter) -> None:
    """11.6: ten components under a Dirichlet-process prior; the data keep three."""
    from .. import plotting as plot

    dp = _dirichlet_process_fit(chapter.X)
    kept = int((dp.weights_ >= _KEPT_WEIGHT).sum())
    chapter.say(
        f"11.6 Dirichlet process: of {dp.n_components} components, {kept} keep weight "
        f">= {_KEPT_WEIGHT:g} (the others are emptied by the prior)"
    )
    ax = _new_axes((7.0, 4.2))
    plot.variational_weights(
        dp,
        threshold=_KEPT_WEIGHT,
        ax=ax,
        title="Dirichlet-process mixture: weight per component",
    )
    chapter.figures.add(
        "dirichlet-process-weights",
        f"Dirichlet-process fit with {dp.n_components} components: weight per component "
        f"({kept} above {_KEPT_WEIGHT:g}, the rest grey)",
        ax.figure,
    )
    ax = _new_axes()
    plot.clusters(
        dp,
        chapter.X,
        ax=ax,
        n_std=(2,),
        min_weight=_KEPT_WEIGHT,
        title=f"Dirichlet-process mixture: {kept} of {dp.n_components} components used",
    )
    chapter.figures.add(
        "dirichlet-process",
        f"Dirichlet-process fit: the {kept} components with weight >= {_KEPT_WEIGHT:g} "
        "(2-sigma ellipses)",
        ax.figure,
    )


#: The chapter's sections, in order; each reads and extends the shared `_Chapter`.
def _mclust_toolkit(chapter: _Chapter) -> None:
    """Merging the moons' components, highest-density regions, bootstrap standard errors."""
    chapter.bootstrap = _toolkit_section(
        chapter.gmm,
        chapter.X,
        chapter.detector,
        chapter.X_moons,
        chapter.y_moons,
        chapter.figures,
        chapter.say,
    )


_SECTIONS = (
    _data_from_a_known_mixture,
    _em_from_random_starts,
    _soft_versus_hard,
    _choosing_k,
    _density_anomalies_and_moons,
    _mclust_toolkit,
    _dirichlet_process_chooses_k,
)


def _write_model_and_report(chapter: _Chapter, out) -> None:
    """model.json and report.html (with every figure of the chapter)."""
    from ..estimators.persistence import save
    from ..report import build_report, write_report

    save(chapter.gmm, chapter.folder.path("model.json"))
    html = build_report(
        chapter.gmm,
        pd.DataFrame(chapter.X, columns=["x1", "x2"]),
        selection=chapter.selection,
        detector=chapter.detector,
        bootstrap=chapter.bootstrap,
        figures=chapter.figures.items,
        command="gaussmix demo --out " + str(out),
        title="gaussmix demo: the Gaussian mixture chapter",
        notes=["300 points generated from the chapter's three-component mixture (seed 42)"],
    )
    write_report(html, chapter.folder.path("report.html"))


#: Components of the Dirichlet-process fit with at least this weight count as used.
_KEPT_WEIGHT = 0.01


def _dirichlet_process_fit(X):
    """Ten components under a Dirichlet-process prior that favours few (concentration 0.01)."""
    from ..estimators import BayesianGaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianGaussianMixture(
            n_components=10,
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.01,
            n_init=5,
            random_state=_SEED,
        ).fit(X)


def _toolkit_section(gmm, X, detector, X_moons, y_moons, figures, say):
    """mclust's toolkit on the chapter's data: the moons fitted by BIC and merged back into
    two clusters (Baudry et al. 2010), the density's highest-density regions, and bootstrap
    standard errors of the fitted mixture.

    Returns the bootstrap result (for the report's table).
    """
    from sklearn.metrics import adjusted_rand_score

    from .. import plotting as plot
    from ..selection import select_model
    from ..toolkit import DensityEstimator, bootstrap, combine_components

    moons = select_model(X_moons, n_components=range(1, 10), random_state=_SEED)
    many = moons.best_estimator_
    merging = combine_components(many, X_moons)
    agreement = adjusted_rand_score(y_moons, merging.labels(2))
    say(
        f"     Merging: BIC fits the moons with {many.n_components} components "
        f"({moons.best_params_['covariance_type']}); merged pairwise by entropy into 2 "
        f"clusters they are the moons (adjusted Rand index {agreement:.2f})"
    )
    figure, axes = _panels(2)
    plot.clusters(
        many,
        X_moons,
        ax=axes[0],
        n_std=(2,),
        title=f"Moons: {many.n_components} components chosen by BIC",
    )
    plot.merged_clusters(
        merging,
        X_moons,
        2,
        ax=axes[1],
        title=f"Merged by entropy into 2 clusters (ARI {agreement:.2f})",
    )
    axes[1].set_xlim(axes[0].get_xlim())
    axes[1].set_ylim(axes[0].get_ylim())
    axes[1].set_aspect(axes[0].get_aspect())
    figures.add(
        "moons-merged",
        "Merging components (mclust's clustCombi): the BIC mixture's components, and the "
        "two clusters the entropy criterion merges them into",
        figure,
    )
    figure, axes = _panels(2, size=(5.2, 4.0))
    plot.merging(merging, axes=axes)
    figures.add(
        "moons-entropy",
        "Entropy of the classification after each merge (with its two-segment fit) and the "
        "entropy change per merged row",
        figure,
    )
    density = DensityEstimator(
        range(1, 8), ["full", "tied", "diag", "spherical"], random_state=_SEED
    ).fit(X)
    (boundary,) = density.hdr_log_levels(0.95)
    say(
        f"     Density regions (mclust's densityMclust): the 95% highest-density region is "
        f"log-density >= {boundary:.2f}; the 5% anomaly threshold is {detector.threshold_:.2f}"
    )
    ax = _new_axes()
    density.plot(X, probabilities=(0.5, 0.75, 0.95), ax=ax)
    figures.add(
        "density-regions",
        "Highest-density regions holding 50%, 75% and 95% of the data (mclust's "
        "densityMclust); the 95% boundary is the anomaly threshold",
        ax.figure,
    )
    result = bootstrap(gmm, X, n_bootstrap=199, random_state=_SEED)
    errors = result.standard_errors_
    say(
        f"     Bootstrap ({result.n_replicates_} replicates): standard errors of the weights "
        f"{', '.join(f'{v:.3f}' for v in errors['weights'])}; of the means up to "
        f"{errors['means'].max():.3f}"
    )
    return result
