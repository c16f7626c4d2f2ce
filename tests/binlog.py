"""Test helper: read the test server's binlog from a position, as the replicator does."""

from __future__ import annotations

from pymysqlreplication import BinLogStreamReader

from local_aws.replicator import SourceSettings


def binlog_stream(mysql, server_id: int, log_file: str, log_pos: int, **filters) -> BinLogStreamReader:
    """A non-blocking reader of `mysql`'s binlog from (`log_file`, `log_pos`) to its current end;
    `filters` are BinLogStreamReader's (only_events, only_schemas, only_tables, ...)."""
    return BinLogStreamReader(
        connection_settings=SourceSettings(
            mysql.host, mysql.port, mysql.user, mysql.password, mysql.database
        ).binlog_connection_settings(),
        server_id=server_id,
        log_file=log_file,
        log_pos=log_pos,
        resume_stream=True,
        blocking=False,
        is_mariadb=False,
        **filters,
    )
