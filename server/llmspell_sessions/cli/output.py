"""How the command line prints results: JSON with --json, otherwise tables and key: value lines."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

SESSION_COLUMNS = ("session_id", "name", "state", "tags", "last_event_seq", "update_time")
ARTIFACT_COLUMNS = ("artifact_id", "name", "version", "type", "size", "stored_size", "create_time")
SIZE_FIELDS = frozenset(
    {"size", "stored_size", "new_bytes", "artifact_bytes", "logical_bytes", "stored_bytes", "state_bytes"}
    | {"bytes", "bytes_stored"}  # export's archive size, import's new chunk bytes
)
RATIO_FIELDS = frozenset({"dedup_ratio", "compression_ratio"})
SHOWN_TAGS = 3  # a table shows this many tags and "+N" for the rest, so one session stays one line
MAX_NAME = 40  # longer names are cut in tables (the whole name is in `session get` and --json)


def plain(value: Any) -> Any:
    """A JSON-ready form of domain objects (dataclasses, enums, datetimes, containers)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "etag"):
            data["etag"] = value.etag
        return data
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def emit(value: Any, as_json: bool, columns: Sequence[str] = SESSION_COLUMNS) -> None:
    """Prints a result: JSON with --json, otherwise a table (lists) or key: value lines (records)."""
    data = plain(value)
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
    elif isinstance(data, list):
        print_table(data, columns)
    elif isinstance(data, dict):
        print_record(data)
    elif data is not None:
        print(data)


def print_record(data: dict[str, Any]) -> None:
    """One `key  value` line per field: sizes in KiB/MiB with the exact bytes, nothing for None."""
    width = max((len(k) for k in data), default=0)
    for key, item in data.items():
        print(f"{key:<{width}}  {record_value(key, item)}".rstrip())


def print_values(values: dict[str, Any]) -> None:
    """State entries: one `key  JSON` line each (so a string shows its quotes and null shows null)."""
    width = max((len(k) for k in values), default=0)
    for key, item in values.items():
        print(f"{key:<{width}}  {json.dumps(item, separators=(',', ':'))}")


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows under upper-case column headers, each column as wide as its widest cell."""
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def record_value(key: str, value: Any) -> str:
    """A field of a record as shown in key: value lines (whole timestamps, exact byte counts)."""
    if value is None:
        return ""
    if key in SIZE_FIELDS and isinstance(value, int):
        return human_size(value) if value < 1024 else f"{human_size(value)} ({value:,} B)"
    if key in RATIO_FIELDS and isinstance(value, int | float):
        return f"{value:.2f}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def cell(key: str, value: Any) -> str:
    """A value as a short table cell: empty for None, human sizes, 2-decimal ratios, few tags."""
    if value is None:
        return ""
    if key in SIZE_FIELDS and isinstance(value, int):
        return human_size(value)
    if key in RATIO_FIELDS and isinstance(value, int | float):
        return f"{value:.2f}"
    if key == "tags" and isinstance(value, list) and len(value) > SHOWN_TAGS:
        return ",".join(value[:SHOWN_TAGS]) + f",+{len(value) - SHOWN_TAGS}"
    if key == "name" and isinstance(value, str) and len(value) > MAX_NAME:
        return value[: MAX_NAME - 1] + "…"
    if key.endswith("_time") and isinstance(value, str):
        return value[:19].replace("T", " ")  # to the second; --json keeps the whole timestamp
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def human_size(size: int) -> str:
    """Bytes in B, KiB, MiB, GiB or TiB (one decimal above 1 KiB)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"
