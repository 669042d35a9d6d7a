"""The providers' official OpenAPI documents, vendored under tests/specs/, loaded once per run.

Two defects of PagerDuty's document are corrected here, in memory, after loading; the file
on disk is never touched:
- a few schemas carry defaults of the wrong type (`default: '20 - incident_summary'` on an
  integer), so the document fails the strict spec validator; tests/test_specs.py checks
  that the corrected document passes it;
- its `Reference` schema (every `service`, `priority`, `user` … reference) requires `id`
  and `type` but inherits `readOnly: true` on both, so by the letter of OpenAPI no request
  could ever name a service or a user. PagerDuty's own request examples send them; the
  correction drops `readOnly` on those two properties of references only.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import re
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI

SPECS = Path(__file__).resolve().parents[1] / "specs"
FILES = {
    "incidentio": SPECS / "incident-io" / "openapi.json.gz",
    "pagerduty": SPECS / "pagerduty" / "openapiv3.json.gz",
    "firehydrant": SPECS / "firehydrant" / "openapi.yaml.gz",
}


def read_spec(path: Path) -> bytes:
    """The file's upstream bytes: gzip-compressed files are stored that way only to keep the clone small."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


SERVERS = {
    "incidentio": "https://api.incident.io",
    "pagerduty": "https://api.pagerduty.com",
    "firehydrant": "https://api.firehydrant.io",
}

_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int,
    "number": (int, float),
    "string": str,
    "boolean": bool,
}


def fix_defaults(node: Any, fixes: list[str], where: str = "#") -> None:
    """Make each schema's `default` an instance of its own type, or drop it."""
    if isinstance(node, dict):
        kind = node.get("type")
        if "default" in node and isinstance(kind, str) and kind in _TYPES:
            value = node["default"]
            ok = isinstance(value, _TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
            if value is None and node.get("nullable"):
                ok = True
            if not ok:
                leading = re.match(r"^\s*(-?\d+)", value) if isinstance(value, str) else None
                if kind == "integer" and leading:
                    node["default"] = int(leading[1])
                else:
                    del node["default"]
                fixes.append(f"{where}: default {value!r} on {kind}")
        for key, child in node.items():
            fix_defaults(child, fixes, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            fix_defaults(child, fixes, f"{where}/{i}")


@functools.cache
def document(provider: str) -> dict[str, Any]:
    path = FILES[provider]
    text = read_spec(path).decode()
    if path.name.endswith((".yaml.gz", ".yaml")):
        loaded = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    else:
        loaded = json.loads(text)
    fixes: list[str] = []
    fix_defaults(loaded, fixes)
    if provider == "pagerduty":
        fix_references(loaded, fixes)
    FIXES[provider] = fixes
    return loaded


def fix_references(doc: dict[str, Any], fixes: list[str]) -> None:
    schemas = doc["components"]["schemas"]
    base = copy.deepcopy(schemas["Tag"]["allOf"][0])
    for name in ("id", "type"):
        base["properties"][name].pop("readOnly", None)
    reference = schemas["Reference"]
    assert reference["allOf"][0] == {"$ref": "#/components/schemas/Tag/allOf/0"}, "the document changed"
    reference["allOf"][0] = base
    fixes.append("#/components/schemas/Reference: id and type are required, so not readOnly")


FIXES: dict[str, list[str]] = {}


@functools.cache
def openapi(provider: str) -> OpenAPI:
    # The documents are checked by tests/test_specs.py with the strict validator; doing it
    # here too would cost seconds per run for nothing.
    return OpenAPI.from_dict(document(provider), config=Config(spec_validator_cls=None))
