"""One run at a time on a local lake.

Two runs of one lake at once cannot corrupt it (every write is a Delta transaction, bronze's
appends are idempotent, silver's MERGEs are guarded by sequence), but they race: each loses
commit conflicts to the other, and both may end failed. So a run on a local lake holds an
exclusive lock, `<ops>/run.lock`, for its whole life (a `--watch` application until it stops),
and a second run refuses to start with an error naming the holder.

The lock is an flock(2) on that file: the kernel drops it when the holding process ends, however
it ends (SIGKILL included), so a crashed run never leaves the lake locked; the file itself stays
and means nothing without the flock. On AWS (an `s3://` ops zone) no lock is taken: the Airflow
DAG allows one active run (`dag.max_active_runs` in conf/orchestration.yaml).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from spark_jobs.config import Config, on_s3

LOCK_FILE = "run.lock"


class LakeBusy(RuntimeError):
    """Another run holds the lake's run lock."""


def lock_path(cfg: Config) -> Path | None:
    """Where the run lock of `cfg`'s lake lives; None for a lake on S3."""
    ops = cfg.env.paths["ops"]
    return None if on_s3(ops) else Path(ops) / LOCK_FILE


@contextlib.contextmanager
def holding(cfg: Config, what: str) -> Iterator[None]:
    """Hold the lake's run lock while the block runs; `what` (e.g. "layers bronze,silver") is
    recorded in the lock file for the error another run gets. Raises LakeBusy when the lock is
    held."""
    path = lock_path(cfg)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "holder unknown"
            raise LakeBusy(
                f"the lake at {cfg.env.root} is in use by another run ({holder}; lock {path}): "
                "wait for it to finish or stop it, then run again"
            ) from None
        try:
            started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            f.truncate(0)
            f.write(f"pid {os.getpid()}, {what}, started {started}\n")
            f.flush()
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
