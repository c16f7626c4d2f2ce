"""`lakehouse seed init|activity|reset|manifest`: the seeding Lambda's core against MySQL.

The same code the Lambda runs (lambda_seed), pointed at the local MariaDB (started when it is not
running) or, with --host or LAKEHOUSE_MYSQL_HOST, at any MySQL server. Each action prints the
manifest: row counts and content checksums per table, read back from the database.
"""

from __future__ import annotations

import json
import os
import sys

from lambda_seed import core
from lambda_seed.database import Settings, connect, use_database
from lambda_seed.events import DEFAULT_SCALE, DEFAULT_SEED, EventError, SeedError
from local_aws.cli import CommandError


def register(sub) -> None:
    p = sub.add_parser("seed", help="load, change or reset the source database (the seeding Lambda)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def add(name: str, help_text: str):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("--json", action="store_true", help="print the manifest as JSON")
        src = a.add_argument_group(
            "database (default: the local MariaDB; the password comes from LAKEHOUSE_MYSQL_PASSWORD)"
        )
        src.add_argument("--host", help="or LAKEHOUSE_MYSQL_HOST")
        src.add_argument("--port", type=int, help="or LAKEHOUSE_MYSQL_PORT")
        src.add_argument("--user", help="or LAKEHOUSE_MYSQL_USER")
        src.add_argument("--database", help="or LAKEHOUSE_MYSQL_DATABASE (default: salesdb)")
        a.set_defaults(func=run)
        return a

    a = add("init", "create the schema and load the data set (refuses a database holding data)")
    a.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                   help=f"scale factor; 1 = 100,000 sales (default: {DEFAULT_SCALE:g})")  # fmt: skip
    a.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"data seed (default: {DEFAULT_SEED})")
    a = add("activity", "apply one business period of inserts, updates and deletes")
    a.add_argument("--period", type=int, help="period number, 1-based (default: the next one)")
    a.add_argument("--seed", type=int, help="activity seed (default: init's)")
    a = add("reset", "drop the data: empty tables and no seeding state")
    a.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add("manifest", "print the manifest of the database as it is")


def resolve(args) -> Settings:
    """Flags, then LAKEHOUSE_MYSQL_* variables, then the local MariaDB (started if needed)."""
    env = os.environ
    host = args.host or env.get("LAKEHOUSE_MYSQL_HOST")
    database = args.database or env.get("LAKEHOUSE_MYSQL_DATABASE") or "salesdb"
    if host:
        user = args.user or env.get("LAKEHOUSE_MYSQL_USER")
        password = env.get("LAKEHOUSE_MYSQL_PASSWORD")
        if not user or password is None:
            raise CommandError(
                f"--host {host}: set --user (or LAKEHOUSE_MYSQL_USER) and LAKEHOUSE_MYSQL_PASSWORD"
            )
        port = args.port or int(env.get("LAKEHOUSE_MYSQL_PORT") or 3306)
        return Settings(host, port, user, password, database)
    from local_aws.runtime import local_mysql

    db = local_mysql()
    if not db.is_running():
        print(
            f"starting the local MariaDB (stop it with `lakehouse mysql down`) in {db.base}", file=sys.stderr
        )
    info = db.up()
    return Settings(info.host, info.port, args.user or info.user, info.password, database)


def _confirm(database: str) -> None:
    if not sys.stdin.isatty():
        raise CommandError(f"reset drops every row of database {database!r}; pass --yes to confirm")
    answer = input(f"reset drops every row of database {database!r}; type its name to confirm: ")
    if answer.strip() != database:
        raise CommandError("reset cancelled")


def execute(conn, args, database: str) -> dict:
    if args.action == "init":
        use_database(conn, database, create=True)
        return core.init(conn, args.scale, args.seed)
    if args.action == "activity":
        use_database(conn, database, create=False)
        period = args.period
        if period is None:
            period = (core.manifest(conn)["period"] or 0) + 1
        return core.activity(conn, period, seed=args.seed)
    if args.action == "reset":
        if not args.yes:
            _confirm(database)
        use_database(conn, database, create=True)
        return core.reset(conn)
    use_database(conn, database, create=False)
    return core.manifest(conn)


def render(result: dict) -> str:
    """The manifest as a table: one line per table, then the run's facts."""
    changes = result.get("changes") or {}
    lines = [f"{'table':<18}{'rows':>10}{'checksum':>22}{'insert':>9}{'update':>9}{'delete':>9}"]
    for name, stats in result["tables"].items():
        c = changes.get(name)
        moved = "".join(f"{c[k]:>9}" for k in ("insert", "update", "delete")) if c else ""
        lines.append(f"{name:<18}{stats['rows']:>10}{stats['checksum']:>22}{moved}")
    facts = ("mode", "status", "database", "scale", "seed", "period", "seconds")
    lines.append("  ".join(f"{k}={result[k]}" for k in facts if result.get(k) is not None))
    if result.get("business_time"):
        lines.append(f"business time {result['business_time']['from']} .. {result['business_time']['to']}")
    return "\n".join(lines)


def run(args) -> int:
    settings = resolve(args)
    try:
        conn = connect(settings)
        with conn:
            result = execute(conn, args, settings.database)
    except EventError as exc:  # name the flag, not the Lambda event field
        raise CommandError(f"--{exc.field}: {str(exc).split(': ', 1)[1]}") from None
    except SeedError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else render(result))
    return 0
