"""A private lake and MariaDB for benchmarks and fault trials, driven through the `lakehouse` CLI.

Every step runs as `python -m local_aws.cli ...` in its own process group (a SIGKILL reaches the
Spark JVM too), with LAKEHOUSE_ROOT and LAKEHOUSE_MYSQL_PORT pointing at this lab only, and is
timed with its peak resident memory (the CLI process and every child, the JVM included, sampled
with psutil). Gold and `lakehouse reconcile` are used when the code base has them; without
`reconcile`, `check_silver` compares silver with MySQL key by key and value by value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from local_aws.mariadb import LocalMariaDB, free_port  # noqa: E402
from spark_jobs.config import load_config  # noqa: E402

LAYER_DONE = re.compile(r"layer (\w+) done in ([0-9.]+)s")
SALT = "lakelab-salt"  # a fixed PII salt, so a rebuilt lake hashes like the original


def layer_seconds(text: str) -> dict[str, float]:
    """In-application time per layer, from spark_jobs.main's `layer X done in Ys` lines in `text`."""
    return {m.group(1): float(m.group(2)) for m in LAYER_DONE.finditer(text)}


def has_gold() -> bool:
    return importlib.util.find_spec("spark_jobs.jobs.gold") is not None


def has_reconcile() -> bool:
    from local_aws.cli import COMMANDS

    return "reconcile" in COMMANDS


def layers() -> list[str]:
    return ["bronze", "silver", "gold"] if has_gold() else ["bronze", "silver"]


@dataclass
class Step:
    """One CLI process: its exit code, wall time, peak memory and output."""

    argv: list[str]
    returncode: int
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    killed: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def layer_seconds(self) -> dict[str, float]:
        """In-application time per layer, from spark_jobs.main's `layer X done in Ys` lines."""
        return layer_seconds(self.stderr + self.stdout)

    def tail(self, n: int = 1500) -> str:
        return (self.stderr or self.stdout)[-n:]


class Lines:
    """The lines a stream prints, collected by a thread, with a wait for one that matches
    (for a long-running process such as `lakehouse run --watch`)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._new:
                self.lines.append(line.rstrip("\n"))
                self._new.notify_all()

    def wait_for(self, pattern: str, timeout: float) -> int:
        """The index of the first line matching `pattern`; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                hits = [i for i, line in enumerate(self.lines) if re.search(pattern, line)]
                if hits:
                    return hits[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-40:])
                    raise AssertionError(f"no line matching {pattern!r} in {timeout:g}s; last lines:\n{tail}")
                self._new.wait(left)

    def text(self, start: int = 0, end: int | None = None) -> str:
        """Lines `start` to `end`; the whole stream (after waiting for its end) by default."""
        if end is None:
            self._reader.join(timeout=30)
        with self._new:
            return "\n".join(self.lines[start:end])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MB."""
    import psutil

    return _tree_rss(psutil.Process(pid)) / 2**20


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


@dataclass
class Lab:
    """A lake root with its own MariaDB on its own port."""

    root: Path
    port: int = field(default_factory=free_port)
    driver_memory: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    # --- environment -------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "LAKEHOUSE_ROOT": str(self.root),
            "LAKEHOUSE_MYSQL_PORT": str(self.port),
            "LAKEHOUSE_PII_SALT": SALT,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
        }
        for name in ("LAKEHOUSE_CRASH_AT", "LAKEHOUSE_REPLICATOR_CRASH_POINT", "LAKEHOUSE_MYSQL_HOST"):
            env.pop(name, None)
        if self.driver_memory:
            env["LAKEHOUSE_DRIVER_MEMORY"] = self.driver_memory
        env.update(self.extra_env)
        return env

    @property
    def mariadb(self) -> LocalMariaDB:
        return LocalMariaDB(self.root / "_mysql", port=self.port)

    def config(self):
        old = os.environ.get("LAKEHOUSE_ROOT")
        os.environ["LAKEHOUSE_ROOT"] = str(self.root)
        try:
            return load_config("local")
        finally:
            if old is None:
                os.environ.pop("LAKEHOUSE_ROOT")
            else:
                os.environ["LAKEHOUSE_ROOT"] = old

    def connect(self):
        cfg = self.config()
        return self.mariadb.info().connect(database=cfg.database, autocommit=True)

    # --- processes ---------------------------------------------------------------------------
    def start(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "local_aws.cli", *argv]
        return subprocess.Popen(
            cmd,
            cwd=REPO,
            env={**self.env(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a kill reaches the JVM as well
        )

    def wait(self, proc: subprocess.Popen, started: float, timeout: float = 3600, kill_after=None) -> Step:
        """Wait for `proc`, sampling memory; SIGKILL its process group after `kill_after` seconds."""
        import psutil

        out: dict[str, str] = {}

        def drain(name, stream):
            out[name] = stream.read()

        readers = [
            threading.Thread(target=drain, args=("stdout", proc.stdout), daemon=True),
            threading.Thread(target=drain, args=("stderr", proc.stderr), daemon=True),
        ]
        for t in readers:
            t.start()
        ps = psutil.Process(proc.pid)
        peak, killed = 0, False
        while proc.poll() is None:
            elapsed = time.perf_counter() - started
            peak = max(peak, _tree_rss(ps))
            if (kill_after is not None and elapsed >= kill_after) or elapsed > timeout:
                self.kill_group(proc)
                killed = True
                break
            time.sleep(0.1)
        proc.wait()
        for t in readers:
            t.join()
        seconds = time.perf_counter() - started
        return Step(list(proc.args), proc.returncode, seconds, peak / 2**20, out.get("stdout", ""),
                    out.get("stderr", ""), killed)  # fmt: skip

    @staticmethod
    def kill_group(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def cli(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 3600, kill_after=None,
            check: bool = True) -> Step:  # fmt: skip
        started = time.perf_counter()
        step = self.wait(self.start(*argv, env=env), started, timeout, kill_after)
        if check and not step.ok:
            raise RuntimeError(f"`lakehouse {' '.join(argv)}` exited with {step.returncode}:\n{step.tail()}")
        return step

    def run(self, layer_list: list[str] | None = None, *extra: str, **kw) -> Step:
        return self.cli("run", "--layers", ",".join(layer_list or layers()), *extra, **kw)

    def up(self) -> None:
        self.cli("mysql", "up")

    def down(self) -> None:
        self.cli("mysql", "down", check=False)

    # --- checks ------------------------------------------------------------------------------
    def reconcile(self) -> tuple[bool, str]:
        """`lakehouse reconcile` when it exists, else the silver check below; plus bronze exactly-once."""
        problems = self.check_bronze_once()
        if has_reconcile():
            step = self.cli("reconcile", "--layers", "silver,gold" if has_gold() else "silver", check=False)
            if not step.ok:
                problems.append("lakehouse reconcile failed:\n" + step.stdout[-3000:] + step.stderr[-1500:])
            how = "lakehouse reconcile"
        else:
            problems += self.check_silver()
            how = "silver vs MySQL (lakelab)"
        return not problems, f"{how}: " + ("ok" if not problems else "; ".join(problems))

    def check_bronze_once(self) -> list[str]:
        """No delivered file's row is in bronze twice (exactly-once ingest)."""
        from deltalake import DeltaTable

        cfg = self.config()
        problems = []
        for table in cfg.tables.values():
            path = Path(cfg.env.table_path("bronze", table.name))
            if not (path / "_delta_log").is_dir():
                continue
            cols = ["_source_file", *table.primary_key, "_commit_ts", "_change_seq"]
            data = DeltaTable(str(path)).to_pyarrow_table(columns=cols).to_pylist()
            dupes = [k for k, n in Counter(tuple(r.values()) for r in data).items() if n > 1]
            if dupes:
                problems.append(f"bronze {table.name}: {len(dupes)} row(s) ingested twice, e.g. {dupes[0]}")
        return problems

    def check_silver(self) -> list[str]:
        """Every silver table equals its MySQL table: same keys, same non-PII values."""
        from deltalake import DeltaTable

        cfg = self.config()
        problems = []
        conn = self.connect()
        with conn:
            for table in cfg.tables.values():
                cols = [c.name for c in table.columns if c.name not in table.pii]
                pk = list(table.primary_key)
                path = Path(cfg.env.table_path("silver", table.name))
                if not (path / "_delta_log").is_dir():
                    problems.append(f"silver {table.name}: no Delta table at {path}")
                    continue
                lake_rows = DeltaTable(str(path)).to_pyarrow_table(columns=cols).to_pylist()
                with conn.cursor() as cur:
                    cur.execute(f"SELECT {', '.join(f'`{c}`' for c in cols)} FROM `{table.name}`")
                    src_rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
                problems += _compare(table.name, pk, cols, src_rows, lake_rows)
        return problems


