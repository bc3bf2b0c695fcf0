"""Run every Python block of docs/tutorial.md in order, then redraw its figures into docs/images.

    python docs/make_tutorial_images.py

Running the blocks checks that the tutorial's code works as written.
"""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent


def run_tutorial() -> dict:
    text = (HERE / "tutorial.md").read_text()
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        exec(compile(block, "tutorial.md", "exec"), namespace)  # noqa: S102 - our own docs
        plt.close("all")
    return namespace


def save(ax_or_figure, name: str) -> None:
    figure = getattr(ax_or_figure, "figure", ax_or_figure)
    figure.savefig(HERE / "images" / name, dpi=60)
    plt.close(figure)


def main() -> None:
    ns = run_tutorial()
    plot = ns["plot"]
    save(
        plot.clusters(
            ns["gmm"],
            ns["X"],
            true_means=ns["CHAPTER_MEANS"],
            true_covariances=ns["CHAPTER_COVARIANCES"],
        ),
        "tutorial-true-vs-fitted.png",
    )
    save(plot.criterion(ns["result"]), "tutorial-bic.png")
    save(plot.anomalies(ns["detector"], ns["X"]), "tutorial-anomalies.png")


if __name__ == "__main__":
    main()
