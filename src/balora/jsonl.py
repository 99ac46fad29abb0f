"""JSON Lines, read strictly: every line a JSON object, or one error naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

from balora.errors import UserError


def parse_records(text: str, where: str) -> list[dict]:
    """The objects of JSON Lines ``text``; blank lines are skipped. ``where`` names the source in errors."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise UserError(f"{where}, line {number}: not valid JSON ({err})") from None
        if not isinstance(record, dict):
            raise UserError(f"{where}, line {number}: expected a JSON object {{...}}, got {type_name(record)}")
        records.append(record)
    return records


def type_name(value) -> str:
    """How JSON calls a value's type, for a user's error line."""
    return {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list [...]", dict: "an object"}.get(type(value), type(value).__name__)


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err)
        raise UserError(f"cannot read {path}: {reason}") from None
    return parse_records(text, str(path))
