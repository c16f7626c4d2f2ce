"""Pure decisions the DAG's tasks make: new raw files since the watermark, how to get DMS running,
and whether the Athena check passed. No AWS or Airflow here, so each is tested on plain values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# ---------------------------------------------------------------------------------------------
# Watermark: the newest raw object a successful run has seen.
#
# S3's LastModified has one-second resolution and DMS keeps writing while the DAG lists, so a
# timestamp alone would either skip a file written in the same second (">") or never settle (">=").
# The watermark therefore keeps the time and the keys seen at exactly that time.


@dataclass(frozen=True)
class Watermark:
    last_modified: datetime | None = None
    keys_at_last_modified: frozenset[str] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, Any]:
        return {
            "last_modified": self.last_modified.isoformat() if self.last_modified else None,
            "keys_at_last_modified": sorted(self.keys_at_last_modified),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Watermark:
        if not data or not data.get("last_modified"):
            return cls()
        return cls(_utc(data["last_modified"]), frozenset(data.get("keys_at_last_modified") or ()))

    @classmethod
    def from_json(cls, text: str | None, where: str = "watermark") -> Watermark:
        if not text:
            return cls()
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: not a valid watermark ({exc}); delete it to reprocess all") from None


def _utc(value: datetime | str) -> datetime:
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def new_objects(objects: Iterable[Mapping[str, Any]], mark: Watermark) -> list[Mapping[str, Any]]:
    """The listed objects (S3 `Key` and `LastModified`) that arrived after the watermark."""
    if mark.last_modified is None:
        return list(objects)
    out = []
    for obj in objects:
        ts = _utc(obj["LastModified"])
        if ts > mark.last_modified or (
            ts == mark.last_modified and obj["Key"] not in mark.keys_at_last_modified
        ):
            out.append(obj)
    return out


def advance(mark: Watermark, objects: Iterable[Mapping[str, Any]]) -> Watermark:
    """The watermark after processing `objects` (never moves backwards)."""
    newest = mark.last_modified
    keys = set(mark.keys_at_last_modified)
    for obj in objects:
        ts = _utc(obj["LastModified"])
        if newest is None or ts > newest:
            newest, keys = ts, {obj["Key"]}
        elif ts == newest:
            keys.add(obj["Key"])
    return Watermark(newest, frozenset(keys))


# ---------------------------------------------------------------------------------------------
# DMS: a CDC task never completes; the DAG only needs it running.

START = "start-replication"  # a task that never ran (full load, then CDC)
RESUME = "resume-processing"  # a stopped or failed task continues CDC where it stopped
RUNNING_STATUSES = ("running", "starting")
STARTABLE = {"ready": START, "stopped": RESUME, "failed": RESUME}


class DmsNotStartable(RuntimeError):
    """The task is in a transitional state (creating, modifying, stopping...); retry later."""


def dms_start_type(task_id: str, status: str) -> str | None:
    """The StartReplicationTaskType to use, or None when the task already runs."""
    if status in RUNNING_STATUSES:
        return None
    if status in STARTABLE:
        return STARTABLE[status]
    raise DmsNotStartable(
        f"DMS replication task {task_id} is {status!r}: neither running nor startable "
        f"({', '.join(STARTABLE)}); the task retries, or fix the task in the DMS console"
    )


# ---------------------------------------------------------------------------------------------
# Athena check


def first_count(result_set: Mapping[str, Any], query: str) -> int:
    """The integer in the first column of the first data row of an Athena ResultSet."""
    rows = result_set.get("Rows") or []
    # Athena repeats the column names as the first row of a SELECT's results.
    columns = [c.get("Name") for c in (result_set.get("ResultSetMetadata") or {}).get("ColumnInfo") or []]
    data = rows[1:] if rows and columns and _values(rows[0]) == columns else rows
    if not data or not _values(data[0]):
        raise ValueError(f"Athena check returned no rows: {query}")
    value = _values(data[0])[0]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Athena check returned {value!r}, not a count: {query}") from None


def _values(row: Mapping[str, Any]) -> list[Any]:
    return [d.get("VarCharValue") for d in row.get("Data") or []]
