"""``init_params="best-of-kmeans"``: several k-means starts, the most likely one kept.

A single k-means run (what scikit-learn's ``init_params="kmeans"`` does) can end in a
local optimum that merges two clusters and splits a third; EM from there stays in the
matching bad optimum of the likelihood. On generated 16-d data with 8 well-separated
components a single run did so for 6 of 10 seeds. Here:

1. the initialisation sample (every row when the data has at most
   `~gaussmix.engine.data.INITIALIZATION_ROWS` rows, else that many random rows, drawn
   the same way for every kind of source) is the ground of every candidate;
2. `N_CANDIDATES` k-means runs (scikit-learn's k-means++ seeding, then Lloyd
   iterations) on a subsample of at most `CANDIDATE_ROWS` of those rows give as many
   partitions;
3. a `LikelihoodJudge` turns each partition into mixture parameters (one M-step under
   the fit's covariance model) and scores them by their log-likelihood on the
   subsample; the best `N_FINALISTS` are scored again on every row: on the sample when
   it holds every row, else in one extra pass over the data source;
4. the best partition's centres label every row (nearest centre), and EM starts from
   that partition as from scikit-learn's k-means start.

The cost: 10 small k-means runs and 10 + 3 log-likelihood evaluations on at most
10,000 rows, plus at most one pass over the data (see ``docs/benchmarks-init.md``).

The random draws depend only on ``random_state`` and the number of rows, so the same
seed gives the same start in memory, from a memory map, a Parquet file or a Dask array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn import config_context
from sklearn.cluster import kmeans_plusplus

from ..covariance.forms import SingularCovarianceError
from ..data.arrays import INITIALIZATION_ROWS, sample_row_indices, single_threaded_blas
from .estep import log_responsibilities, statistics_about_data_mean
from .params import MixtureParams

__all__ = [
    "N_CANDIDATES",
    "N_FINALISTS",
    "CANDIDATE_ROWS",
    "LikelihoodJudge",
    "best_of_kmeans",
    "one_hot",
    "nearest_centre",
    "within_cluster_scores",
    "partition_start",
]

#: k-means runs whose partitions compete for the start.
N_CANDIDATES = 10
#: Candidates scored again on every row (the candidates themselves see only a subsample).
N_FINALISTS = 3
#: Most rows each k-means candidate is run on (at least 200 per component).
CANDIDATE_ROWS = 10_000

#: ``judge(candidate_rows, all_rows, labels_list, n_components) -> scores``, where each
#: ``*_rows`` is an ``(X, w)`` pair: higher is better, -inf for an unusable partition.
Judge = Callable[
    [tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], Sequence[np.ndarray], int],
    np.ndarray,
]


def one_hot(labels: np.ndarray, n_components: int, dtype) -> np.ndarray:
    """Responsibilities (n_samples, n_components) with a 1 at each row's label."""
    resp = np.zeros((labels.shape[0], n_components), dtype=dtype)
    resp[np.arange(labels.shape[0]), labels] = 1
    return resp


