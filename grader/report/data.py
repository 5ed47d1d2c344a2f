"""JSON and YAML reports: ``Report.to_dict()``, the contract gradebook scripts read."""

from __future__ import annotations

import json

import yaml

from ..result import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_yaml(report: Report) -> str:
    return yaml.safe_dump(report.to_dict(), sort_keys=False, allow_unicode=True, width=100)