def _norm(value):
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _compare(name, pk, cols, src_rows, lake_rows) -> list[str]:
    def index(rows):
        counts = Counter(tuple(r[k] for k in pk) for r in rows)
        return {tuple(r[k] for k in pk): r for r in rows}, [k for k, n in counts.items() if n > 1]

    src, _ = index(src_rows)
    lake, dupes = index(lake_rows)
    problems = []
    if dupes:
        problems.append(f"silver {name}: {len(dupes)} duplicated key(s), e.g. {dupes[:3]}")
    missing = sorted(set(src) - set(lake))
    extra = sorted(set(lake) - set(src))
    if missing:
        problems.append(f"silver {name}: {len(missing)} key(s) missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"silver {name}: {len(extra)} key(s) not in MySQL, e.g. {extra[:3]}")
    differ = [(k, c) for k in set(src) & set(lake) for c in cols if _norm(src[k][c]) != _norm(lake[k][c])]
    if differ:
        k, c = differ[0]
        problems.append(
            f"silver {name}: {len(differ)} value(s) differ, e.g. key {k} column {c}: "
            f"MySQL {src[k][c]!r}, silver {lake[k][c]!r}"
        )
    return problems


def raw_rows(raw_dir: Path) -> int:
    import pyarrow.parquet as pq

    total = 0
    for f in raw_dir.rglob("*.parquet"):
        # A malformed file (fault trials) counts for nothing.
        with contextlib.suppress(Exception):
            total += pq.ParquetFile(f).metadata.num_rows
    return total


def delta_rows(path: Path) -> int | None:
    if not (path / "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pyarrow_dataset().count_rows()


def layer_rows(lab: Lab) -> dict[str, int]:
    cfg = lab.config()
    out = {"raw": raw_rows(Path(cfg.env.paths["raw"]))}
    for layer in ("bronze", "silver", "gold"):
        base = Path(cfg.env.paths[layer])
        counts = [n for d in sorted(base.glob("*")) if (n := delta_rows(d)) is not None]
        out[layer] = sum(counts)
    return out
