"""Safe JSON files: size-checked, plain-JSON reading and atomic writing; never pickle files.

`write_json_atomic` writes a temporary file in the same folder and renames it, so a
crash never leaves a half-written file; `read_json` treats the file as untrusted input
(it checks the size before reading and parses plain JSON only). Model files built on
these live with the estimators (`gaussmix.estimators.persistence`), which know what a
fitted model holds.
"""

from ._json import MAX_FILE_BYTES, atomic_output, read_json, write_json_atomic

__all__ = ["read_json", "write_json_atomic", "atomic_output", "MAX_FILE_BYTES"]
