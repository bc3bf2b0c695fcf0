"""The outcome of `select_model`: tables, the best model, mclust-style summary, plot."""

from __future__ import annotations

import html
from typing import TypedDict

import numpy as np
import pandas as pd

from ..engine.covariance.models import model_class, model_order
from ..estimators.display import component_order
from ._cells import DEGENERATE, FAILED, Cell

__all__ = ["ModelSelectionResult"]

_SIGNS = ("gaussmix", "mclust")
#: Tables that show NaN for a degenerate cell (unless allow_degenerate), as mclust's NA.
_NA_WHEN_DEGENERATE = ("bic", "aic", "icl", "log_likelihood")


def _format_cell(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.2f}"


def _compact_ks(ks) -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3,5"``."""
    runs: list[list[int]] = []
    for k in sorted(int(k) for k in ks):
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs)


def _check_sign(sign: str) -> int:
    if sign not in _SIGNS:
        raise ValueError(
            f"sign must be 'gaussmix' (-2 log L + penalty, lower is better) or 'mclust' "
            f"(2 log L - penalty, higher is better); got {sign!r}."
        )
    return 1 if sign == "gaussmix" else -1


class _BestParams(TypedDict):
    """`ModelSelectionResult.best_params_`: the best cell's keyword arguments."""

    n_components: int
    covariance_type: str


