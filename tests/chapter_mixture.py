"""The chapter's three-component mixture, importable by any test module.

Kept out of conftest.py: several test folders have a conftest.py, so ``from conftest
import ...`` would pick up whichever was imported last.
"""

import numpy as np

CHAPTER_MEANS = np.array([[0.0, 0.0], [3.0, 3.0], [-2.0, 3.0]])
CHAPTER_COVARIANCES = np.array(
    [[[1.0, 0.5], [0.5, 1.0]], [[0.8, 0.0], [0.0, 0.8]], [[2.0, -0.5], [-0.5, 0.5]]]
)
CHAPTER_WEIGHTS = np.array([0.3, 0.4, 0.3])
