"""How much rounding the kernels' expansions may amplify before they switch to exact sums.

The fast kernels expand squares about a reference point inside the mixture, e.g.
``(x - c)^2 = (x - r)^2 - 2 (c - r)(x - r) + (c - r)^2``. Such an expansion subtracts terms
of size ``(c - r)^2`` to leave a result of size ``(x - c)^2``, so it keeps about
``-log10(eps * amplification)`` digits with ``amplification = (c - r)^2 / (x - c)^2``.
Below the limit here the expansion is used; above it the kernels compute that component
exactly (at the cost of one more pass over the chunk).
"""

from __future__ import annotations

import numpy as np

__all__ = ["amplification_limit"]

#: By dtype itemsize: float64 keeps >= 12 digits, float32 >= 4.
_LIMITS = {8: 1e4, 4: 1e3}


def amplification_limit(dtype) -> float:
    """Largest rounding amplification accepted for arithmetic in ``dtype``."""
    return _LIMITS.get(np.dtype(dtype).itemsize, 1e3)
