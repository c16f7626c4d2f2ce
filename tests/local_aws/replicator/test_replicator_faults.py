"""Delivery faults DMS can produce, and crashes: the raw zone must still replay to the exact source."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from local_aws.replicator import Faults, SimulatedCrash
from local_aws.replicator.checkpoint import CHECKPOINT_KEY
from local_aws.replicator.contract import is_full_load_name
from local_aws.replicator.faults import CRASH_ENV, CRASH_EXIT_CODE
from local_aws.replicator.oracle import changes
from tests.local_aws.replicator.sourcedb import (
    activity,
    assert_replica_equals_source,
    binlog_position,
    cli_env,
    replicate,
    run_cli,
    seed,
)


def _cdc_seqs(raw, cfg) -> Counter:
    """How often each CDC change (table, change sequence) was delivered."""
    seen = Counter()
    for table in cfg.tables:
        for r in changes(str(raw), table, cfg):
            if not is_full_load_name(r["_file"], cfg.raw):
                seen[(table, r["dms_change_seq"])] += 1
    return seen


def _checkpoint(raw) -> dict:
    return json.loads((Path(raw) / CHECKPOINT_KEY).read_text())


def test_crash_after_cdc_files_before_checkpoint_redelivers_and_loses_nothing(cfg, source, raw):
    seed(source, cfg, rows_per_table=10)
    replicate(cfg, source, raw)
    before = _checkpoint(raw)
    activity(source, cfg, transactions=20, seed_value=21)
    with pytest.raises(SimulatedCrash):
        replicate(cfg, source, raw, faults=Faults(crash_point="cdc:after_files"))
    assert _checkpoint(raw)["log_pos"] == before["log_pos"]  # files written, checkpoint not moved
    crashed = _cdc_seqs(raw, cfg)
    assert crashed and set(crashed.values()) == {1}

    replicate(cfg, source, raw)
    delivered = _cdc_seqs(raw, cfg)
    assert set(delivered) == set(crashed)  # the rerun re-delivered the same changes...
    assert set(delivered.values()) == {2}  # ...once more, under new file names
    assert_replica_equals_source(raw, source, cfg)


def test_crash_after_full_load_files_loads_again_under_new_names(cfg, source, raw):
    seed(source, cfg, rows_per_table=10)
    with pytest.raises(SimulatedCrash):
        replicate(cfg, source, raw, faults=Faults(crash_point="full_load:after_files"))
    assert not any(t["loaded"] for t in _checkpoint(raw)["tables"].values())
    first = {t: (raw / "salesdb" / t / "LOAD00000001.parquet").read_bytes() for t in cfg.tables}
    # Updates and deletes between the crash and the rerun: a reader that already took the first
    # LOAD files must still end at the source, so those changes are delivered as CDC too.
    activity(source, cfg, transactions=10, seed_value=22)
    report = replicate(cfg, source, raw)
    assert report.full_load and report.cdc_rows
    for table in cfg.tables:
        assert (raw / "salesdb" / table / "LOAD00000001.parquet").read_bytes() == first[
            table
        ]  # never rewritten
        assert (raw / "salesdb" / table / "LOAD00000002.parquet").exists()
    assert_replica_equals_source(raw, source, cfg)
    # Without the second full load's files the replay is still exact (first load + changes).
    for table in cfg.tables:
        (raw / "salesdb" / table / "LOAD00000002.parquet").unlink()
    assert_replica_equals_source(raw, source, cfg)


def test_reload_of_one_table_adds_load_files_and_keeps_delivering(cfg, source, raw):
    seed(source, cfg, rows_per_table=6)
    replicate(cfg, source, raw)
    activity(source, cfg, transactions=10, seed_value=29)
    replicate(cfg, source, raw)
    activity(source, cfg, transactions=10, seed_value=30)  # not replicated before the reload
    report = replicate(cfg, source, raw, reload=("products",))
    assert list(report.full_load) == ["products"]
    assert (raw / "salesdb" / "products" / "LOAD00000002.parquet").exists()
    assert_replica_equals_source(raw, source, cfg)
    activity(source, cfg, transactions=10, seed_value=31)
    replicate(cfg, source, raw)
    assert_replica_equals_source(raw, source, cfg)


def test_cli_process_killed_between_files_and_checkpoint(cfg, source, raw):
    seed(source, cfg, rows_per_table=10)
    done = run_cli("--target", str(raw), env=cli_env(source))
    assert done.returncode == 0, done.stderr
    assert "full load" in done.stdout
    activity(source, cfg, transactions=15, seed_value=23)
    crashed = run_cli("--target", str(raw), env=cli_env(source, **{CRASH_ENV: "cdc:after_files"}))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert "simulated crash at cdc:after_files" in crashed.stderr
    assert _cdc_seqs(raw, cfg)
    again = run_cli("--target", str(raw), env=cli_env(source))
    assert again.returncode == 0, again.stderr
    assert set(_cdc_seqs(raw, cfg).values()) == {2}
    assert_replica_equals_source(raw, source, cfg)


def test_duplicate_files_carry_the_same_content_under_two_names(cfg, source, raw):
    seed(source, cfg, rows_per_table=8)
    replicate(cfg, source, raw)
    activity(source, cfg, transactions=15, seed_value=24)
    report = replicate(cfg, source, raw, faults=Faults(duplicate_every=1))
    by_table = Counter(key.split("/")[-2] for key in report.files)
    for table, n in by_table.items():
        assert n % 2 == 0, f"{table}: {n} files"
        names = sorted(p.name for p in (raw / "salesdb" / table).iterdir() if not p.name.startswith("LOAD"))
        blobs = [(raw / "salesdb" / table / name).read_bytes() for name in names]
        assert len(names) == len(set(names)) == n
        assert all(blobs[i] == blobs[i + 1] for i in range(0, n, 2))
    assert set(_cdc_seqs(raw, cfg).values()) == {2}
    assert_replica_equals_source(raw, source, cfg)


def test_overlap_redelivers_changes_the_full_load_already_holds(cfg, source, raw):
    start = binlog_position(source)
    seed(source, cfg, rows_per_table=8)
    activity(source, cfg, transactions=15, seed_value=25)  # updates and deletes before the snapshot
    replicate(cfg, source, raw, faults=Faults(overlap_from=start))
    rows = changes(str(raw), "sales_people", cfg)
    load = [r for r in rows if is_full_load_name(r["_file"], cfg.raw)]
    early = [r for r in rows if not is_full_load_name(r["_file"], cfg.raw)]
    assert len(early) >= 8  # the seed's inserts came again through CDC
    # Every re-delivered change sorts before the full load, so it cannot override it.
    assert max((r["dms_commit_ts"], r["dms_change_seq"]) for r in early) < min(
        (r["dms_commit_ts"], r["dms_change_seq"]) for r in load
    )
    assert_replica_equals_source(raw, source, cfg)
    activity(source, cfg, transactions=15, seed_value=26)
    replicate(cfg, source, raw, faults=Faults(overlap_from=start))  # only the first CDC run overlaps
    assert set(_cdc_seqs(raw, cfg).values()) == {1}
    assert_replica_equals_source(raw, source, cfg)


def test_split_transaction_spans_files_and_a_crash_in_between_redelivers_it(cfg, source, raw):
    seed(source, cfg, rows_per_table=8)
    replicate(cfg, source, raw)
    before = _checkpoint(raw)
    conn = source.connect()
    with conn, conn.cursor() as cur:
        cur.execute(f"UPDATE `{source.database}`.`sales` SET status = 'paid' WHERE id BETWEEN 1 AND 4")
        conn.commit()
    with pytest.raises(SimulatedCrash):
        replicate(cfg, source, raw, faults=Faults(split_transactions=True, crash_point="cdc:after_files:1"))
    first = [r for r in changes(str(raw), "sales", cfg) if r["Op"] == "U"]
    assert [r["id"] for r in first] == [1, 2]  # half of the transaction, and no checkpoint
    assert _checkpoint(raw)["log_pos"] == before["log_pos"]

    replicate(cfg, source, raw, faults=Faults(split_transactions=True))
    updates = [r for r in changes(str(raw), "sales", cfg) if r["Op"] == "U"]
    files = {r["_file"] for r in updates if r["id"] in (1, 2, 3, 4)}
    assert sorted(r["id"] for r in updates) == [1, 1, 2, 2, 3, 4] and len(files) == 3
    assert_replica_equals_source(raw, source, cfg)


def test_every_fault_at_once_still_replays_to_the_source(cfg, source, raw):
    start = binlog_position(source)
    seed(source, cfg, rows_per_table=10)
    activity(source, cfg, transactions=10, seed_value=27)
    faults = Faults(duplicate_every=2, overlap_from=start, split_transactions=True)
    replicate(cfg, source, raw, faults=faults)
    activity(source, cfg, transactions=20, seed_value=28)
    with pytest.raises(SimulatedCrash):
        replicate(cfg, source, raw, faults=Faults(duplicate_every=2, split_transactions=True,
                                                  crash_point="cdc:after_files:3"))  # fmt: skip
    replicate(cfg, source, raw, faults=faults)
    delivered = _cdc_seqs(raw, cfg)
    assert max(delivered.values()) >= 2
    assert_replica_equals_source(raw, source, cfg)
