"""The installed gaussmix version, for ``--version``, reports and model files."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__", "package_version"]


def package_version() -> str:
    """The installed gaussmix version (``"0+unknown"`` in a source tree never installed)."""
    try:
        return version("gaussmix")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = package_version()
