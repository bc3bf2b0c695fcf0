"""Compare select_model with R's mclust cell by cell on the stored reference outputs.

    python benchmarks/compare_mclust.py [name ...]

For every data set under tests/data/mclust/ (or the ones named), runs gaussmix's
select_model with mclust's settings (hierarchical start, reg_covar=0, G = 1..9, the
reference's models) and prints the cell counts (equal within 0.01 / gaussmix better /
worse / both NA / exactly one NA), the best models, and the cells that differ.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "selection"))

from mclust_reference import (  # noqa: E402
    compare_cells,
    gaussmix_sweep,
    load_reference,
    outcome_counts,
    reference_names,
)


def main(names: list[str]) -> None:
    totals: dict[str, int] = {}
    for name in names or reference_names():
        reference = load_reference(name)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = gaussmix_sweep(reference, random_state=0)
        seconds = time.perf_counter() - start
        comparison = compare_cells(reference, result.bic_table_)
        counts = outcome_counts(comparison)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        ours = result.best_params_
        print(
            f"{name:10s} n={reference.X.shape[0]:5d} d={reference.X.shape[1]}  "
            f"mclust best {reference.best_model},{reference.best_k}  "
            f"gaussmix best {ours['covariance_type']},{ours['n_components']}  "
            f"{counts}  ({seconds:.1f} s)"
        )
        differing = comparison[~comparison["outcome"].isin(["equal", "both NA", "better"])]
        for row in differing.itertuples():
            print(
                f"    {row.model},{row.n_components}: {row.outcome}: mclust {row.mclust:.2f} "
                f"gaussmix {row.gaussmix:.2f} ({row.difference:+.2f})"
            )
    print(f"total {totals}")


if __name__ == "__main__":
    main(sys.argv[1:])
