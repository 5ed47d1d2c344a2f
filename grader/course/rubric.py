"""Rubric files: loaded with ``yaml.safe_load``, validated when loaded.

Every error names the file and the key path, says what was expected and what
was found, and suggests the key that was probably meant::

    rubrics/<id>.yaml: items[3]: unknown key 'pionts' (did you mean 'points'?)

Checks that need the reference package (does the named check exist, do the
parts add up) are in ``grader.assignment``.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import RubricError
from ..i18n import LANGUAGES, SOURCE_LANGUAGE, current_language
from ..observe.compare import Tolerance

DTYPES = ("float32", "float64")
DEFAULT_TOLERANCES = {"float32": Tolerance(rtol=1e-4, atol=1e-5), "float64": Tolerance(rtol=1e-7, atol=1e-9)}

_TOLERANCE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"rtol": {"type": "number", "minimum": 0}, "atol": {"type": "number", "minimum": 0}},
}
_TOLERANCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {dtype: _TOLERANCE for dtype in DTYPES},
}
_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400}
# packages: what students may import beyond torch, numpy and matplotlib (grader.sandbox.packages).
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*$"  # a top-level module: `import sklearn`
_DISTRIBUTION = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"  # a name pip installs (PEP 508)
_PATTERNS = {
    _MODULE: "not a top-level module name (as in `import sklearn`; where pip's name differs, "
    "write {import: sklearn, pip: scikit-learn})",
    _DISTRIBUTION: "not a package name pip installs (letters, digits, '.', '_', '-'; no version)",
}
_PACKAGES = {
    "type": "array",
    "uniqueItems": True,
    "items": {
        "description": "a module name, or {import: MODULE, pip: NAME}",
        "anyOf": [
            {"type": "string", "pattern": _MODULE},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["import"],
                "properties": {
                    "import": {"type": "string", "pattern": _MODULE},
                    "pip": {"type": "string", "pattern": _DISTRIBUTION},
                },
            },
        ],
    },
}
_BYTES = {"type": "integer", "minimum": 1024}
_LIMIT_KEYS = {
    "notebook_seconds": ("notebook_s", _SECONDS),
    "cell_seconds": ("cell_s", _SECONDS),
    "call_seconds": ("call_s", _SECONDS),
    "item_seconds": ("item_s", _SECONDS),
    "total_seconds": ("total_s", _SECONDS),
    "output_bytes": ("output_bytes", _BYTES),
    "frame_bytes": ("frame_bytes", _BYTES),
    "memory_bytes": ("memory_bytes", {"type": "integer", "minimum": 1 << 28}),
    "processes": ("processes", {"type": "integer", "minimum": 4, "maximum": 4096}),
    "disk_bytes": ("disk_bytes", {"type": "integer", "minimum": 1 << 20}),
}
_LANGUAGE = {"enum": list(LANGUAGES)}
# A title in the course's language, or one per language: {pl: "...", en: "..."}.
_TITLE = {
    "description": "a title, or a mapping from language (" + ", ".join(LANGUAGES) + ") to title",
    "anyOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {code: {"type": "string", "minLength": 1} for code in LANGUAGES},
        },
    ],
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["assignment", "reference", "items"],
    "properties": {
        "assignment": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "title": _TITLE,
        "language": _LANGUAGE,
        "reference": {"type": "string", "minLength": 1},
        "public_checks": {"type": "string", "minLength": 1},
        "solution_notebook": {"type": "string", "minLength": 1},
        "mutation_operators": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "packages": _PACKAGES,
        "seed": {"type": "integer", "minimum": 0},
        "examples": {"type": "integer", "minimum": 1, "maximum": 100000},
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: schema for key, (_, schema) in _LIMIT_KEYS.items()},
        },
        "tolerances": _TOLERANCES,
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "title", "target", "check", "points"],
                "properties": {
                    "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
                    "title": _TITLE,
                    "target": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                    "check": {"type": "string", "minLength": 1},
                    "points": {"type": "number", "exclusiveMinimum": 0},
                    "parts": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {"type": "number", "minimum": 0},
                    },
                    "misconceptions": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                    "examples": {"type": "integer", "minimum": 1, "maximum": 100000},
                    "tolerances": _TOLERANCES,
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Limits:
    """The rubric's ``limits:``: what the sandbox and the session enforce for one notebook."""

    notebook_s: float = 120.0
    cell_s: float = 60.0
    call_s: float = 10.0
    item_s: float = 60.0
    total_s: float = 600.0  # the whole grading of one notebook: executing it and every item
    output_bytes: int = 1 << 20
    frame_bytes: int = 64 << 20
    memory_bytes: int = 4 << 30
    processes: int = 64
    disk_bytes: int = 256 << 20


