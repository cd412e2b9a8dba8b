"""The JSON Schema of ``result.json``, generated from the types in ``loadgen.core.resultdoc``.

Generated rather than written by hand so the published schema (``docs/result.schema.json``)
and the types readers rely on are one definition: a test compares the file with
``json_schema()`` and rewrites it when run with ``LOADGEN_REGEN=1``. Pure: types in, a dict
out. Every typed object is closed (``additionalProperties: false``), so a producer that
writes an undeclared key fails the schema tests instead of drifting unseen.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

from loadgen.core import resultdoc

__all__ = ["json_schema"]

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
}


def json_schema() -> dict[str, Any]:
    """The document's schema (JSON Schema draft 2020-12), its parts under ``$defs``."""
    defs: dict[str, Any] = {}
    root = _object(resultdoc.ResultDoc, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/loadgen/loadgen/docs/result.schema.json",
        "title": "loadgen result (loadgen.result/1)",
        "description": "The result.json a loadgen run, merge or journal rebuild writes. "
        "Generated from loadgen/core/resultdoc.py; do not edit by hand.",
        **root,
        "properties": {**root["properties"], "schema": {"const": resultdoc.SCHEMA}},
        "$defs": dict(sorted(defs.items())),
    }


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _object(td: Any, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(td, include_extras=True)
    required = sorted(td.__required_keys__)
    out: dict[str, Any] = {
        "type": "object",
        "properties": {key: _schema(hint, defs) for key, hint in hints.items()},
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    doc = (td.__doc__ or "").strip()
    if doc and not doc.startswith(td.__name__ + "("):  # not the functional form's default
        out["description"] = " ".join(doc.split())
    return out


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (Required, NotRequired):
        return _schema(get_args(tp)[0], defs)
    if _is_typeddict(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder: a recursive reference ends here
            defs[name] = _object(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema(arg, defs) for arg in get_args(tp)]}
    if origin is list:
        return {"type": "array", "items": _schema(get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(get_args(tp)[1], defs)}
    raise TypeError(f"no JSON Schema for {tp!r}: extend loadgen.core.resultschema")