def nearest_centre(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Label of the nearest centre of each row (in row chunks: bounded memory)."""
    labels = np.empty(X.shape[0], dtype=np.intp)
    centre_norms = np.einsum("ij,ij->i", centres, centres)
    step = 65536
    for start in range(0, X.shape[0], step):
        part = np.asarray(X[start : start + step], dtype=np.float64)
        distances = centre_norms - 2.0 * part @ centres.T
        labels[start : start + step] = distances.argmin(axis=1)
    return labels


#: Most Lloyd iterations of one candidate (well-separated clusters need a handful).
LLOYD_ITERATIONS = 100


def _cluster_sums(X, sample_weight, labels, n_components) -> tuple[np.ndarray, np.ndarray]:
    """Weighted counts and weighted sums of the rows of each cluster."""
    counts = np.bincount(labels, weights=sample_weight, minlength=n_components)
    sums = np.column_stack(
        [
            np.bincount(labels, weights=sample_weight * column, minlength=n_components)
            for column in X.T
        ]
    )
    return counts, sums


def _kmeans(X, sample_weight, n_components, seed) -> tuple[np.ndarray, np.ndarray]:
    """Centres and labels of one k-means run: k-means++ seeding, then Lloyd iterations
    until no row changes cluster (a cluster left empty keeps its centre)."""
    # The rows were validated by the caller; scikit-learn's checks of them and of the
    # arguments cost more than the seeding itself on a small table.
    with config_context(skip_parameter_validation=True, assume_finite=True):
        centres, _ = kmeans_plusplus(
            X, n_components, sample_weight=sample_weight, random_state=seed
        )
    centres = centres.astype(np.float64)
    labels = nearest_centre(X, centres)
    for _ in range(LLOYD_ITERATIONS):
        counts, sums = _cluster_sums(X, sample_weight, labels, n_components)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, np.newaxis]
        new_labels = nearest_centre(X, centres)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centres, labels


def within_cluster_scores(candidate_rows, all_rows, labels_list, n_components) -> np.ndarray:
    """The judge without a covariance model: k-means' objective on the candidates' rows,
    negated (higher is better)."""
    X, w = candidate_rows
    scores = []
    for labels in labels_list:
        counts, sums = _cluster_sums(X, w, labels, n_components)
        means = sums / np.maximum(counts, np.finfo(float).tiny)[:, np.newaxis]
        scores.append(-float(w @ ((X - means[labels]) ** 2).sum(axis=1)))
    return np.asarray(scores)


def best_of_kmeans(
    X: np.ndarray,
    sample_weight: np.ndarray,
    n_components: int,
    random_state: np.random.RandomState,
    judge: Judge | None = None,
    *,
    n_candidates: int = N_CANDIDATES,
    incumbent: np.ndarray | None = None,
) -> np.ndarray:
    """One-hot responsibilities of the best of several k-means partitions.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows the fit starts from: a source's initialisation sample, or every row of
        an in-memory array (beyond `INITIALIZATION_ROWS` rows, the candidates are then
        built on the same random sample a memory map or a Parquet file would draw).
    sample_weight : ndarray of shape (n_samples,)
    n_components : int
    random_state : numpy.random.RandomState
    judge : callable, optional
        ``judge((X_sub, w_sub), (X_sample, w_sample), labels_list, n_components) ->
        scores``: ``labels_list`` labels the candidates' rows ``X_sub`` (see
        `LikelihoodJudge`). Without one, candidates are compared by their
        within-cluster sum of squares.
    n_candidates : int, default=`N_CANDIDATES`
    incumbent : ndarray of shape (n_samples, n_components), optional
        One-hot responsibilities of a start that competes first and is kept unless a
        candidate scores higher (scikit-learn's single k-means start: where it is as
        good as the best candidate, the fit starts exactly where scikit-learn's does).

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    sample = sample_row_indices(X.shape[0], INITIALIZATION_ROWS, random_state)
    X_sample, w_sample = np.asarray(X[sample]), sample_weight[sample]
    rows = min(X_sample.shape[0], max(CANDIDATE_ROWS, 200 * n_components))
    subsample = sample_row_indices(X_sample.shape[0], rows, random_state)
    X_sub, w_sub = X_sample[subsample], w_sample[subsample]
    seeds = random_state.randint(np.iinfo(np.int32).max, size=n_candidates)
    with single_threaded_blas():  # small products: no thread pool
        runs = [_kmeans(X_sub, w_sub, n_components, seed) for seed in seeds]
    judge = judge or within_cluster_scores
    partitions = [labels for _, labels in runs]
    if incumbent is not None:
        partitions.insert(0, incumbent[sample][subsample].argmax(axis=1))
    scores = np.asarray(
        judge((X_sub, w_sub), (X_sample, w_sample), partitions, n_components), dtype=np.float64
    )
    best = int(np.argmax(scores))  # the first of equals: no dependence on rounding order
    if incumbent is not None:
        if best == 0:
            return incumbent
        best -= 1
    return one_hot(nearest_centre(X, runs[best][0]), n_components, X.dtype)


class LikelihoodJudge:
    """Scores starting partitions by the log-likelihood of the mixture each one starts.

    Each partition of the candidates' rows gives parameters (the fit's first M-step),
    scored by their log-likelihood on those rows; the best `N_FINALISTS` are scored
    again on every row: on the initialisation sample when it holds every row, else in
    one pass over ``source``.

    Parameters
    ----------
    start_params : callable
        ``start_params(X, w, resp) -> MixtureParams``: the parameters a partition gives.
    source : DataSource, optional
        Every row of the data, read when it has more rows than the initialisation
        sample. None scores the finalists on the sample.
    n_finalists : int, default=`N_FINALISTS`
    """

    def __init__(
        self,
        start_params: Callable[[np.ndarray, np.ndarray, np.ndarray], MixtureParams],
        source=None,
        n_finalists: int = N_FINALISTS,
    ):
        self.start_params = start_params
        self.source = source
        self.n_finalists = int(n_finalists)

    def _params(self, X, w, labels, n_components) -> MixtureParams | None:
        try:
            return self.start_params(X, w, one_hot(labels, n_components, X.dtype))
        except (SingularCovarianceError, ValueError, np.linalg.LinAlgError):
            return None  # e.g. a cluster of one row under reg_covar=0: not a start

    def __call__(self, candidate_rows, all_rows, labels_list, n_components: int) -> np.ndarray:
        """Scores of the partitions: the finalists' on every row, -inf for the others."""
        X, w = candidate_rows
        with single_threaded_blas():  # small products: no thread pool
            params = [self._params(X, w, labels, n_components) for labels in labels_list]
            scores = np.array(
                [-np.inf if p is None else _total_log_likelihood(X, w, p) for p in params]
            )
        finalists = [i for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]
        finalists = finalists[: self.n_finalists]
        X_all, w_all = all_rows
        if len(finalists) < 2 or X_all.shape[0] == X.shape[0]:
            return scores
        chosen = [params[i] for i in finalists]

        def totals(X_chunk, w_chunk):
            return np.array([_total_log_likelihood(X_chunk, w_chunk, p) for p in chosen])

        reads_source = self.source is not None and self.source.n_samples > X_all.shape[0]
        full = np.full(len(labels_list), -np.inf)
        full[finalists] = self.source.map_reduce(totals) if reads_source else totals(X_all, w_all)
        return full


def _total_log_likelihood(X, w, params: MixtureParams) -> float:
    with np.errstate(all="ignore"):
        log_density = log_responsibilities(X, params)[0].astype(np.float64)
    value = float(np.asarray(w, dtype=np.float64) @ log_density)
    return value if np.isfinite(value) else -np.inf


def partition_start(m_step, model, reg_covar) -> Callable:
    """``(X, w, resp) -> MixtureParams``: the first M-step of a fit from a partition."""

    def start(X, w, resp):
        stats = statistics_about_data_mean(X, w, resp, model.scatter)
        return m_step(stats, model, reg_covar)

    return start
