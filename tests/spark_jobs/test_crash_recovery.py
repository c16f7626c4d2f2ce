"""SIGKILL at points inside bronze and silver, then rerun: the lake converges, exact, no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from spark_jobs import delta_io
from spark_jobs.config import DEFAULT_CONF_DIR, load_config
from tests.rawfiles import client, product, write_raw

ROOT = DEFAULT_CONF_DIR.parent
CRASH_POINTS = [
    "bronze:before_commit:clients",
    "bronze:after_commit:products",
    "silver:before_history:clients",
    "silver:before_merge:products",
    "silver:after_merge:clients",
]


def _run_jobs(lake, crash_at=None):
    env = {
        **os.environ,
        "LAKEHOUSE_ROOT": str(lake),
        "LAKEHOUSE_PII_SALT": "salt",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("LAKEHOUSE_CRASH_AT", None)
    if crash_at:
        env["LAKEHOUSE_CRASH_AT"] = crash_at
    argv = [sys.executable, "-m", "spark_jobs.main", "--env", "local", "--layers", "bronze,silver",
            "--tables", "clients,products"]  # fmt: skip
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_sigkill_at_each_point_then_rerun_converges(spark, lake_root, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "salt")
    cfg = load_config("local")
    write_raw(cfg, "clients", "LOAD00000001.parquet", [client(i, f"c{i}@x", 0) for i in range(1, 6)])
    write_raw(cfg, "products", "LOAD00000001.parquet", [product(i, "1.00", 0) for i in range(1, 4)])
    expected_files = 2
    for n, point in enumerate(CRASH_POINTS, start=1):
        # New changes arrive before each crashing run, so every run has work to lose.
        write_raw(cfg, "clients", f"20260101-0000{n:02d}000.parquet",
                  [client(1, f"v{n}@x", n, op="U", at=100 + n, sq=100 + n),
                   client(10 + n, f"new{n}@x", n, at=100 + n, sq=200 + n)])  # fmt: skip
        write_raw(cfg, "products", f"20260101-0000{n:02d}000.parquet",
                  [product(1, f"{n}.50", n, op="U", at=100 + n, sq=300 + n)])  # fmt: skip
        expected_files += 2
        proc = _run_jobs(lake_root, crash_at=point)
        assert proc.returncode == -signal.SIGKILL, (
            f"{point}: expected a SIGKILL, got {proc.returncode}\n{proc.stderr[-2000:]}"
        )
    proc = _run_jobs(lake_root)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # Bronze: every delivered file exactly once, every row exactly once.
    bronze_files = Counter()
    for table in ("clients", "products"):
        rows = delta_io.read(spark, cfg.env.table_path("bronze", table)).collect()
        bronze_files.update(os.path.basename(r["_source_file"]) + table for r in rows)
        keys = Counter((r["id"], r["_commit_ts"], r["_change_seq"]) for r in rows)
        assert max(keys.values()) == 1, f"duplicated rows in bronze {table}"
    assert len(bronze_files) == expected_files

    # Silver: the exact final state.
    clients = {r["id"]: r for r in delta_io.read(spark, cfg.env.table_path("silver", "clients")).collect()}
    last = len(CRASH_POINTS)
    assert sorted(clients) == [1, 2, 3, 4, 5, *[10 + n for n in range(1, last + 1)]]
    salted = spark.sql(f"SELECT sha2(concat('salt', 'v{last}@x'), 256)").first()[0]
    assert clients[1]["email"] == salted
    products = {r["id"]: r for r in delta_io.read(spark, cfg.env.table_path("silver", "products")).collect()}
    assert str(products[1]["unit_price"]) == f"{last}.50"
    history = (
        delta_io.read(spark, cfg.env.table_path("silver", "products_history")).filter("id = 1").collect()
    )
    assert len(history) == last + 1 and sum(r["is_current"] for r in history) == 1