class ModelSelectionResult:
    """Everything a `select_model` sweep found.

    Criteria are in gaussmix's sign, lower is better: ``BIC = -2 log L + p log n``.
    mclust prints ``2 log L - p log n`` (higher is better), the same numbers negated;
    ``summary(sign="mclust")`` and ``plot(sign="mclust")`` show that convention, labelled.

    Attributes
    ----------
    criterion : str
        ``"bic"``, ``"aic"`` or ``"icl"``: what ``table_`` holds and the ranking uses.
    table_ : DataFrame
        The criterion; index: number of components (``n_components``), columns: model
        names in mclust's order. NaN where the cell could not be fitted, and (unless
        ``allow_degenerate``) where the fit is degenerate, as mclust shows NA.
    bic_table_, aic_table_, icl_table_ : DataFrame
        Each criterion, same layout.
    loglik_table_ : DataFrame
        Total (weighted) log-likelihood of each fitted cell.
    n_parameters_table_ : DataFrame
        Free parameters of each cell, as mclust counts them (defined for every cell).
    status_table_ : DataFrame
        ``"converged"``, ``"max_iter"``, ``"failed"`` or ``"degenerate"`` per cell.
    errors_ : DataFrame
        One row per failed cell: ``n_components``, ``covariance_type``, ``reason``.
    degenerate_ : DataFrame
        One row per degenerate cell (fitted, but a component collapsed onto tied
        values or there are as many parameters as data values; see
        ``docs/model-selection.md``): ``n_components``, ``covariance_type``, ``reason``.
    allow_degenerate : bool
        Whether degenerate cells keep their values in the tables and may be the best.
    best_params_ : dict
        ``{"n_components": K, "covariance_type": name}`` of the best cell.
    best_score_ : float
        The best cell's criterion value.
    best_estimator_ : GaussianMixture
        The best cell's fitted model.
    estimators_ : dict
        ``{(K, name): GaussianMixture}`` for every fitted cell.
    n_samples_ : float
        Number of rows (sum of the weights).
    n_features_ : int
        Number of features.
    """

    def __init__(
        self,
        cells: list[Cell],
        criterion: str,
        n_samples: float,
        n_features: int,
        allow_degenerate: bool = False,
    ):
        self.criterion = criterion
        self.allow_degenerate = allow_degenerate
        self.n_samples_ = n_samples
        self.n_features_ = n_features
        self._cells = {(cell.n_components, cell.covariance_type): cell for cell in cells}
        self.bic_table_ = self._table("bic")
        self.aic_table_ = self._table("aic")
        self.icl_table_ = self._table("icl")
        self.loglik_table_ = self._table("log_likelihood")
        self.n_parameters_table_ = self._table("n_parameters").astype(int)
        self.status_table_ = self._table("status", dtype=object)
        self.table_ = getattr(self, f"{criterion}_table_")
        self.errors_ = pd.DataFrame(
            [
                (cell.n_components, cell.covariance_type, cell.reason)
                for cell in cells
                if cell.status == FAILED
            ],
            columns=["n_components", "covariance_type", "reason"],
        )
        self.degenerate_ = pd.DataFrame(
            [
                (cell.n_components, cell.covariance_type, cell.reason)
                for cell in cells
                if cell.status == DEGENERATE
            ],
            columns=["n_components", "covariance_type", "reason"],
        )
        self.estimators_ = {
            key: cell.estimator for key, cell in self._cells.items() if cell.estimator is not None
        }
        ranking = self.ranking()
        if ranking.empty:
            if len(self.degenerate_):
                raise ValueError(
                    f"Every fitted (n_components, covariance_type) cell is degenerate "
                    f"({'; '.join(sorted(set(self.degenerate_['reason'])))}). Try "
                    "fewer components or more data, or pass allow_degenerate=True to rank "
                    "them anyway."
                )
            reasons = "; ".join(sorted(set(self.errors_["reason"])))
            raise ValueError(
                f"No (n_components, covariance_type) cell could be fitted ({reasons}). "
                "Increase reg_covar (e.g. reg_covar=1e-6), try fewer components, or "
                "standardise the data."
            )
        best = ranking.iloc[0]
        self.best_params_: _BestParams = {
            "n_components": int(best["n_components"]),
            "covariance_type": str(best["covariance_type"]),
        }
        self.best_score_ = float(best[self.criterion])
        self.best_estimator_ = self.estimators_[
            (self.best_params_["n_components"], self.best_params_["covariance_type"])
        ]

    @classmethod
    def from_cells(
        cls, cells, *, criterion, n_samples, n_features, allow_degenerate=False
    ) -> ModelSelectionResult:
        """Assemble the result from the sweep's cells."""
        return cls(list(cells), criterion, n_samples, n_features, allow_degenerate)

    def _ranked(self, cell: Cell) -> bool:
        """Whether a cell's values count: fitted, and not degenerate unless allowed."""
        if cell.status == FAILED:
            return False
        return cell.status != DEGENERATE or self.allow_degenerate

    # ------------------------------------------------------------------ tables
    def _table(self, attribute: str, dtype=float) -> pd.DataFrame:
        ks = sorted({k for k, _ in self._cells})
        names = [name for name in model_order() if any(n == name for _, n in self._cells)]

        def value(cell):
            shown = getattr(cell, attribute)
            if attribute in _NA_WHEN_DEGENERATE and not self._ranked(cell):
                return np.nan
            return shown

        table = pd.DataFrame(
            [[value(self._cells[(k, name)]) for name in names] for k in ks],
            index=pd.Index(ks, name="n_components"),
            columns=pd.Index(names, name="covariance_type"),
        )
        return table.astype(dtype)

    def ranking(self, n: int | None = None) -> pd.DataFrame:
        """Fitted cells sorted by the criterion (best first).

        Parameters
        ----------
        n : int, default=None
            Keep only the best ``n`` rows.

        Returns
        -------
        ranking : DataFrame
            Columns ``covariance_type``, ``n_components``, ``log_likelihood``,
            ``n_parameters``, ``bic``, ``aic``, ``icl``, ``status`` and ``difference``
            (criterion minus the best; 0 for the best). Ties keep mclust's model order
            and the smaller K first.
        """
        order = {name: i for i, name in enumerate(model_order())}
        rows = [
            {
                "covariance_type": cell.covariance_type,
                "n_components": cell.n_components,
                "log_likelihood": cell.log_likelihood,
                "n_parameters": cell.n_parameters,
                "bic": cell.bic,
                "aic": cell.aic,
                "icl": cell.icl,
                "status": cell.status,
                "_order": order[cell.covariance_type],
            }
            for cell in self._cells.values()
            if self._ranked(cell) and np.isfinite(getattr(cell, self.criterion))
        ]
        columns = [
            "covariance_type",
            "n_components",
            "log_likelihood",
            "n_parameters",
            "bic",
            "aic",
            "icl",
            "status",
            "difference",
        ]
        if not rows:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame(rows).sort_values(
            [self.criterion, "n_components", "_order"], kind="stable"
        )
        frame["difference"] = frame[self.criterion] - frame[self.criterion].iloc[0]
        frame = frame.drop(columns="_order").reset_index(drop=True)[columns]
        return frame if n is None else frame.head(n)

    # ------------------------------------------------------------------ text
    def summary(self, sign: str = "gaussmix") -> str:
        """mclust-style text: best model in words, its fit, cluster sizes, top three.

        Components in the clustering table are numbered from 1 by weight, heaviest
        first, as in every figure, the command line and the HTML report; component
        ``j`` there is index ``component_order(best_estimator_)[j - 1]`` of ``predict``
        and ``weights_`` (`gaussmix.estimators.display.component_order`). Cells that
        could not be fitted are listed with their reasons.

        Parameters
        ----------
        sign : {"gaussmix", "mclust"}, default="gaussmix"
            ``"gaussmix"``: criteria as ``-2 log L + penalty`` (lower is better);
            ``"mclust"``: as mclust prints them, ``2 log L - penalty`` (higher is better).

        Returns
        -------
        text : str
        """
        factor = _check_sign(sign)
        direction = "lower is better" if factor > 0 else "higher is better, mclust's sign"
        name, k = self.best_params_["covariance_type"], self.best_params_["n_components"]
        best = self._cells[(k, name)]
        rule = "-" * 60
        plural = "component" if k == 1 else "components"
        n_text = f"{self.n_samples_:g}"
        fit_table = pd.DataFrame(
            {
                "log-likelihood": [f"{best.log_likelihood:.3f}"],
                "n": [n_text],
                "df": [best.n_parameters],
                "BIC": [f"{factor * best.bic:.3f}"],
                "ICL": [f"{factor * best.icl:.3f}"],
            }
        ).to_string(index=False)
        # Human-facing text numbers components from 1 by weight (heaviest first), as the
        # figures, the CLI and the report; Python indices (predict, weights_[k]) do not.
        order = component_order(best.estimator)
        sizes = pd.DataFrame(
            [np.asarray(best.cluster_sizes)[order]], columns=[str(i + 1) for i in range(k)]
        )
        if best.noise_size is not None:  # a noise component's rows, as mclust's column 0
            sizes["noise"] = best.noise_size
        sizes = sizes.to_string(index=False)
        top = self.ranking(3)
        label = self.criterion.upper()
        top_table = pd.DataFrame(
            [
                [f"{factor * v:.3f}" for v in top[self.criterion]],
                [f"{factor * v:.3f}" if v else "0.000" for v in top["difference"]],
            ],
            index=[label, f"{label} diff"],
            columns=[f"{r.covariance_type},{r.n_components}" for r in top.itertuples()],
        ).to_string()
        status = (
            ""
            if best.status != "max_iter"
            else ("\nNote: EM stopped at max_iter for this model; increase max_iter.\n")
        )
        return (
            f"{rule}\nGaussian finite mixture model fitted by EM algorithm\n{rule}\n\n"
            f"Best model by {label} ({direction}):\n"
            f"{name} ({model_class(name).description}) model with {k} {plural}:\n\n"
            f"{fit_table}\n\nClustering table:\n{sizes}\n\n"
            f"Top {len(top)} models by {label}:\n{top_table}\n"
            f"{status}"
            f"\n{self._failures_text()}"
            f"{self._degenerate_note()}"
        )

    def _degenerate_note(self) -> str:
        """The summary's line about degenerate cells (empty if there are none)."""
        n = len(self.degenerate_)
        if not n:
            return ""
        shown = (
            "ranked with the others (allow_degenerate=True)"
            if self.allow_degenerate
            else "shown as NA and not ranked, as mclust does"
        )
        header = (
            f"{n} of {len(self._cells)} cells are degenerate (a component collapsed onto "
            f"tied values, or too many parameters), {shown}:"
        )
        return "\n" + "\n".join([header, *_cells_by_reason(self.degenerate_)])

    def _failures_text(self) -> str:
        """How many cells failed, and why: one line per reason, naming the cells."""
        n_failed, n_cells = len(self.errors_), len(self._cells)
        if not n_failed:
            return f"0 of {n_cells} cells could not be fitted."
        header = f"{n_failed} of {n_cells} cells could not be fitted:"
        return "\n".join([header, *_cells_by_reason(self.errors_)])

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        k, name = self.best_params_["n_components"], self.best_params_["covariance_type"]
        return (
            f"<ModelSelectionResult: best {name}, K={k} by {self.criterion.upper()} "
            f"{self.best_score_:.3f}; {self.table_.shape[0]} K x {self.table_.shape[1]} models>"
        )

    def _repr_html_(self) -> str:
        """Notebook view: the best model and the criterion table, best cell highlighted."""
        k, name = self.best_params_["n_components"], self.best_params_["covariance_type"]
        label = self.criterion.upper()

        # Plain HTML (pandas' Styler would need jinja2, not a dependency of gaussmix).
        cells = self.table_.apply(lambda column: column.map(_format_cell))
        cells.loc[k, name] = f'<b style="background-color: #cfe8f3">{cells.loc[k, name]}</b>'
        table = cells.to_html(escape=False)
        header = html.escape(
            f"Best by {label} (lower is better): {name} "
            f"({model_class(name).description}), K={k}, {label}={self.best_score_:.2f}"
        )
        failed = (
            f"<p>{len(self.errors_)} cells could not be fitted (—); see <code>errors_</code>.</p>"
            if len(self.errors_)
            else ""
        )
        if len(self.degenerate_):
            failed += f"<p>{html.escape(self._degenerate_note().strip())}</p>"
        return f"<div><p><b>{header}</b></p>{table}{failed}</div>"

    # ------------------------------------------------------------------ picture
    def plot(self, ax=None, sign: str = "gaussmix"):
        """The criterion against K, one line per covariance model (mclust's BIC plot).

        The same figure as ``gaussmix.plot.criterion(result)``, which draws it.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's Axes if None.
        sign : {"gaussmix", "mclust"}, default="gaussmix"
            ``"mclust"`` plots the negated criterion (higher is better), labelled so.

        Returns
        -------
        ax : matplotlib Axes
        """
        _check_sign(sign)
        from ..plotting import criterion  # figures live in plotting, above this layer

        return criterion(self, ax=ax, sign=sign)


def _cells_by_reason(cells: pd.DataFrame) -> list[str]:
    """One indented line per reason naming its cells (``VVV K=3-5; EEE K=9: reason``)."""
    lines = []
    for reason, rows in cells.groupby("reason", sort=False):
        named = "; ".join(
            f"{name} K={_compact_ks(group['n_components'])}"
            for name, group in rows.groupby("covariance_type", sort=False)
        )
        lines.append(f"  {named}: {reason}")
    return lines