@dataclass(frozen=True)
class Package:
    """One of the rubric's ``packages:``: a package students may import beyond torch, numpy and matplotlib."""

    module: str  # what the notebook imports (`import sklearn`)
    pip: str  # what pip installs (`scikit-learn`); the module's name where they are the same


@dataclass(frozen=True)
class Titles:
    """A title per language; shown in the language of the current run (``grader.i18n``), else the course's."""

    texts: tuple[tuple[str, str], ...]  # (language, title), the course's language first

    def __str__(self) -> str:
        texts = dict(self.texts)
        return texts.get(current_language(), self.texts[0][1])


@dataclass(frozen=True)
class Item:
    id: str
    titles: Titles
    target: str
    check: str
    points: float
    parts: tuple[tuple[str, float], ...]  # empty: the check's parts share the points equally
    misconceptions: tuple[str, ...]
    examples: int  # the item's own examples:, else the rubric's
    tolerances: dict[str, Tolerance]
    examples_given: bool = False  # the item says examples: itself (it wins over its check's budget)

    @property
    def title(self) -> str:
        """The title in the language of the current run."""
        return str(self.titles)

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, self.tolerances["float32"])


@dataclass(frozen=True)
class Rubric:
    path: Path
    assignment: str
    titles: Titles
    reference: Path
    public_checks: Path | None  # the students' self-checks (assignments/<id>/public_checks.py)
    solution_notebook: Path | None  # the instructor's notebook the template is made from
    seed: int
    examples: int
    limits: Limits
    items: tuple[Item, ...]
    # The exercise-specific mistakes `grade mutate` also makes for this assignment (grader.mutation.operators).
    mutation_operators: tuple[str, ...] = ()
    # What the notebooks may import beyond torch, numpy and matplotlib: it must be importable where they run.
    packages: tuple[Package, ...] = ()
    # The language students read by default (grade --lang overrides it).
    language: str = SOURCE_LANGUAGE

    @property
    def title(self) -> str:
        """The assignment's title in the language of the current run."""
        return str(self.titles)

    @property
    def locale(self) -> Path:
        """Where the reference package keeps its own translations (grader.i18n)."""
        return self.reference / "locale"

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)

    @functools.cached_property
    def sha256(self) -> str:
        """The rubric file's SHA-256: what stored plans and a report's environment name it by."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_rubric(path: Path) -> Rubric:
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError(f"{shown}: no such rubric file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError(f"{shown}: cannot read the rubric: {exc}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RubricError(f"{shown}: not valid YAML: {where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise RubricError(f"{shown}: not valid YAML: {exc}") from None
    validate(data, shown)
    return _build(data, path)


def validate(data: Any, shown: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise RubricError(f"{shown}: {_explain(errors[0])}")
    _check_translations(data, shown)
    seen: set[str] = set()
    for i, package in enumerate(_packages(data.get("packages"))):
        if package.module in seen:
            raise RubricError(f"{shown}: packages[{i}]: lists '{package.module}' twice")
        seen.add(package.module)


def _check_translations(data: dict, shown: str) -> None:
    """Titles given per language give every language any of them gives, the course's own included."""
    titled = [("title", data["title"])] if "title" in data else []
    titled += [(f"items[{i}].title", item["title"]) for i, item in enumerate(data["items"])]
    given = {code for _, title in titled if isinstance(title, dict) for code in title}
    if not given:
        return
    wanted = [code for code in LANGUAGES if code in given or code == data.get("language", SOURCE_LANGUAGE)]
    for where, title in titled:
        texts = title if isinstance(title, dict) else {data.get("language", SOURCE_LANGUAGE): title}
        for code in wanted:
            if code not in texts:
                raise RubricError(f"{shown}: {where}: no '{code}' translation (other titles give one)")


def _titles(title: str | dict, language: str) -> Titles:
    if isinstance(title, str):
        return Titles(((language, title),))
    ordered = sorted(title.items(), key=lambda pair: pair[0] != language)
    return Titles(tuple(ordered))


