"""`lakehouse runs [RUN_ID]`: the run log (`<ops>/pipeline_runs`), newest run first."""

from __future__ import annotations

import datetime as dt
import json

from local_aws.cli import CommandError


def register(sub) -> None:
    p = sub.add_parser(
        "runs",
        help="show the run log: the last runs, or every job and table of one run",
        description="Read the local lake's run log, the Delta table <ops>/pipeline_runs (on AWS, query "
        "it with Athena: sql/athena/ops). Without RUN_ID: one line per run, newest first, with its "
        "jobs, status and rows. With RUN_ID (or a prefix naming one run): one line per job and table "
        "of that run.",
    )
    p.add_argument("run_id", nargs="?", metavar="RUN_ID", help="a run id, or a prefix that names one run")
    p.add_argument("--last", type=int, default=10, metavar="N", help="runs to list (default 10)")
    p.add_argument("--failed", action="store_true", help="list only runs with a failed job or table")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from local_aws import run_log_view as view
    from local_aws.athena import format_table
    from local_aws.runtime import local_config
    from spark_jobs.run_log import run_log_path

    if args.last < 1:
        raise CommandError(f"--last must be at least 1, got {args.last}")
    if args.run_id is not None and args.failed:
        raise CommandError("--failed lists runs; it does not go with a RUN_ID")
    ops = local_config().env.paths["ops"]
    where = f"the run log at {run_log_path(ops)}"
    try:
        log = view.read_log(ops)
        if args.run_id is None:
            columns, rows = view.SUMMARY_COLUMNS, view.summaries(log, args.last, args.failed)
            title = f"the last {len(rows)} run{'s' if len(rows) != 1 else ''}"
            title += " with a failure" if args.failed else ""
        else:
            run_id, rows = view.run_rows(log, args.run_id, where)
            columns, title = view.DETAIL_COLUMNS, f"run {run_id}"
            if not args.json:  # the table: its length instead of the end, and a message's start
                columns = tuple(c for c in columns if c not in ("ended_at", "message")) + ("message",)
    except view.RunLogError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    print(f"== {title} ({run_log_path(ops)})")
    print(format_table(list(columns), [tuple(_cell(r[c]) for c in columns) for r in rows]))
    return 0


MESSAGE_WIDTH = 100


def _cell(value):
    """A table cell: times to the second, a long message cut (--json gives it whole)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and len(value) > MESSAGE_WIDTH:
        return value[: MESSAGE_WIDTH - 3] + "..."
    return value
