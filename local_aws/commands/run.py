"""`lakehouse run`: the Spark jobs on the local lake, exactly as spark-submit runs them on EMR.

`lakehouse run --watch` keeps one warm Spark application and reruns whenever new raw files land
(beside `lakehouse replicate --follow`); see spark_jobs/watch.py.
"""

from __future__ import annotations

from spark_jobs import watch


def register(sub) -> None:
    p = sub.add_parser("run", help="run bronze/silver/gold on the local lake (spark_jobs/main.py)")
    p.add_argument(
        "--layers", default="bronze,silver,gold", help="comma-separated subset of bronze,silver,gold"
    )
    p.add_argument("--tables", default="", help="comma-separated source tables (default: all)")
    p.add_argument(
        "--full-refresh", action="append", default=[], metavar="TABLE", help="rebuild this table; repeatable"
    )
    watch.add_arguments(p)
    p.set_defaults(func=lambda args: run(p, args))


def run(p, args) -> int:
    from spark_jobs import main as jobs_main

    watch.check_arguments(p, args)
    argv = ["--env", "local", "--layers", args.layers]
    if args.tables:
        argv += ["--tables", args.tables]
    for t in args.full_refresh:
        argv += ["--full-refresh", t]
    argv += watch.forward(args)
    return jobs_main.main(argv)
