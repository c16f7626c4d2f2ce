"""`lakehouse replicate --follow`: keeps delivering by interval, and stops cleanly on a signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from local_aws.replicator.oracle import replay, source_state
from tests.local_aws.replicator.sourcedb import activity, assert_replica_equals_source, cli_env, seed

REPO = Path(__file__).resolve().parents[3]


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_follow_flushes_by_interval_and_stops_on_sigterm(cfg, source, raw):
    seed(source, cfg, rows_per_table=5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_aws.cli", "replicate", "--follow", "--target", str(raw),
         "--poll-interval", "0.2", "--cdc-max-batch-interval", "1"],
        cwd=REPO, env=cli_env(source), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until((raw / "_replicator" / "checkpoint.json").exists, 30, "the full load")
        activity(source, cfg, transactions=10, seed_value=41)
        want = source_state(source, cfg)
        # No run ends, yet the interval flush delivers the changes.
        _wait_until(lambda: replay(str(raw), cfg) == want, 30, "CDC files written by interval")
        assert proc.poll() is None
        activity(source, cfg, transactions=10, seed_value=42)
        time.sleep(0.5)  # let it read some of them; the rest waits in the batch
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "change(s)" in out  # the summary of a clean stop
    assert_replica_equals_source(raw, source, cfg)  # pending changes were written before exit
