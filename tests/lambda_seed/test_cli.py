"""`lakehouse seed ...` through the real command line, against real MariaDB servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from local_aws.mariadb import free_port, local_instance
from spark_jobs.config import DEFAULT_CONF_DIR
from tests.lambda_seed.conftest import drop_database

REPO = DEFAULT_CONF_DIR.parent


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "seed", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _base_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}


def test_seed_commands_print_the_manifest(mysql):
    database = f"seedcli_{os.getpid()}"
    env = {
        **_base_env(),
        "LAKEHOUSE_MYSQL_HOST": mysql.host,
        "LAKEHOUSE_MYSQL_PORT": str(mysql.port),
        "LAKEHOUSE_MYSQL_USER": mysql.user,
        "LAKEHOUSE_MYSQL_PASSWORD": mysql.password,
    }
    db = ("--database", database)

    def count(table: str) -> int:
        conn = mysql.connect(database=database, autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            return cur.fetchone()[0]

    try:
        loaded = json.loads(_ok(_cli("init", "--scale", "0.01", "--seed", "4", "--json", *db, env=env)))
        assert (loaded["mode"], loaded["scale"], loaded["seed"], loaded["period"]) == ("init", 0.01, 4, 0)
        for table, stats in loaded["tables"].items():
            assert count(table) == stats["rows"] > 0, table

        again = _cli("init", "--scale", "0.01", "--seed", "4", *db, env=env)
        assert again.returncode == 1 and "already initialised" in again.stderr and "reset" in again.stderr

        first = json.loads(_ok(_cli("activity", "--json", *db, env=env)))  # the next period: 1
        assert (first["period"], first["status"]) == (1, "applied")
        table = _ok(_cli("activity", "--period", "2", *db, env=env))
        lines = table.splitlines()
        assert lines[0].split() == ["table", "rows", "checksum", "insert", "update", "delete"]
        sales = next(line.split() for line in lines if line.startswith("sales "))
        assert int(sales[1]) == count("sales")
        assert "mode=activity" in table and "period=2" in table and "status=applied" in table

        shown = json.loads(_ok(_cli("manifest", "--json", *db, env=env)))
        assert shown["period"] == 2 and shown["tables"]["sales"]["rows"] == count("sales")

        refused = _cli("reset", *db, env=env)
        assert refused.returncode == 1 and "--yes" in refused.stderr
        assert count("sales") == shown["tables"]["sales"]["rows"]
        emptied = json.loads(_ok(_cli("reset", "--yes", "--json", *db, env=env)))
        assert all(s["rows"] == 0 for s in emptied["tables"].values()) and count("sales_items") == 0

        bad = _cli("init", "--scale", "0", *db, env=env)
        assert bad.returncode == 1 and "--scale" in bad.stderr and "0 < scale" in bad.stderr
        assert count("sales") == 0
    finally:
        drop_database(mysql, database)


def test_seed_starts_the_local_mariadb_when_it_is_not_running(lake_root):
    env = {**_base_env(), "LAKEHOUSE_ROOT": str(lake_root), "LAKEHOUSE_MYSQL_PORT": str(free_port())}
    server = local_instance(lake_root)
    try:
        loaded = json.loads(_ok(_cli("init", "--scale", "0.005", "--seed", "2", "--json", env=env)))
        assert loaded["database"] == "salesdb"
        assert server.is_running()
        conn = server.info().connect(autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sales")
            assert cur.fetchone()[0] == loaded["tables"]["sales"]["rows"] > 0
    finally:
        server.down()
