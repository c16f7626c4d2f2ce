"""`lakehouse mysql up|down|status`: the local MariaDB standing in for RDS MySQL."""

from __future__ import annotations

from local_aws.runtime import local_mysql


def register(sub) -> None:
    p = sub.add_parser("mysql", help="start, stop or inspect the local MariaDB (RDS stand-in)")
    p.add_argument("action", choices=["up", "down", "status"])
    p.set_defaults(func=run)


def run(args) -> int:
    db = local_mysql()
    if args.action == "up":
        was_running = db.is_running()
        info = db.up()
        print(
            f"MariaDB {'already running' if was_running else 'started'} on 127.0.0.1:{info.port} "
            f"(data in {db.datadir})"
        )
        return 0
    if args.action == "down":
        print("MariaDB stopped" if db.down() else "MariaDB was not running")
        return 0
    if db.is_running():
        print(f"running pid={db.pid()} url={db.info().url}")
        return 0
    print("stopped")
    return 3
