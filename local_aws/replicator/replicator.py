"""The local DMS: full load from a consistent snapshot, then CDC from the binlog, in the raw-zone contract.

Flow of one run: check the source and target; load the checkpoint; full-load every table that has
none yet (all from one snapshot); then read the binlog from the checkpoint position, cut it into
committed transactions, stamp each change with a monotonic commit timestamp and a change sequence,
batch changes per table (by size and interval, like DMS's CdcMinFileSize/CdcMaxBatchInterval) and
write each batch as one CDC file per table. The checkpoint advances only after the files it covers
are durably written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import zlib
from dataclasses import dataclass, field, replace

import pyarrow as pa
import pyarrow.parquet as pq

from local_aws.replicator.cdc import BinlogReader, Change, Transaction
from local_aws.replicator.checkpoint import (
    CHECKPOINT_KEY,
    LOCK_KEY,
    Checkpoint,
    CheckpointError,
    TableState,
    load_checkpoint,
    save_checkpoint,
    type_from_str,
    type_to_str,
)
from local_aws.replicator.contract import (
    ContractError,
    arrow_type,
    binlog_number,
    cdc_file_name,
    cdc_name_ms,
    file_schema,
    format_commit_ts,
    is_data_file_name,
    is_full_load_name,
    seq_prefix,
)
from local_aws.replicator.faults import Faults
from local_aws.replicator.fullload import (
    TEXT_RESULTS,
    load_table,
    open_snapshot,
    parquet_options,
    row_group_rows,
)
from local_aws.replicator.source import (
    SourceError,
    SourceSettings,
    binlog_files,
    check_database,
    check_server,
    source_columns,
)
from local_aws.replicator.storage import Storage, open_storage
from local_aws.replicator.types import to_arrow_value
from spark_jobs import run_lock
from spark_jobs.config import Config, Table, on_s3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    target: str  # the raw layer: a local folder or s3://bucket/prefix
    tables: tuple[str, ...] = ()  # registry tables to replicate; empty = all
    follow: bool = False
    poll_interval: float = 1.0
    cdc_max_batch_interval: float | None = None  # seconds; default from the contract
    cdc_min_file_size: int | None = None  # KB; default from the contract
    max_file_size: int | None = None  # KB per full-load file; default from the contract
    server_id: int | None = None  # replica id on the source; default: derived from the target
    reset: bool = False  # forget the checkpoint and the raw files: a fresh full load
    reload: tuple[str, ...] = ()  # tables to full-load again (DMS reload-target for one table)
    faults: Faults = field(default_factory=Faults)


@dataclass
class RunReport:
    full_load: dict[str, int] = field(default_factory=dict)  # table -> rows
    cdc_rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    position: tuple[str, int] | None = None

    def summary(self) -> str:
        parts = []
        if self.full_load:
            parts.append("full load " + ", ".join(f"{t}={n}" for t, n in self.full_load.items()))
        cdc = sum(self.cdc_rows.values())
        parts.append(
            f"{cdc} change(s)"
            + (f" ({', '.join(f'{t}={n}' for t, n in self.cdc_rows.items())})" if cdc else "")
        )
        parts.append(f"{len(self.files)} file(s) written")
        if self.position:
            parts.append(f"binlog position {self.position[0]}:{self.position[1]}")
        return "; ".join(parts)


@dataclass
class _Batch:
    """Changes of one table waiting to be written."""

    ops: list[str] = field(default_factory=list)
    ts: list[str] = field(default_factory=list)
    seq: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    def add(self, change: Change, ts: str) -> None:
        self.ops.append(change.op)
        self.ts.append(ts)
        self.seq.append(change.seq)
        self.rows.append(change.values)

    def __len__(self) -> int:
        return len(self.ops)


def _order(log_file: str, log_pos: int) -> tuple[int, int]:
    return binlog_number(log_file), log_pos


def _load_number(name: str, contract) -> int:
    """The number of a LOAD file name (LOAD0000000A.parquet -> 10), 0 for other names."""
    if not is_full_load_name(name, contract):
        return 0
    return int(name[len(contract.full_load_prefix) : -len(contract.file_suffix)], 16)


@dataclass(frozen=True)
class _Position:
    log_file: str
    log_pos: int
    gtid: str | None
    last_ts: int


class Replicator:
    """One replication target fed from one source database."""

    def __init__(self, cfg: Config, source: SourceSettings, options: Options):
        self.cfg = cfg
        self.contract = cfg.raw
        self.source = source
        self.options = options
        self.faults = options.faults
        s3 = self.contract.s3_settings
        self.batch_interval = float(
            options.cdc_max_batch_interval
            if options.cdc_max_batch_interval is not None
            else s3.get("cdc_max_batch_interval", 60)
        )
        self.min_file_bytes = 1024 * int(
            options.cdc_min_file_size
            if options.cdc_min_file_size is not None
            else s3.get("cdc_min_file_size", 32000)
        )
        self.max_file_bytes = 1024 * int(
            options.max_file_size if options.max_file_size is not None else s3.get("max_file_size", 1048576)
        )
        names = options.tables or tuple(cfg.tables)
        self.tables: dict[str, Table] = {name: cfg.table(name) for name in names}
        for name in options.reload:
            if name not in self.tables:
                raise ContractError(
                    f"--reload {name}: not a replicated table; known: {', '.join(self.tables)}"
                )
        self.storage: Storage = open_storage(options.target)
        # Replicas on one source need distinct ids (the server drops an older connection with the
        # same id); one id per target keeps two replicators for different targets apart.
        self.server_id = (
            options.server_id or 1_000_000 + zlib.crc32(self.storage.uri.encode()) % 1_000_000_000
        )
        self.parquet = parquet_options(self.contract)
        # Run state
        self.checkpoint: Checkpoint | None = None
        self.report = RunReport()
        self._batches: dict[str, _Batch] = {}
        self._batch_bytes = 0
        self._batch_started: float | None = None
        self._read: _Position | None = None  # end of the last transaction taken into batches
        self._durable: _Position | None = None  # what the batches already written cover
        self._saved: _Position | None = None  # what the saved checkpoint says
        self._cdc_files = 0
        self._flushes = 0

    # -- layout ------------------------------------------------------------------------------

    def table_folder(self, table: str) -> str:
        """Key of a table's folder relative to the target (the raw layer)."""
        parts = [p for p in (self.contract.bucket_folder.strip("/"), self.contract.schema_folder, table) if p]
        return "/".join(parts)

    # -- the run -----------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> RunReport:
        """Full load where needed, then CDC: drain and exit, or follow until `stop` is set."""
        stop = stop or threading.Event()
        self.storage.check()
        with self.storage.lock(LOCK_KEY):
            conn = self.source.connect()
            try:
                check_server(conn, self.source.label)
                check_database(conn, self.source.database, self.source.label)
                for table in self.tables.values():
                    source_columns(conn, self.source.database, table, self.source.label)
            finally:
                conn.close()
            self.checkpoint = self._open_checkpoint()
            if self.checkpoint.log_file:
                self._check_position()  # before spending time on a full load
            self._full_load()
            self._check_position()
            self._cdc(stop)
        return self.report

    def _open_checkpoint(self) -> Checkpoint:
        if self.options.reset:
            with self._reset_guard():
                self._clear_tables(list(self.cfg.tables))
                self.storage.delete(CHECKPOINT_KEY)
        ckpt = load_checkpoint(self.storage)
        if ckpt is None:
            return Checkpoint(source=self.source.label, target=self.storage.uri)
        if ckpt.source != self.source.label:
            raise CheckpointError(
                f"checkpoint {self.storage.uri}/{CHECKPOINT_KEY} belongs to source {ckpt.source}, not "
                f"{self.source.label}; use another --target, or --reset to start over with a full load"
            )
        for name in self.options.reload:
            if name in ckpt.tables:
                # The old files stay and new LOAD files follow. Changes not yet delivered are still
                # delivered (they sort before the new LOAD rows): deletes must reach the old rows.
                state = ckpt.tables[name]
                state.loaded = False
                state.cdc_from_file, state.cdc_from_pos = ckpt.log_file, ckpt.log_pos
        return ckpt

    def _reset_guard(self) -> contextlib.AbstractContextManager:
        """A reset of the lake's own raw zone deletes its files under the lake's run lock
        (spark_jobs.run_lock), so that it never pulls files from under a pipeline run: it
        refuses with LakeBusy, naming the run, and deletes nothing. Another target needs none."""
        raw, target = self.cfg.env.paths["raw"], self.options.target
        if on_s3(raw) or on_s3(target) or os.path.realpath(raw) != os.path.realpath(target):
            return contextlib.nullcontext()
        return run_lock.holding(self.cfg, "replicate --reset")

    def _clear_tables(self, names: list[str]) -> None:
        """Remove the tables' raw files (--reset; DMS's DROP_AND_CREATE target preparation)."""
        for name in names:
            folder = self.table_folder(name)
            for file in self.storage.list_names(folder):
                if is_data_file_name(file, self.contract):
                    self.storage.delete(f"{folder}/{file}")

    def _check_position(self) -> None:
        conn = self.source.connect()
        try:
            files = binlog_files(conn)
        finally:
            conn.close()
        ckpt = self.checkpoint
        start = self._start_position()
        if start[0] not in files:
            raise SourceError(
                f"source {self.source.label}: binlog {start[0]} (checkpoint position {start[0]}:{start[1]}) "
                "is no longer on the server (purged or RESET MASTER); run with --reset for a new full load"
            )
        if ckpt.log_file and binlog_number(ckpt.log_file) > binlog_number(files[-1]):
            raise SourceError(
                f"source {self.source.label}: checkpoint binlog {ckpt.log_file} is ahead of the server"
            )

    def _start_position(self) -> tuple[str, int]:
        ckpt = self.checkpoint
        if self.faults.overlap_from and not ckpt.cdc_started:
            return self.faults.overlap_from
        return ckpt.log_file, ckpt.log_pos

    # -- full load ---------------------------------------------------------------------------

    def _full_load(self) -> None:
        """Full-load every table without a completed load (new, reloaded, or cut short by a crash).

        The checkpoint is saved before any file is written, naming the snapshot and the position
        from which the table's changes must be delivered. If the run dies after writing files, the
        next run loads the table again from a new snapshot into new file names (a name is never
        reused: bronze may have ingested it), and CDC re-delivers every change since the *first*
        attempt's snapshot, so rows deleted in between cannot survive from the older LOAD files.
        """
        ckpt = self.checkpoint
        todo = [
            t for t in self.tables.values() if t.name not in ckpt.tables or not ckpt.tables[t.name].loaded
        ]
        if not todo:
            return
        conn = self.source.connect(conv=TEXT_RESULTS)
        try:
            snapshot = open_snapshot(conn)
            log.info(
                "full load of %d table(s) from snapshot %s:%d", len(todo), snapshot.log_file, snapshot.log_pos
            )
            for table in todo:
                old = ckpt.tables.get(table.name)
                state = TableState(snapshot.log_file, snapshot.log_pos, snapshot.ts, loaded=False)
                if old is not None:  # keep counters and added columns
                    state = replace(old, snapshot_file=snapshot.log_file, snapshot_pos=snapshot.log_pos,
                                    snapshot_ts=snapshot.ts, loaded=False)  # fmt: skip
                # A new table's changes after this snapshot are delivered by CDC; a reload and a
                # load cut short keep an earlier point (files of theirs may already have been read).
                if state.cdc_from_file is None:
                    state.cdc_from_file, state.cdc_from_pos = snapshot.log_file, snapshot.log_pos
                ckpt.tables[table.name] = state
            if ckpt.log_file is None:
                first = min(
                    (ckpt.tables[t.name] for t in todo), key=lambda s: _order(s.cdc_from_file, s.cdc_from_pos)
                )
                ckpt.log_file, ckpt.log_pos = first.cdc_from_file, first.cdc_from_pos
            save_checkpoint(self.storage, ckpt)

            written = []
            next_row = 1
            for table in todo:
                folder = self.table_folder(table.name)
                self.storage.remove_temp_files(folder)
                first_file = 1 + max(
                    (_load_number(n, self.contract) for n in self.storage.list_names(folder)), default=0
                )

                def write_file(name, writer, folder=folder):
                    written.append(f"{folder}/{name}")
                    return self.storage.write_atomic(f"{folder}/{name}", writer)

                loaded = load_table(conn, self.source, table, self.contract, snapshot,
                                    write_file=write_file, max_file_bytes=self.max_file_bytes,
                                    first_row=next_row, first_file=first_file)  # fmt: skip
                next_row += loaded.rows
                state = ckpt.tables[table.name]
                state.full_load_rows = loaded.rows
                state.full_load_files += len(loaded.files)
                for name, dtype in loaded.extra_columns.items():
                    state.extra_columns.setdefault(name, type_to_str(dtype))
                self.report.full_load[table.name] = loaded.rows
            conn.commit()
        finally:
            conn.close()
        self.report.files += written
        self.faults.crash_at("full_load:after_files", 1)
        for table in todo:
            ckpt.tables[table.name].loaded = True
        ckpt.last_ts = max(ckpt.last_ts, snapshot.ts)
        save_checkpoint(self.storage, ckpt)

    # -- CDC ---------------------------------------------------------------------------------

    def _cdc(self, stop: threading.Event) -> None:
        ckpt = self.checkpoint
        for name in self.tables:
            self.storage.remove_temp_files(self.table_folder(name))
            self._sync_last_name(name)
        start_file, start_pos = self._start_position()
        self._durable = self._saved = _Position(ckpt.log_file, ckpt.log_pos, ckpt.gtid, ckpt.last_ts)
        self._read = _Position(start_file, start_pos, ckpt.gtid, ckpt.last_ts)
        overlap = bool(self.faults.overlap_from) and not ckpt.cdc_started
        # A table's changes up to its snapshot are in its full load (unless the overlap fault wants them).
        skip = {
            name: seq_prefix(binlog_number(st.cdc_from_file), st.cdc_from_pos)
            for name, st in ckpt.tables.items()
            if name in self.tables and not overlap
        }
        known = {
            name: set(t.column_names) | set(ckpt.tables[name].extra_columns)
            for name, t in self.tables.items()
        }
        keys = {name: t.primary_key for name, t in self.tables.items()}
        clamp = max((st.snapshot_ts for st in ckpt.tables.values()), default=0)
        while True:
            reader = BinlogReader(self.source, known, keys, self._read.log_file, self._read.log_pos,
                                  server_id=self.server_id, skip_through=skip)  # fmt: skip
            for txn in reader.transactions():
                self._take(txn, clamp)
                if self._due():
                    self._flush()
                if stop.is_set():
                    break
            reader.close()
            if not self.options.follow or stop.is_set():
                break
            if self._due():
                self._flush()
            elif not self._batches and self._durable != self._saved:
                self._save()  # nothing pending, but the position moved past other tables' traffic
            stop.wait(self.options.poll_interval)
        if self._batches:
            self._flush()
        elif self._durable != self._saved:
            self._save()
        self.report.position = (self._durable.log_file, self._durable.log_pos)

    def _take(self, txn: Transaction, clamp: int) -> None:
        """Stamp a committed transaction's changes and add them to the table batches."""
        for table, columns in txn.new_columns.items():
            state = self.checkpoint.tables[table]
            for name, dtype in columns.items():
                state.extra_columns.setdefault(name, type_to_str(dtype))
        before = self._read
        if not txn.changes:
            self._read = _Position(txn.end_file, txn.end_pos, txn.gtid or before.gtid, before.last_ts)
            if not self._batches:
                self._durable = self._read
            return
        ts_epoch = max(txn.timestamp, before.last_ts, clamp)
        ts = format_commit_ts(ts_epoch, self.contract)
        changes = txn.changes
        if self.faults.split_transactions and len(changes) > 1:
            half = len(changes) // 2
            self._add(changes[:half], ts, txn.size // 2)
            self._flush(upto=before)  # files now hold part of the transaction; the checkpoint stays before it
            changes = changes[half:]
        self._add(changes, ts, txn.size)
        self._read = _Position(txn.end_file, txn.end_pos, txn.gtid, ts_epoch)

    def _add(self, changes: list[Change], ts: str, size: int) -> None:
        if self._batch_started is None:
            self._batch_started = time.monotonic()
        for change in changes:
            batch = self._batches.get(change.table)
            if batch is None:
                batch = self._batches[change.table] = _Batch()
            batch.add(change, ts)
            self.report.cdc_rows[change.table] = self.report.cdc_rows.get(change.table, 0) + 1
        self._batch_bytes += size

    def _due(self) -> bool:
        if not self._batches:
            return False
        if self._batch_bytes >= self.min_file_bytes:
            return True
        return time.monotonic() - (self._batch_started or 0) >= self.batch_interval

    def _flush(self, upto: _Position | None = None) -> None:
        """Write one CDC file per table with pending changes, then advance the checkpoint.

        The checkpoint moves to `upto` (default: the end of the last transaction taken), a
        transaction boundary whose changes are all in files now.
        """
        ckpt = self.checkpoint
        for name, batch in self._batches.items():
            data = self._parquet_bytes(name, batch)
            state = ckpt.tables[name]
            self._cdc_files += 1
            copies = 2 if self.faults.duplicate(self._cdc_files) else 1
            for _ in range(copies):
                file = self._next_name(name)
                key = f"{self.table_folder(name)}/{file}"
                self.storage.write_atomic(key, lambda f, data=data: f.write(data))
                self.report.files.append(key)
                state.cdc_files += 1
            state.cdc_rows += len(batch)
        wrote = bool(self._batches)
        self._batches = {}
        self._batch_bytes = 0
        self._batch_started = None
        if wrote:
            self._flushes += 1
            self.faults.crash_at("cdc:after_files", self._flushes)
        self._durable = upto or self._read
        self._save()

    def _save(self) -> None:
        ckpt, durable = self.checkpoint, self._durable
        ckpt.log_file, ckpt.log_pos, ckpt.gtid, ckpt.last_ts = (
            durable.log_file, durable.log_pos, durable.gtid, durable.last_ts)  # fmt: skip
        ckpt.cdc_started = True
        save_checkpoint(self.storage, ckpt)
        self._saved = durable

    def _parquet_bytes(self, table: str, batch: _Batch) -> bytes:
        t = self.tables[table]
        extra = {k: type_from_str(v) for k, v in self.checkpoint.tables[table].extra_columns.items()}
        schema = file_schema(t, self.contract, extra)
        c = self.contract
        arrays = [
            pa.array(batch.ops, pa.string()),
            pa.array(batch.ts, pa.string()),
            pa.array(batch.seq, pa.string()),
        ]
        types = {col.name: arrow_type(col) for col in t.columns} | extra
        for name, dtype in types.items():
            values = [r.get(name) for r in batch.rows]
            try:
                arrays.append(pa.array(values, dtype))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                try:
                    arrays.append(pa.array([to_arrow_value(v, dtype) for v in values], dtype))
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                    raise ContractError(
                        f"table {table}: column {name} has a value that does not fit {dtype} ({exc}); "
                        f"first change of the batch: {c.op_column}={batch.ops[0]} "
                        f"{c.change_seq_column}={batch.seq[0]}"
                    ) from None
        sink = pa.BufferOutputStream()
        pq.write_table(
            pa.Table.from_arrays(arrays, schema=schema), sink, row_group_size=row_group_rows(self.contract),
            **self.parquet,
        )  # fmt: skip
        return sink.getvalue().to_pybytes()

    def _sync_last_name(self, table: str) -> None:
        """Never reuse or go below an existing CDC name (a crashed run may have written newer ones)."""
        state = self.checkpoint.tables[table]
        for name in self.storage.list_names(self.table_folder(table)):
            ms = cdc_name_ms(name, self.contract)
            if ms is not None:
                state.last_cdc_ms = max(state.last_cdc_ms, ms)

    def _next_name(self, table: str) -> str:
        state = self.checkpoint.tables[table]
        ms = max(int(time.time() * 1000), state.last_cdc_ms + 1)
        state.last_cdc_ms = ms
        return cdc_file_name(ms, self.contract)
