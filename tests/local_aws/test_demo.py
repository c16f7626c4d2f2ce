"""`lakehouse demo` (what `make demo` runs) end to end, at a tiny scale, on a private lake and
a private MariaDB: every step must succeed, reconciliation must pass and the summary must show
rows in every layer."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from local_aws.commands import demo
from local_aws.mariadb import free_port, local_instance
from spark_jobs import run_lock
from spark_jobs.config import DEFAULT_CONF_DIR, gold_models, load_config

REPO = DEFAULT_CONF_DIR.parent
DEMO_ARGS = ("--scale", "0.01", "--periods", "1", "--show", "2")
STEPS = (
    "seed init (scale 0.01)",
    "replicate (full load)",
    "incremental run 1",
    "the run log",
    "reconcile with MySQL",
)
SUMMARY_ROW = re.compile(r"^(\w+)\s+(\d+)\s+([\d,]+)$", re.M)


@pytest.mark.slow
def test_demo_runs_every_step_and_reconciles(lake_root):
    # Leftovers of an earlier demo: the demo starts over, so they must be gone afterwards.
    stale = lake_root / "gold" / "stale_model"
    stale.mkdir(parents=True)
    (stale / "part-0.parquet").write_bytes(b"not parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(LAKEHOUSE_ROOT=str(lake_root), LAKEHOUSE_MYSQL_PORT=str(free_port()))
    server = local_instance(lake_root)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "local_aws.cli", "demo", *DEMO_ARGS],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=1500,
            check=False,
        )
    finally:
        server.down()
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-4000:]
    assert not stale.exists()
    for step in STEPS:
        assert f"==> {step}" in out, step
    assert "every check passed" in out
    # The run log holds the full run and the incremental one, both ok, newest first.
    logged = re.findall(r"^(\d{8}T\d{6}-[0-9a-f]{8}) \|.*\| bronze,silver,gold \| (\w+) ", out, re.M)
    assert [status for _, status in logged] == ["ok", "ok"] and logged[0][0] > logged[1][0]
    assert len(re.findall(r"^--- sql/athena/queries/\S+\.sql$", out, re.M)) == len(
        list((REPO / "sql" / "athena" / "queries").glob("*.sql"))
    )
    rows = {m[1]: (int(m[2]), int(m[3].replace(",", ""))) for m in SUMMARY_ROW.finditer(out)}
    assert rows["raw"][1] > 0
    assert rows["bronze"] == (6, rows["raw"][1]), "bronze holds every raw row exactly once"
    cfg = load_config("local")
    history = sum(1 for t in cfg.tables.values() if t.scd == 2)
    assert rows["silver"][0] == len(cfg.tables) + history and rows["silver"][1] > 0
    assert rows["gold"][0] == len(gold_models(cfg)) and rows["gold"][1] > 0
    assert not server.is_running(), "the demo leaves MariaDB stopped unless --keep-mysql"


def _layers(root):
    for folder in ("raw/sales", "bronze/sales/_delta_log", "_ops/pipeline_runs/_delta_log", "quarantine"):
        (root / folder).mkdir(parents=True)
        (root / folder / "f").write_text("x")


def test_start_over_keeps_the_lake_locked_while_it_removes_the_layers(lake_root):
    cfg = load_config("local")
    _layers(lake_root)
    with run_lock.holding(cfg, "demo start-over"):
        removed = demo._remove_layers(lake_root, run_lock.lock_path(cfg))
        assert removed == ["raw", "bronze", "_ops", "quarantine"]
        assert [p.name for p in lake_root.iterdir()] == ["_ops"]
        assert [p.name for p in (lake_root / "_ops").iterdir()] == ["run.lock"]
        # The lock file is the one held: a run starting now is still refused.
        with (
            pytest.raises(run_lock.LakeBusy, match="demo start-over"),
            run_lock.holding(cfg, "layers bronze"),
        ):
            pass


def test_start_over_refuses_while_a_run_works_on_the_lake_and_removes_nothing(lake_root):
    cfg = load_config("local")
    _layers(lake_root)
    with (
        run_lock.holding(cfg, "layers bronze,silver"),
        pytest.raises(run_lock.LakeBusy, match="layers bronze,silver"),
    ):
        demo._start_over(cfg)
    assert (lake_root / "bronze" / "sales" / "_delta_log" / "f").is_file()
    assert (lake_root / "_ops" / "pipeline_runs" / "_delta_log" / "f").is_file()
