"""`lakehouse demo`: the whole local story, step by step, with a summary table at the end.

MariaDB up, seed init, replicate (full load), bronze -> silver -> gold, then for each activity
period: seed activity, replicate (CDC), an incremental run; the run log (`lakehouse runs`),
reconcile against MySQL, the Athena queries of sql/athena/queries run locally, and a summary of
rows per layer and step timings.

The demo starts over each time: it empties the source database and removes the lake's layers
(never the MariaDB data folder or the PII salt), so `make demo` can run again and again. It does
so holding the lake's run lock, which it keeps in place: a run working on the lake makes the demo
stop before it removes anything, and no run can start while the layers go.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local_aws.cli import COMMANDS, CommandError
from local_aws.runtime import local_config, local_mysql

REPO = Path(__file__).resolve().parents[2]
QUERY_DIR = REPO / "sql" / "athena" / "queries"
# What the demo removes before it starts: the layers and everything derived from them.
LAYER_FOLDERS = ("raw", "bronze", "silver", "gold", "_ops", "quarantine")


@dataclass
class StepResult:
    name: str
    seconds: float
    detail: str


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the local pipeline end to end and print a summary")
    p.add_argument("--scale", type=float, default=0.1, help="seed scale (default 0.1; 1 = 100,000 sales)")
    p.add_argument("--seed", type=int, default=42, help="seed of the generator (default 42)")
    p.add_argument("--periods", type=int, default=2, help="activity periods after the first load (default 2)")
    p.add_argument("--keep-mysql", action="store_true", help="leave MariaDB running at the end")
    p.add_argument("--show", type=int, default=5, help="rows shown per query (default 5)")
    p.set_defaults(func=run)


def _step(results: list[StepResult], name: str, fn: Callable[[], str]) -> None:
    print(f"\n==> {name}", flush=True)
    start = time.monotonic()
    detail = fn()
    results.append(StepResult(name, time.monotonic() - start, detail))
    print(f"    {detail} ({results[-1].seconds:.1f}s)", flush=True)


def _cli(*argv: str) -> None:
    """Run a `lakehouse` sub-command in this process; a non-zero exit stops the demo."""
    from local_aws import cli

    code = cli.main(list(argv))
    if code:
        raise CommandError(f"`lakehouse {' '.join(argv)}` exited with {code}")


def _remove_layers(root: Path, keep: Path) -> list[str]:
    """Remove the layer folders under `root`, all but the file `keep` (the run lock): removed
    while held, a new run would lock a new file of the same name and not see the holder."""
    removed = [name for name in LAYER_FOLDERS if (root / name).exists()]
    for name in removed:
        folder = root / name
        holds_lock = folder.resolve() == keep.parent.resolve()
        for entry in folder.iterdir() if holds_lock else [folder]:
            if holds_lock and entry.name == keep.name:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return removed


def _start_over(cfg) -> str:
    from local_aws.runtime import mysql_info
    from spark_jobs import run_lock

    # Raises LakeBusy, naming the holder, when a run is working on the lake.
    with run_lock.holding(cfg, "demo start-over"):
        removed = _remove_layers(Path(cfg.env.root), run_lock.lock_path(cfg))
    info = mysql_info()
    conn = info.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (info.database,)
        )
        has_tables = cur.fetchone()[0] > 0
    if has_tables:
        _cli("seed", "reset", "--yes")
        removed.append(info.database)
    return f"removed {', '.join(removed)}" if removed else "nothing to remove"


def _table_rows(path: Path) -> int | None:
    """Rows of a Delta table read with delta-rs (independent of Spark), None when it is absent."""
    if not (path / "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable

    return DeltaTable(str(path)).to_pyarrow_dataset().count_rows()


def _raw_rows(raw: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in raw.rglob("*.parquet"))


def _layer_summary(cfg) -> list[tuple[str, int, int]]:
    """(layer, tables, rows) for raw, bronze, silver and gold."""
    out = [("raw", len(cfg.tables), _raw_rows(Path(cfg.env.paths["raw"])))]
    for layer in ("bronze", "silver", "gold"):
        base = Path(cfg.env.paths[layer])
        counts = [n for d in sorted(base.glob("*")) if (n := _table_rows(d)) is not None]
        out.append((layer, len(counts), sum(counts)))
    return out


def _queries(show: int) -> str:
    files = sorted(QUERY_DIR.glob("*.sql"))
    for f in files:
        print(f"\n--- {f.relative_to(REPO)}", flush=True)
        _cli("sql", str(f), "--show", str(show))
    return f"{len(files)} queries ran"


def run(args) -> int:
    cfg = local_config()
    db = local_mysql()
    results: list[StepResult] = []
    scale = f"{args.scale:g}"
    try:
        _step(results, "MariaDB up", lambda: f"listening on 127.0.0.1:{db.up().port}")
        _step(results, "start over", lambda: _start_over(cfg))
        _step(
            results,
            f"seed init (scale {scale})",
            lambda: _cli("seed", "init", "--scale", scale, "--seed", str(args.seed)) or "loaded",
        )
        _step(results, "replicate (full load)", lambda: _cli("replicate") or "raw files written")
        _step(results, "bronze -> silver -> gold (full)", lambda: _cli("run") or "done")
        for period in range(1, args.periods + 1):
            _step(
                results,
                f"seed activity {period}",
                lambda p=period: _cli("seed", "activity", "--period", str(p)) or "applied",
            )
            _step(results, f"replicate (CDC {period})", lambda: _cli("replicate") or "raw files written")
            _step(results, f"incremental run {period}", lambda: _cli("run") or "done")
        runs = args.periods + 1
        _step(results, "the run log", lambda: _cli("runs", "--last", str(runs)) or f"the last {runs} runs")
        if "reconcile" in COMMANDS:
            _step(results, "reconcile with MySQL", lambda: _cli("reconcile") or "every check passed")
        if "sql" in COMMANDS and QUERY_DIR.is_dir():
            _step(results, "Athena queries, locally", lambda: _queries(args.show))
    finally:
        if not args.keep_mysql:
            _step(results, "MariaDB down", lambda: "stopped" if db.down() else "was not running")
    print("\nRows per layer")
    print(f"{'layer':<10}{'tables':>8}{'rows':>14}")
    for layer, tables, rows in _layer_summary(cfg):
        print(f"{layer:<10}{tables:>8}{rows:>14,}")
    print("\nSteps")
    print(f"{'step':<36}{'seconds':>10}  detail")
    for r in results:
        print(f"{r.name:<36}{r.seconds:>10.1f}  {r.detail}")
    print(f"{'total':<36}{sum(r.seconds for r in results):>10.1f}")
    return 0
