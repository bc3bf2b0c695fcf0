"""Safe persistence of fitted models: JSON files with a format version, never pickle files.

`save` writes atomically (a temporary file in the same folder, then a rename), so a
crash never leaves a half-written model. `load` treats the file as untrusted input: it
checks the size before reading, parses plain JSON only (no code is ever executed),
and validates the class, covariance model, shapes, finiteness, weights and positive
definiteness before building anything; every problem is a `ValueError` that says
what is wrong.
"""

from ._json import MAX_FILE_BYTES, read_json, write_json_atomic
from .model_files import FORMAT_NAME, FORMAT_VERSION, load, read_model_file, save

__all__ = [
    "save",
    "load",
    "read_model_file",
    "read_json",
    "write_json_atomic",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
]
