"""Writing a file so that a reader sees the old one or the new one, never half of it."""

from __future__ import annotations

import hashlib
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


def cannot_write_in(folder: Path, *, make: bool = False) -> str | None:
    """Why no file can be written in ``folder`` (None: one can), found by writing one; ``make``: the folder
    (and its parents) made first where missing.

    ``os.access`` answers yes to root whatever the folder is: a read-only mount, an immutable folder or
    ``/proc`` refuse only a real write.
    """
    if make:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return exc.strerror or str(exc)
    probe = folder / f".grader-write-test.{os.getpid()}.{time.monotonic_ns()}"
    try:
        with open(probe, "x", encoding="utf-8") as handle:
            handle.write("")
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        probe.unlink()
    except OSError:
        pass
    return None


def tree_digest(root: Path, pattern: str = "*") -> str:
    """The SHA-256 of every file under ``root`` matching ``pattern`` (names and contents, in sorted order;
    ``__pycache__`` left out): what changes when any of them does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
