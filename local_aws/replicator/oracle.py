"""A reference reader of the raw zone, in plain Python: replay every change onto the full load.

This is the executable meaning of the contract, independent of Spark: for each table, take the
rows of every data file (full load and CDC, duplicates included), order them by
(commit timestamp, change sequence) and apply them by primary key (I and U set the row, D removes
it). The result must equal the source table; tests compare the two.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pyarrow.parquet as pq

from local_aws.replicator.contract import ContractError, is_data_file_name
from local_aws.replicator.source import SourceSettings
from local_aws.replicator.storage import open_storage
from spark_jobs.config import Config, Table, load_config


def _folder(cfg: Config, table: str) -> str:
    parts = [p for p in (cfg.raw.bucket_folder.strip("/"), cfg.raw.schema_folder, table) if p]
    return "/".join(parts)


def changes(raw_dir: str, table: str, cfg: Config | None = None) -> list[dict]:
    """Every change row of a table's raw files, in replay order, with `_file` naming its file."""
    cfg = cfg or load_config()
    c = cfg.raw
    storage = open_storage(str(raw_dir))
    folder = _folder(cfg, table)
    rows: list[dict] = []
    for name in storage.list_names(folder):
        if not is_data_file_name(name, c):
            continue
        data = storage.read_bytes(f"{folder}/{name}")
        file_rows = pq.read_table(io.BytesIO(data)).to_pylist()
        for i, row in enumerate(file_rows):
            op, ts, seq = row.get(c.op_column), row.get(c.commit_ts_column), row.get(c.change_seq_column)
            if (
                op not in c.ops
                or not isinstance(ts, str)
                or not isinstance(seq, str)
                or len(seq) != c.change_seq_length
            ):
                raise ContractError(
                    f"{folder}/{name} row {i}: bad contract columns "
                    f"{c.op_column}={op!r} {c.commit_ts_column}={ts!r} {c.change_seq_column}={seq!r}"
                )
            row["_file"] = name
            rows.append(row)
    rows.sort(key=lambda r: (r[c.commit_ts_column], r[c.change_seq_column]))
    return rows


def replay(
    raw_dir: str, cfg: Config | None = None, tables: Iterable[str] | None = None
) -> dict[str, list[dict]]:
    """Table name -> current rows (source columns only, sorted by primary key) from a raw layer.

    `raw_dir` is the raw layer root (a folder or s3:// URI) holding `<schema>/<table>/` folders.
    Columns a file lacks (added to the source after it was written) are None.
    """
    cfg = cfg or load_config()
    c = cfg.raw
    contract_cols = {c.op_column, c.commit_ts_column, c.change_seq_column, "_file"}
    result = {}
    for name in tables or cfg.tables:
        table = cfg.table(name)
        state: dict[tuple, dict] = {}
        columns: dict[str, None] = dict.fromkeys(table.column_names)
        for row in changes(raw_dir, name, cfg):
            values = {k: v for k, v in row.items() if k not in contract_cols}
            columns.update(dict.fromkeys(values))
            key = _key(table, values, row["_file"])
            if row[c.op_column] == "D":
                state.pop(key, None)
            else:
                state[key] = values
        result[name] = [{col: state[k].get(col) for col in columns} for k in sorted(state)]
    return result


def _key(table: Table, values: dict, file: str) -> tuple:
    try:
        key = tuple(values[k] for k in table.primary_key)
    except KeyError as exc:
        raise ContractError(f"{table.name}/{file}: a row lacks primary-key column {exc.args[0]}") from None
    if any(v is None for v in key):
        raise ContractError(f"{table.name}/{file}: a row has a null primary key {key}")
    return key


def source_state(
    source: SourceSettings, cfg: Config | None = None, tables: Iterable[str] | None = None
) -> dict[str, list[dict]]:
    """Table name -> rows as the source database holds them now (all columns, sorted by primary key)."""
    cfg = cfg or load_config()
    conn = source.connect()
    result = {}
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION time_zone = '+00:00'")  # TIMESTAMP values in UTC, as in the raw zone
            for name in tables or cfg.tables:
                table = cfg.table(name)
                order = ", ".join(f"`{k}`" for k in table.primary_key)
                cur.execute(f"SELECT * FROM `{source.database}`.`{name}` ORDER BY {order}")
                cols = [d[0] for d in cur.description]
                result[name] = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()
    return result
