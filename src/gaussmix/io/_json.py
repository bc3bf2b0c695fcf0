"""Untrusted-JSON reading and atomic writing, with no knowledge of models."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

__all__ = ["MAX_FILE_BYTES", "read_json", "write_json_atomic", "atomic_output"]

#: Files larger than this are refused before they are read.
MAX_FILE_BYTES = 64 * 1024 * 1024

_PICKLE_PROTOCOL_MARKER = b"\x80"


def _reject_constant(name: str):
    raise ValueError(f"it contains {name}, which is not valid JSON (every number must be finite)")


def _unique_keys(pairs):
    document = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"key {key!r} appears twice in one object")
        document[key] = value
    return document


def read_json(path, *, max_bytes: int = MAX_FILE_BYTES, what: str = "file"):
    """Parse a JSON file defensively.

    Parameters
    ----------
    path : str or path-like
        The file.
    max_bytes : int, default=MAX_FILE_BYTES
        Larger files are refused before reading.
    what : str, default="file"
        How to name the file in messages.

    Returns
    -------
    document : object
        The parsed JSON value.

    Raises
    ------
    ValueError
        If the file is missing, too large, binary (e.g. a pickle), not UTF-8, not JSON,
        nested too deeply, or uses NaN/Infinity or duplicate keys.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist; check the path.") from None
    except OSError as exc:
        raise ValueError(f"cannot read {what} {str(path)!r} ({exc.strerror}).") from None
    if not path.is_file():
        raise ValueError(f"{what} {str(path)!r} is not a regular file; pass a file path.")
    if size > max_bytes:
        raise ValueError(
            f"{what} {str(path)!r} is {size} bytes, more than the {max_bytes}-byte limit; "
            "it is not a gaussmix model file (or is corrupted)."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {str(path)!r} ({exc.strerror}).") from None
    if raw.startswith(_PICKLE_PROTOCOL_MARKER):
        raise ValueError(
            f"{what} {str(path)!r} looks like a Python pickle, not JSON; gaussmix never loads "
            "pickles. Re-save the model with gaussmix.save."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            f"{what} {str(path)!r} is binary, not UTF-8 JSON; pass a file written by gaussmix.save."
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ValueError(
            f"{what} {str(path)!r} is nested too deeply to be a gaussmix model file."
        ) from None
    except ValueError as exc:  # JSONDecodeError, our hooks, int-digit limits
        raise ValueError(
            f"{what} {str(path)!r} is not valid JSON ({exc}); pass a file written by gaussmix.save."
        ) from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class atomic_output:
    """Context manager yielding a temporary path that replaces ``path`` on success.

    The temporary file lives in the destination folder (so the final ``os.replace`` is
    atomic); on any exception, including KeyboardInterrupt, it is removed and ``path``
    is left untouched.

    Parameters
    ----------
    path : str or path-like
        The final destination.
    """

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self) -> Path:
        folder = self.path.parent
        if not folder.is_dir():
            raise ValueError(
                f"cannot write {str(self.path)!r}: folder {str(folder)!r} does not exist; "
                "create it first."
            )
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=folder
        )
        os.close(descriptor)
        os.chmod(temporary, 0o666 & ~_current_umask())  # as open() would create it
        self.temporary = Path(temporary)
        return self.temporary

    def __exit__(self, exc_type, exc, traceback) -> Literal[False]:
        try:
            if exc_type is None:
                os.replace(self.temporary, self.path)
        finally:
            self.temporary.unlink(missing_ok=True)  # a no-op once renamed
        return False


def write_json_atomic(path, document) -> None:
    """Write ``document`` as JSON to ``path`` atomically (temporary file, then rename).

    Parameters
    ----------
    path : str or path-like
        Destination.
    document : object
        JSON-serialisable value; NaN and infinity are refused.
    """
    text = json.dumps(document, allow_nan=False, indent=1)
    with atomic_output(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