def key_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _explain(error) -> str:
    where = key_path(error.absolute_path)
    prefix = f"{where}: " if where else ""
    schema, instance, kind = error.schema, error.instance, error.validator
    if kind in ("anyOf", "oneOf"):
        # The alternative of the value's own kind (a string, a mapping) says best what is wrong with it.
        same_kind = [e for e in error.context or () if _is_type(instance, schema[kind][e.relative_schema_path[0]])]
        if same_kind:
            return _explain(min(same_kind, key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))))
        if "description" in schema:
            return f"{prefix}expected {schema['description']}, found {_shown(instance)}"
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        key = extra[0] if extra else "?"
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else f" (expected one of: {', '.join(allowed)})"
        return f"{prefix}unknown key '{key}'{suggestion}"
    if kind == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return f"{prefix}missing required key '{missing[0]}'"
    if kind == "type":
        expected = {
            "object": "a mapping",
            "array": "a list",
            "string": "a string",
            "number": "a number",
            "integer": "an integer",
        }.get(str(error.validator_value), str(error.validator_value))
        return f"{prefix}expected {expected}, found {_shown(instance)}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        return f"{prefix}must be {op} {error.validator_value}, found {_shown(instance)}"
    if kind == "pattern" and error.validator_value in _PATTERNS:
        return f"{prefix}{_shown(instance)} is {_PATTERNS[error.validator_value]}"
    if kind == "pattern":
        return f"{prefix}{_shown(instance)} is not a valid value here (allowed: letters, digits, '_', '-', '.')"
    if kind in ("minItems", "minProperties"):
        return f"{prefix}must not be empty"
    if kind == "minLength":
        return f"{prefix}must not be empty"
    if kind == "uniqueItems":
        return f"{prefix}lists the same entry twice"
    return f"{prefix}{error.message}"


def _is_type(value: Any, schema: dict) -> bool:
    kind = schema.get("type")
    return {"string": isinstance(value, str), "object": isinstance(value, dict)}.get(str(kind), False)


def _packages(data: list | None) -> tuple[Package, ...]:
    """The validated ``packages:`` list: a module name, or ``{import: MODULE, pip: NAME}``."""
    return tuple(
        Package(module=entry, pip=entry)
        if isinstance(entry, str)
        else Package(module=entry["import"], pip=entry.get("pip", entry["import"]))
        for entry in data or ()
    )


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tolerances(base: dict[str, Tolerance], data: dict | None) -> dict[str, Tolerance]:
    merged = dict(base)
    for dtype, values in (data or {}).items():
        old = merged[dtype]
        merged[dtype] = Tolerance(rtol=float(values.get("rtol", old.rtol)), atol=float(values.get("atol", old.atol)))
    return merged


def _build(data: dict, path: Path) -> Rubric:
    tolerances = _tolerances(DEFAULT_TOLERANCES, data.get("tolerances"))
    examples = int(data.get("examples", 100))
    language = data.get("language", SOURCE_LANGUAGE)
    limits = Limits(
        **{
            field: data.get("limits", {})[key]
            for key, (field, _) in _LIMIT_KEYS.items()
            if key in data.get("limits", {})
        }
    )
    items = tuple(
        Item(
            id=raw["id"],
            titles=_titles(raw["title"], language),
            target=raw["target"],
            check=raw["check"],
            points=float(raw["points"]),
            parts=tuple((str(k), float(v)) for k, v in (raw.get("parts") or {}).items()),
            misconceptions=tuple(raw.get("misconceptions", ())),
            examples=int(raw.get("examples", examples)),
            tolerances=_tolerances(tolerances, raw.get("tolerances")),
            examples_given="examples" in raw,
        )
        for raw in data["items"]
    )
    return Rubric(
        path=path,
        assignment=data["assignment"],
        titles=_titles(data.get("title", data["assignment"]), language),
        language=language,
        reference=(path.parent / data["reference"]).resolve(),
        public_checks=(path.parent / data["public_checks"]).resolve() if "public_checks" in data else None,
        solution_notebook=(path.parent / data["solution_notebook"]).resolve() if "solution_notebook" in data else None,
        mutation_operators=tuple(data.get("mutation_operators", ())),
        packages=_packages(data.get("packages")),
        seed=int(data.get("seed", 0)),
        examples=examples,
        limits=limits,
        items=items,
    )
