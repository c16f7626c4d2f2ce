"""The replicator's checkpoint: what has been delivered, and the binlog position to resume from.

It lives beside the data it describes (`<target>/_replicator/checkpoint.json`) and is written
atomically, only after the files it covers are durably written. A crash before the checkpoint
write therefore re-delivers changes (allowed, as with DMS) and never loses or skips one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from local_aws.replicator.storage import Storage

CHECKPOINT_KEY = "_replicator/checkpoint.json"
LOCK_KEY = "_replicator/lock"
VERSION = 1

_SIMPLE_TYPES = {
    str(t): t
    for t in (
        pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64(),
        pa.float32(), pa.float64(), pa.string(), pa.binary(), pa.date32(), pa.timestamp("us"),
        pa.time64("us"), pa.bool_(),
    )
}  # fmt: skip
_DECIMAL_RE = re.compile(r"^decimal128\((\d+), (\d+)\)$")


class CheckpointError(RuntimeError):
    """The checkpoint is unreadable or belongs to another source or target; the message says which."""


def type_to_str(dtype: pa.DataType) -> str:
    return str(dtype)


def type_from_str(text: str) -> pa.DataType:
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    m = _DECIMAL_RE.match(text)
    if m:
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    raise CheckpointError(f"checkpoint: unknown column type {text!r}")


@dataclass
class TableState:
    """Per table: the snapshot its full load came from, and what was delivered since."""

    snapshot_file: str  # the latest full load's snapshot
    snapshot_pos: int
    snapshot_ts: int  # epoch seconds, truncated: the commit timestamp of its full-load rows
    loaded: bool = True  # False while a full load is being written (or was cut short)
    cdc_from_file: str | None = None  # this table's changes after this position are delivered by CDC
    cdc_from_pos: int = 0
    full_load_rows: int = 0
    full_load_files: int = 0
    cdc_rows: int = 0
    cdc_files: int = 0
    last_cdc_ms: int = 0  # instant of the newest CDC file name, so names never go backwards
    extra_columns: dict[str, str] = field(default_factory=dict)  # source columns added after the registry


@dataclass
class Checkpoint:
    source: str  # host:port/database
    target: str
    tables: dict[str, TableState] = field(default_factory=dict)
    log_file: str | None = None  # resume position: a transaction boundary in the binlog
    log_pos: int | None = None
    gtid: str | None = None  # informational: the last GTID delivered
    last_ts: int = 0  # the last commit timestamp emitted (epoch s), keeps timestamps monotonic
    cdc_started: bool = False
    updated_at: str = ""
    version: int = VERSION

    def to_json(self) -> bytes:
        self.updated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Checkpoint:
        try:
            raw = json.loads(data)
            if raw.get("version") != VERSION:
                raise CheckpointError(
                    f"checkpoint {where}: version {raw.get('version')!r}, expected {VERSION}"
                )
            tables = {name: TableState(**t) for name, t in raw.pop("tables").items()}
            return cls(tables=tables, **raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CheckpointError(
                f"checkpoint {where} is unreadable ({exc}); remove it (or run with --reset) to start over"
            ) from None


def load_checkpoint(storage: Storage) -> Checkpoint | None:
    data = storage.read_bytes(CHECKPOINT_KEY)
    if data is None:
        return None
    return Checkpoint.from_json(data, f"{storage.uri}/{CHECKPOINT_KEY}")


def save_checkpoint(storage: Storage, checkpoint: Checkpoint) -> None:
    storage.write_bytes(CHECKPOINT_KEY, checkpoint.to_json())
