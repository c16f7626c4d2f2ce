"""`lakehouse reconcile`: prove silver and gold against the source database; non-zero on any difference."""

from __future__ import annotations

import sys

from local_aws.cli import CommandError


def register(sub) -> None:
    p = sub.add_parser(
        "reconcile", help="compare silver and gold with truths computed by SQL on the source MySQL"
    )
    p.add_argument("--layers", default="silver,gold", help="comma-separated subset of silver,gold")
    p.add_argument("--env", default="local", help="environment in conf/env (default: local)")
    src = p.add_argument_group(
        "source (default: the local MariaDB; the password comes from LAKEHOUSE_MYSQL_PASSWORD)"
    )
    src.add_argument("--host", help="or LAKEHOUSE_MYSQL_HOST")
    src.add_argument("--port", type=int, help="or LAKEHOUSE_MYSQL_PORT")
    src.add_argument("--user", help="or LAKEHOUSE_MYSQL_USER")
    src.add_argument("--database", help="or LAKEHOUSE_MYSQL_DATABASE (default: the registry's database)")
    p.set_defaults(func=run)


def run(args) -> int:
    from local_aws.reconcile import reconcile
    from local_aws.replicator import SourceSettings
    from local_aws.replicator.source import SourceError
    from spark_jobs.config import load_config
    from spark_jobs.session import build_spark

    cfg = load_config(args.env)
    layers = [x.strip() for x in args.layers.split(",") if x.strip()]
    try:
        source = SourceSettings.resolve(
            args.host, port=args.port, user=args.user, database=args.database, default_database=cfg.database
        )
        spark = build_spark("lakehouse-reconcile")

        def progress(message: str) -> None:
            print(f"  checking {message}", file=sys.stderr, flush=True)

        result = reconcile(spark, cfg, source, layers, progress=progress)
    except (SourceError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    print(result.table())
    if result.ok:
        print(f"reconcile: all {len(result.checks)} checks match the source")
        return 0
    print()
    for check in result.failures:
        for line in check.describe():
            print(line)
    print(f"reconcile: {len(result.failures)} of {len(result.checks)} checks differ from the source")
    return 1
