"""Bad settings and unreachable places fail with one clear message naming the thing to fix."""

from __future__ import annotations

import json

import pytest

from local_aws.mariadb import free_port
from local_aws.replicator import Options, Replicator, SourceError, SourceSettings
from local_aws.replicator.checkpoint import CHECKPOINT_KEY, LOCK_KEY, CheckpointError
from local_aws.replicator.storage import LocalStorage, TargetError
from spark_jobs.config import ConfigError
from tests.local_aws.replicator.sourcedb import cli_env, create_table_sql, replicate, run_cli, seed


@pytest.mark.parametrize("setting", [("binlog_format", "STATEMENT"), ("binlog_row_image", "MINIMAL"),
                                     ("binlog_row_metadata", "MINIMAL")])  # fmt: skip
def test_source_without_cdc_settings_is_refused(cfg, source, raw, mysql, setting):
    variable, bad = setting
    conn = mysql.connect(database="", autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT @@GLOBAL.{variable}")
        (good,) = cur.fetchone()
        cur.execute(f"SET GLOBAL {variable} = '{bad}'")
        try:
            with pytest.raises(SourceError, match=f"{variable} is {bad}, CDC needs {variable}={good}"):
                replicate(cfg, source, raw)
        finally:
            cur.execute(f"SET GLOBAL {variable} = '{good}'")
    assert not (raw / CHECKPOINT_KEY).exists()


def test_unknown_table_is_named_with_the_known_ones(cfg, source, raw):
    with pytest.raises(ConfigError, match="tables.nope: unknown table; known: sales_people, clients"):
        Replicator(cfg, source, Options(target=str(raw), tables=("clients", "nope")))
    done = run_cli("--target", str(raw), "--tables", "clients,nope", env=cli_env(source))
    assert done.returncode == 1
    assert "lakehouse replicate: error:" in done.stderr and "tables.nope: unknown table" in done.stderr
    assert "Traceback" not in done.stderr


def test_registry_table_or_column_missing_in_the_source(cfg, source, raw):
    conn = source.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE `{source.database}`.clients DROP COLUMN phone")
        with pytest.raises(SourceError, match=rf"table {source.database}.clients has no column 'phone'"):
            replicate(cfg, source, raw)
        cur.execute(f"DROP TABLE `{source.database}`.sales_items")
        with pytest.raises(SourceError, match=rf"table {source.database}.sales_items .* does not exist"):
            replicate(cfg, source, raw, tables=("sales_items",))


def test_missing_database(cfg, source, raw):
    other = SourceSettings(source.host, source.port, source.user, source.password, "no_such_db")
    with pytest.raises(SourceError, match="database 'no_such_db' does not exist"):
        replicate(cfg, other, raw)


def test_unreachable_server_is_named(cfg, source, raw):
    port = free_port()
    nowhere = SourceSettings("127.0.0.1", port, source.user, source.password, source.database)
    with pytest.raises(SourceError, match=f"cannot reach MySQL at 127.0.0.1:{port}"):
        replicate(cfg, nowhere, raw)
    done = run_cli("--target", str(raw), env=cli_env(nowhere))
    assert done.returncode == 1 and f"cannot reach MySQL at 127.0.0.1:{port}" in done.stderr
    assert source.password not in done.stderr + done.stdout


def test_bad_targets(cfg, source, tmp_path):
    with pytest.raises(TargetError, match="unsupported scheme 'ftp'"):
        replicate(cfg, source, "ftp://host/raw")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(TargetError, match=f"target {a_file} exists and is not a folder"):
        replicate(cfg, source, a_file)
    with pytest.raises(TargetError, match="names no bucket"):
        replicate(cfg, source, "s3:///raw")
    done = run_cli("--target", "ftp://host/raw", env=cli_env(source))
    assert done.returncode == 1 and "unsupported scheme 'ftp'" in done.stderr


def test_checkpoint_of_another_source_or_a_purged_binlog(cfg, source, raw):
    seed(source, cfg, rows_per_table=2)
    replicate(cfg, source, raw)
    other = SourceSettings(source.host, source.port, source.user, source.password, "other_db")
    conn = source.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS other_db")
        cur.execute("CREATE DATABASE other_db")
        cur.execute(create_table_sql("other_db", cfg.table("clients")))
    with pytest.raises(CheckpointError, match=f"belongs to source {source.label}.*--reset"):
        replicate(cfg, other, raw, tables=("clients",))

    path = raw / CHECKPOINT_KEY
    ckpt = json.loads(path.read_text())
    path.write_text(json.dumps({**ckpt, "log_file": "mysql-bin.000000"}))
    with pytest.raises(SourceError, match="binlog mysql-bin.000000 .* is no longer on the server.*--reset"):
        replicate(cfg, source, raw)
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="is unreadable"):
        replicate(cfg, source, raw)
    report = replicate(cfg, source, raw, reset=True)  # the way out: a fresh full load
    assert report.full_load["clients"] == 2
    conn = source.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE other_db")


def test_one_replicator_per_target(cfg, source, raw):
    with LocalStorage(raw).lock(LOCK_KEY), pytest.raises(TargetError, match="locked by another replicator"):
        replicate(cfg, source, raw)


def test_a_reset_of_the_lake_raw_zone_refuses_while_a_run_holds_the_lake(source, tmp_path, monkeypatch):
    """--reset deletes the lake's raw files only under the lake's run lock: while a pipeline run
    holds it, the reset refuses naming the run (the command with one clear error) and every file
    stays; once the run is over the reset goes ahead."""
    from pathlib import Path

    from spark_jobs import run_lock
    from spark_jobs.config import load_config

    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    cfg = load_config("local")
    raw = Path(cfg.env.paths["raw"])
    seed(source, cfg, rows_per_table=2)
    replicate(cfg, source, raw)

    def files() -> list[Path]:
        return sorted(p for p in raw.rglob("*") if p.is_file() and p != raw / LOCK_KEY)

    kept = files()
    assert raw / CHECKPOINT_KEY in kept and len(kept) > len(cfg.tables)
    with run_lock.holding(cfg, "layers bronze,silver"):
        with pytest.raises(run_lock.LakeBusy, match=r"in use by another run \(pid \d+, layers bronze,silver"):
            replicate(cfg, source, raw, reset=True)
        done = run_cli("--reset", env=cli_env(source, LAKEHOUSE_ROOT=str(tmp_path / "lake")))
        assert done.returncode == 1, done.stderr
        assert "lakehouse replicate: error:" in done.stderr and "in use by another run" in done.stderr
        assert "Traceback" not in done.stderr
        assert files() == kept
    report = replicate(cfg, source, raw, reset=True)
    assert report.full_load["clients"] == 2
