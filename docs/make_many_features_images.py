"""Redraw the figures and print the numbers of docs/many-features.md.

python docs/make_many_features_images.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_wine  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from gaussmix import GaussianMixture, plot  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"

wine = load_wine(as_frame=True)
X = (wine.data - wine.data.mean()) / wine.data.std()  # standardised, as --standardize
model = GaussianMixture(3, covariance_type="VVE", random_state=0).fit(X)
projection = plot.cluster_projection(model)
print(
    "wine: adjusted Rand vs cultivars", round(adjusted_rand_score(wine.target, model.predict(X)), 3)
)
print("wine: share of separation", projection.separation[:3].round(3))
print("wine: Fisher ratios", projection.eigenvalues[:3].round(3))
print(projection.loadings(0).head(4).round(2))
print(projection.loadings(1).head(4).round(2))

figure, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot.clusters(model, X, ax=axes[0], n_std=(2,), dims=(0, 1), title="Wine: the first two features")
plot.clusters(
    model, X, ax=axes[1], n_std=(2,), title="Wine: the plane that best separates the clusters"
)
figure.savefig(IMAGES / "many-features-wine.png", dpi=65)
plt.close(figure)

cancer = load_breast_cancer(as_frame=True)
Xc = (cancer.data - cancer.data.mean()) / cancer.data.std()
model_c = GaussianMixture(2, covariance_type="VVV", n_init=3, random_state=0).fit(Xc)
projection_c = plot.cluster_projection(model_c)
print(
    "breast cancer: adjusted Rand vs diagnosis",
    round(adjusted_rand_score(cancer.target, model_c.predict(Xc)), 3),
)
print("breast cancer:", projection_c.axis_label(0), "|", projection_c.axis_label(1))
figure, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot.clusters(
    model_c, Xc, ax=axes[0], n_std=(2,), title="Breast cancer (30 features), 2 components"
)
plot.uncertainty(model_c, Xc, ax=axes[1])
figure.savefig(IMAGES / "many-features-breast-cancer.png", dpi=65)
plt.close(figure)
