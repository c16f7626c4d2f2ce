"""One run at a time on a local lake: a second run is refused with the holder named, a crashed
holder never leaves the lake locked, and a lake on S3 takes no lock."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys

import pytest

from spark_jobs import main as jobs_main
from spark_jobs import run_lock
from spark_jobs.config import REPO_ROOT, load_config

HOLD = """
import time
from spark_jobs import run_lock
from spark_jobs.config import load_config
with run_lock.holding(load_config("local"), "layers gold"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_run_is_refused_naming_the_holder_then_runs_once_it_is_released(lake_root):
    cfg = load_config("local")
    assert run_lock.lock_path(cfg) == lake_root / "_ops" / "run.lock"
    with run_lock.holding(cfg, "layers bronze,silver"):
        with pytest.raises(run_lock.LakeBusy) as refused, run_lock.holding(cfg, "layers gold"):
            pytest.fail("two holders at once")
        message = str(refused.value)
        assert f"the lake at {lake_root} is in use by another run" in message
        assert "layers bronze,silver" in message and "pid " in message and "run.lock" in message
    with run_lock.holding(cfg, "layers gold"):  # released: the next run goes ahead
        assert "layers gold" in run_lock.lock_path(cfg).read_text()


def test_a_killed_holder_leaves_the_lake_unlocked(lake_root):
    cfg = load_config("local")
    holder = subprocess.Popen([sys.executable, "-c", HOLD], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(run_lock.LakeBusy, match=rf"pid {holder.pid}, layers gold"),
            run_lock.holding(cfg, "layers bronze"),
        ):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with run_lock.holding(cfg, "layers bronze"):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()


def test_a_refused_run_exits_1_before_starting_spark(lake_root, monkeypatch, caplog):
    def no_spark(*_, **__):
        raise AssertionError("a refused run must not start Spark")

    monkeypatch.setattr("spark_jobs.session.build_spark", no_spark)
    with (
        run_lock.holding(load_config("local"), "layers bronze --watch"),
        caplog.at_level(logging.ERROR, logger="spark_jobs"),
    ):
        assert jobs_main.main(["--env", "local", "--layers", "silver"]) == 1
    assert "in use by another run" in caplog.text and "layers bronze --watch" in caplog.text


def test_a_lake_on_s3_takes_no_lock(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_ROOT", raising=False)
    monkeypatch.setenv("LAKEHOUSE_BUCKET_PREFIX", "acme-dev")
    cfg = load_config("aws")
    assert run_lock.lock_path(cfg) is None
    with run_lock.holding(cfg, "layers bronze"), run_lock.holding(cfg, "layers bronze"):
        pass  # the DAG's max_active_runs serialises runs on AWS
