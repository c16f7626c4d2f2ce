"""`lakehouse replicate`: the local DMS task (full load, then CDC) writing the raw zone.

One-shot by default (drain the binlog, write what is pending, exit); `--follow` keeps polling and
flushes by interval until SIGINT/SIGTERM, then writes what is pending and exits cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from local_aws.cli import CommandError
from local_aws.replicator import Faults, Options, Replicator, SourceSettings
from local_aws.replicator.checkpoint import CheckpointError
from local_aws.replicator.contract import ContractError
from local_aws.replicator.faults import CRASH_ENV, parse_position
from local_aws.replicator.storage import TargetError
from spark_jobs.config import load_config
from spark_jobs.run_lock import LakeBusy


def register(sub) -> None:
    p = sub.add_parser("replicate", help="replicate MariaDB into the raw zone as DMS does (full load + CDC)")
    p.add_argument("--env", default="local", help="environment in conf/env (default: local)")
    p.add_argument(
        "--target", help="raw layer location: a folder or s3://bucket/prefix (default: the env's raw path)"
    )
    p.add_argument(
        "--tables", help="comma-separated registry tables (default: every table in conf/tables.yaml)"
    )
    p.add_argument("--follow", action="store_true", help="keep running; stop with Ctrl-C or SIGTERM")
    p.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between binlog polls in --follow"
    )
    p.add_argument("--cdc-max-batch-interval", type=float, help="seconds (default: the contract's)")
    p.add_argument("--cdc-min-file-size", type=int, help="KB (default: the contract's)")
    p.add_argument("--max-file-size", type=int, help="KB per full-load file (default: the contract's)")
    p.add_argument(
        "--reset", action="store_true", help="forget the checkpoint and raw files; full load again"
    )
    p.add_argument("--reload", default="", help="comma-separated tables to full-load again")
    src = p.add_argument_group(
        "source (default: the local MariaDB; the password comes from LAKEHOUSE_MYSQL_PASSWORD)"
    )
    src.add_argument("--host", help="or LAKEHOUSE_MYSQL_HOST")
    src.add_argument("--port", type=int, help="or LAKEHOUSE_MYSQL_PORT")
    src.add_argument("--user", help="or LAKEHOUSE_MYSQL_USER")
    src.add_argument(
        "--database", help="or LAKEHOUSE_MYSQL_DATABASE (default: the registry's source database)"
    )
    src.add_argument(
        "--server-id", type=int, help="replica server id on the source (default: derived from the target)"
    )
    f = p.add_argument_group("fault injection (tests)")
    f.add_argument("--fault-duplicate-every", type=int, default=0, metavar="N",
                   help="deliver every Nth CDC file twice, under two names")  # fmt: skip
    f.add_argument("--fault-overlap-from", metavar="FILE:POS",
                   help="start the first CDC run at this earlier binlog position")  # fmt: skip
    f.add_argument("--fault-split-transactions", action="store_true",
                   help="cut multi-change transactions across two files")  # fmt: skip
    f.add_argument("--fault-crash-point", metavar="POINT",
                   help=f"exit after writing files, before the checkpoint (or {CRASH_ENV})")  # fmt: skip
    p.set_defaults(func=run)


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(",") if t.strip())


def build(args) -> Replicator:
    cfg = load_config(args.env)
    try:
        faults = Faults(
            duplicate_every=args.fault_duplicate_every,
            overlap_from=parse_position(args.fault_overlap_from) if args.fault_overlap_from else None,
            split_transactions=args.fault_split_transactions,
            crash_point=args.fault_crash_point or os.environ.get(CRASH_ENV) or None,
            crash_exits=True,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    tables = _csv(args.tables)
    for name in tables:
        cfg.table(name)  # ConfigError naming the unknown table and the known ones
    source = SourceSettings.resolve(
        args.host, port=args.port, user=args.user, database=args.database, default_database=cfg.database
    )
    options = Options(
        target=args.target or cfg.env.paths["raw"],
        tables=tables,
        follow=args.follow,
        poll_interval=args.poll_interval,
        cdc_max_batch_interval=args.cdc_max_batch_interval,
        cdc_min_file_size=args.cdc_min_file_size,
        max_file_size=args.max_file_size,
        server_id=args.server_id,
        reset=args.reset,
        reload=_csv(args.reload),
        faults=faults,
    )
    return Replicator(cfg, source, options)


def run(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = threading.Event()
    if args.follow:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        replicator = build(args)
        print(f"replicating {replicator.source.label} -> {replicator.storage.uri}", flush=True)
        report = replicator.run(stop)
    except (TargetError, CheckpointError, ContractError, LakeBusy) as exc:
        raise CommandError(str(exc)) from None
    print(report.summary(), flush=True)
    return 0
