"""Run every Python block of docs/toolkit.md in order, then redraw its figures into docs/images.

    python docs/make_toolkit_images.py

Running the blocks checks that the page's code works as written.
"""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def run_page() -> dict:
    text = (HERE / "toolkit.md").read_text()
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        exec(compile(block, "toolkit.md", "exec"), namespace)  # noqa: S102 - our own docs
        plt.close("all")
    return namespace


def save(ax_or_figure, name: str) -> None:
    figure = getattr(ax_or_figure, "figure", ax_or_figure)
    figure.savefig(HERE / "images" / name, dpi=70)
    plt.close(figure)


def main() -> None:
    ns = run_page()
    plot, merging, X_moons = (
        ns["plot"],
        ns["merging"],
        ns["make_moons"](300, noise=0.1, random_state=42)[0],
    )
    figure, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), layout="constrained")
    model = ns["gaussmix"].select_model(X_moons, range(1, 10), random_state=42).best_estimator_
    plot.clusters(
        model,
        X_moons,
        ax=axes[0],
        n_std=(2,),
        title=f"{model.n_components} components chosen by BIC",
    )
    plot.merged_clusters(merging, X_moons, 2, ax=axes[1], title="Merged into 2 clusters")
    axes[1].set_xlim(axes[0].get_xlim())
    axes[1].set_ylim(axes[0].get_ylim())
    axes[1].set_aspect(axes[0].get_aspect())
    save(figure, "toolkit-merging-moons.png")
    save(merging.plot(), "toolkit-merging-entropy.png")
    save(ns["result"].plot(), "toolkit-bootstrap.png")
    save(ns["density"].plot(ns["faithful"]), "toolkit-density-faithful.png")
    save(ns["density_1d"].plot(ns["waiting"]), "toolkit-density-1d.png")


if __name__ == "__main__":
    main()
