"""Writing a file so that a reader sees the old one or the new one, never half of it."""

from __future__ import annotations

import os
import time
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """A temporary file beside ``path``, flushed to disk, renamed over it.

    A path that exists and is not a regular file (``/dev/stdout``, a FIFO) is
    written into instead: renaming over it would replace the device itself.
    The file gets the permissions of any file this process creates (umask).
    """
    binary = isinstance(data, bytes)
    mode, encoding, newline = ("wb", None, None) if binary else ("w", "utf-8", "")
    # Whatever text a submission slipped past escaping (a lone surrogate) is written escaped, never lost.
    errors = None if binary else "backslashreplace"
    if path.exists() and not path.is_file():
        with open(path, mode, encoding=encoding, newline=newline, errors=errors) as stream:
            stream.write(data)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with open(temporary, mode, encoding=encoding, newline=newline, errors=errors) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
