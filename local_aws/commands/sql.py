"""`lakehouse sql FILE`: run Athena SQL (a named query or any file) on the local gold tables."""

from __future__ import annotations

from local_aws.cli import CommandError


def register(sub) -> None:
    p = sub.add_parser(
        "sql",
        help="run Athena (Trino) SQL on the local gold tables through Spark SQL",
        description="Transpile Athena SQL files with sqlglot (Trino -> Spark) and run them on the local "
        "lake's gold tables (sql/athena/ddl) and views (sql/athena/views).",
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="SQL file, or the name of a query in sql/athena/queries"
    )
    p.add_argument("--all", action="store_true", help="run every named query of sql/athena/queries")
    p.add_argument("--show", type=int, default=20, metavar="N", help="rows to print per query (default 20)")
    p.add_argument("--print-sql", action="store_true", help="print the Spark SQL each file becomes")
    p.set_defaults(func=run)


def run(args) -> int:
    from local_aws.athena import (
        LocalAthena,
        SqlFileError,
        display_path,
        format_table,
        parse_file,
        resolve_query,
    )
    from local_aws.runtime import local_config
    from spark_jobs.session import build_spark

    if not args.files and not args.all:
        raise CommandError("name a SQL file (or a named query), or pass --all")
    cfg = local_config()
    try:
        files = [resolve_query(f) for f in args.files]
        for path in files:
            parse_file(path)  # a bad file fails before Spark starts
        athena = LocalAthena(build_spark("lakehouse-sql"), cfg)
        files += athena.named_queries() if args.all else []
        for path in files:
            result = athena.run(path, show=args.show)
            print(f"== {display_path(path)}", flush=True)
            if args.print_sql:
                print(result.spark_sql)
            print(format_table(result.columns, result.rows, result.total_rows), flush=True)
    except SqlFileError as exc:
        raise CommandError(str(exc)) from None
    return 0
