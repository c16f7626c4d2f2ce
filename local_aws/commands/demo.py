"""`lakehouse demo`: the whole local story, step by step, with a summary table at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from local_aws.runtime import local_config, local_mysql


@dataclass
class StepResult:
    name: str
    seconds: float
    detail: str


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the local pipeline end to end and print a summary")
    p.add_argument("--keep-mysql", action="store_true", help="leave MariaDB running at the end")
    p.set_defaults(func=run)


def _step(results: list[StepResult], name: str, fn: Callable[[], str]) -> None:
    print(f"==> {name}", flush=True)
    start = time.monotonic()
    detail = fn()
    results.append(StepResult(name, time.monotonic() - start, detail))
    print(f"    {detail} ({results[-1].seconds:.1f}s)", flush=True)


def _spark_smoke() -> str:
    from spark_jobs.session import build_spark

    cfg = local_config()
    spark = build_spark("lakehouse-demo")
    path = cfg.env.table_path("ops", "demo_smoke")
    spark.range(5).write.format("delta").mode("overwrite").save(path)
    n = spark.read.format("delta").load(path).count()
    return f"Spark {spark.version} wrote and read a Delta table at {path} ({n} rows)"


def run(args) -> int:
    db = local_mysql()
    results: list[StepResult] = []
    try:
        _step(results, "MariaDB up", lambda: f"listening on 127.0.0.1:{db.up().port}")
        _step(results, "Spark + Delta", _spark_smoke)
    finally:
        if not args.keep_mysql:
            _step(results, "MariaDB down", lambda: "stopped" if db.down() else "was not running")
    print()
    print(f"{'step':<28}{'seconds':>10}  detail")
    for r in results:
        print(f"{r.name:<28}{r.seconds:>10.1f}  {r.detail}")
    return 0
