"""The throwaway MariaDB: real server, binlog CDC settings, idempotent lifecycle."""

from __future__ import annotations

import os

from pymysqlreplication.row_event import WriteRowsEvent

from local_aws.mariadb import LocalMariaDB, free_port
from local_aws.replicator import SourceSettings
from local_aws.replicator.cdc import binlog_reader


def test_writes_a_row_and_sees_it_in_the_binlog(mysql):
    conn = mysql.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SHOW VARIABLES WHERE Variable_name IN ('binlog_format','binlog_row_image','binlog_row_metadata')"
        )
        assert dict(cur.fetchall()) == {
            "binlog_format": "ROW",
            "binlog_row_image": "FULL",
            "binlog_row_metadata": "FULL",
        }
        cur.execute("SHOW MASTER STATUS")
        log_file, log_pos = cur.fetchone()[:2]
        cur.execute("CREATE TABLE IF NOT EXISTS smoke (id INT PRIMARY KEY, note VARCHAR(20))")
        cur.execute("INSERT INTO smoke VALUES (7, 'hello')")
        cur.execute("SELECT note FROM smoke WHERE id = 7")
        assert cur.fetchone() == ("hello",)

    stream = binlog_reader(
        SourceSettings.of(mysql), 4242, log_file, log_pos, only_events=[WriteRowsEvent], only_tables=["smoke"]
    )
    try:
        rows = [(e.table, r["values"]) for e in stream for r in e.rows]
    finally:
        stream.close()
    assert ("smoke", {"id": 7, "note": "hello"}) in rows


def test_up_twice_is_harmless_and_down_leaves_no_process(tmp_path):
    server = LocalMariaDB(tmp_path / "db", port=free_port())
    first = server.up()
    pid = server.pid()
    second = server.up()
    assert second == first and server.pid() == pid
    conn = first.connect(autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        assert cur.fetchone() == ("salesdb",)
    assert server.down() is True
    assert server.pid() is None
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert server.down() is False  # already stopped: still harmless
