"""Autograder bundles: one archive with an assignment's trusted parts.

A bundle is a zip of the course layout an assignment needs (its rubric, its
reference package, its public checks and their translations), plus
``MANIFEST.json`` listing every file's SHA-256 and a checksum over them. It
is reproducible: the same files give the same bytes. ``grade bundle
--plans`` also packs the assignment's stored plans (``plans/``, see
``grader.judging.plans``), made with this machine's torch: a grading with the
same torch, seed and examples replays them, so not even the first notebook
draws inputs or runs the reference. A CI bot or a grading
server grades with ``grade --assignment bundle.zip``; the bundle is checked
and unpacked into a private folder first, refusing absolute paths, ``..``,
links, duplicates, files the manifest does not list, and archives over the
size caps.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .._version import __version__
from ..errors import GraderError
from .rubric import Rubric

FORMAT = 1
MANIFEST = "MANIFEST.json"
MAX_ENTRIES = 2000
MAX_BYTES = 64 << 20
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleError(GraderError):
    """The archive is not a bundle this grader can trust."""


def _files(root: Path, rubric: Rubric) -> list[tuple[str, Path]]:
    def relative(path: Path) -> str:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise BundleError(f"{path} is outside the course directory {root}: it cannot go in a bundle") from None

    entries = [(relative(rubric.path), rubric.path)]
    for path in sorted(rubric.reference.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            entries.append((relative(path), path))
    if rubric.public_checks is not None:
        entries.append((relative(rubric.public_checks), rubric.public_checks))
        # Their translations, beside them: locale/<lang>/LC_MESSAGES/public_checks.po (grader.selfcheck.catalogue).
        for path in sorted(rubric.public_checks.parent.glob(f"locale/*/LC_MESSAGES/{rubric.public_checks.stem}.po")):
            if path.is_file():
                entries.append((relative(path), path))
    return entries


def checksum(files: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in sorted(files.items())).encode()).hexdigest()


PLANS = "plans"


def _plans(directory: Path) -> list[tuple[str, Path]]:
    return [
        (f"{PLANS}/{path.parent.name}/{path.name}", path)
        for path in sorted(directory.glob("*/*.plan"))
        if path.is_file() and not path.is_symlink()
    ]


def make_bundle(
    rubric: Rubric, *, plans: Path | None = None, made_with: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """The archive's bytes and its checksum; with ``plans``, the stored plans in that folder go in too."""
    root = rubric.path.resolve().parent.parent
    entries = _files(root, rubric) + (_plans(plans) if plans is not None else [])
    files = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in entries}
    manifest = {
        "format": FORMAT,
        "assignment": rubric.assignment,
        "rubric": entries[0][0],
        "grader_version": __version__,
        "files": files,
        "checksum": checksum(files),
    }
    if made_with:
        manifest["plans_made_with"] = dict(made_with)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())] + [
            (name, path.read_bytes()) for name, path in entries
        ]:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue(), checksum(files)


def _safe_name(name: str, shown: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or name.startswith("/") or "\\" in name or path.is_absolute() or ".." in path.parts:
        raise BundleError(f"{shown}: unsafe path in the archive: {name!r}")
    if any(part in ("", ".") for part in name.split("/")):
        raise BundleError(f"{shown}: unsafe path in the archive: {name!r}")
    return path


# Bundles unpacked by this process (and, through fork, by the grading workers it starts), by file and
# version: a batch unpacks its bundle once, not once per notebook (each folder is removed at exit).
_UNPACKED: dict[tuple[str, int, int], Path] = {}


def extract(bundle: Path) -> Path:
    """Checks and unpacks a bundle into a private folder; returns its rubric's path."""
    try:
        found = bundle.stat()
        key = (os.path.realpath(bundle), found.st_mtime_ns, found.st_size)
    except OSError:
        key = None
    if key is not None and key in _UNPACKED and _UNPACKED[key].is_file():
        return _UNPACKED[key]
    rubric = _unpack(bundle)
    if key is not None:
        _UNPACKED[key] = rubric
    return rubric


def _unpack(bundle: Path) -> Path:
    shown = str(bundle)
    try:
        archive = zipfile.ZipFile(bundle)
    except FileNotFoundError:
        raise BundleError(f"{shown}: no such bundle") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{shown}: not a bundle: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BundleError(f"{shown}: more than {MAX_ENTRIES} entries")
        if sum(info.file_size for info in infos) > MAX_BYTES:
            raise BundleError(f"{shown}: more than {MAX_BYTES >> 20} MiB once unpacked")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise BundleError(f"{shown}: an entry appears twice")
        for info in infos:
            _safe_name(info.filename, shown)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded, as from many zip tools
            if info.is_dir() or kind not in (0, stat.S_IFREG):
                raise BundleError(f"{shown}: {info.filename!r} is not a regular file (links and folders are refused)")
        if MANIFEST not in names:
            raise BundleError(f"{shown}: not a bundle: no {MANIFEST}")
        try:
            manifest = json.loads(archive.read(MANIFEST))
            files: dict[str, str] = dict(manifest["files"])
            rubric_name = str(manifest["rubric"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BundleError(f"{shown}: {MANIFEST} is malformed: {exc}") from None
        if manifest.get("format") != FORMAT:
            raise BundleError(f"{shown}: bundle format {manifest.get('format')!r} is not {FORMAT}")
        if set(files) != set(names) - {MANIFEST}:
            raise BundleError(f"{shown}: the archive's files and its manifest disagree")
        if manifest.get("checksum") != checksum(files) or rubric_name not in files:
            raise BundleError(f"{shown}: the manifest's checksum does not match its files")
        target = Path(tempfile.mkdtemp(prefix="grader-bundle-"))
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        for name in files:
            data = archive.read(name)
            if hashlib.sha256(data).hexdigest() != files[name]:
                shutil.rmtree(target, ignore_errors=True)
                raise BundleError(f"{shown}: {name} does not match its checksum")
            path = target.joinpath(*_safe_name(name, shown).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    (target / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")  # marks the folder as a bundle's
    return target / rubric_name


def shipped_plans(rubric: Rubric) -> Path | None:
    """The plans a bundle brought (``plans/`` beside its manifest), if the rubric came from one."""
    root = rubric.path.parent.parent
    folder = root / PLANS
    return folder if (root / MANIFEST).is_file() and folder.is_dir() else None
