"""Refuse, up front, parameter arrays that cannot fit in memory.

A mixture with K components in d dimensions holds several (K, d, d) arrays (covariances,
their precision Cholesky factors, the scatter statistics, temporaries of the M-step).
When K d^2 is beyond the memory the process may use, allocating them would raise a
MemoryError deep inside NumPy at best, or get the process killed by the operating
system at worst; a ValueError that names the numbers and the remedy is better.
"""

from __future__ import annotations

import math
import os

__all__ = ["available_memory_bytes", "check_parameter_memory", "PARAMETER_COPIES"]

#: (K, d, d)-sized arrays alive at once during one EM iteration, with room to spare.
PARAMETER_COPIES = 6


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _address_space_limit() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    limits = []
    for name in ("RLIMIT_AS", "RLIMIT_DATA"):
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        soft, _ = resource.getrlimit(kind)
        if soft != resource.RLIM_INFINITY and soft > 0:
            limits.append(soft)
    return min(limits) if limits else None


def available_memory_bytes() -> int | None:
    """Memory this process may still allocate, as well as the system tells (None: unknown).

    The smaller of the memory the kernel reports available (``MemAvailable``, else the
    physical memory) and the process's address-space/data limits (``ulimit -v``/``-d``).
    """
    candidates = [
        value
        for value in (_meminfo_available() or _physical_memory(), _address_space_limit())
        if value is not None
    ]
    return min(candidates) if candidates else None


def check_parameter_memory(shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Raise a ValueError if ``PARAMETER_COPIES`` arrays of ``shape`` cannot fit in memory.

    Parameters
    ----------
    shape : tuple of int
        Shape of the largest parameter array (e.g. (K, d, d) covariances).
    itemsize : int
        Bytes per value.
    what : str
        How to name the configuration in the message (e.g. "n_components=...").

    Raises
    ------
    ValueError
        If the arrays need more than the available memory.
    """
    needed = PARAMETER_COPIES * itemsize * math.prod(int(n) for n in shape)
    available = available_memory_bytes()
    if available is not None and needed > available:
        raise ValueError(
            f"{what} needs about {needed / 2**30:.3g} GiB for its parameter arrays (shape "
            f"{tuple(shape)}), more than the {available / 2**30:.3g} GiB of memory available. "
            "Use fewer components, fewer features (e.g. PCA first) or a constrained "
            "covariance_type such as 'diag' or 'spherical'."
        )
