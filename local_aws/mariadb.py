"""Local stand-in for RDS MySQL: a throwaway MariaDB server on 127.0.0.1.

The server runs as a plain process (no system service) with its data directory under
`<lake root>/_mysql`, and with the binlog settings CDC needs (ROW format, FULL row image,
FULL row metadata), the same ones the RDS parameter group sets on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

DEFAULT_PORT = 3307
APP_USER = "lakehouse"
DATABASE = "salesdb"
SBIN_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


class MariaDBError(RuntimeError):
    """The local server could not be installed, started, reached or stopped."""


@dataclass(frozen=True)
class MySQLConnectionInfo:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self, database: str | None = None, autocommit: bool = False, **kwargs) -> pymysql.Connection:
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=self.database if database is None else (database or None),
                autocommit=autocommit,
                charset="utf8mb4",
                connect_timeout=5,
                **kwargs,
            )
        except pymysql.err.OperationalError as exc:
            raise MariaDBError(
                f"cannot reach MySQL at {self.host}:{self.port} as {self.user}: {exc.args[-1]}; "
                "is it running? (`lakehouse mysql up`)"
            ) from None


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in SBIN_DIRS:
            p = Path(d) / name
            if p.is_file():
                return str(p)
    raise MariaDBError(
        f"{names[0]} not found: install MariaDB with `make mariadb` "
        "(apt-get install mariadb-server-core mariadb-client-core)"
    )


class LocalMariaDB:
    """One throwaway MariaDB instance living in `base_dir`."""

    def __init__(self, base_dir: Path | str, port: int | None = None):
        self.base = Path(base_dir).resolve()
        self.datadir = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.pidfile = self.base / "mysqld.pid"
        self.logfile = self.base / "mysqld.log"
        self.cnf = self.base / "my.cnf"
        self.credentials_file = self.base / "credentials.json"
        self._port = port

    # -- state -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port:
            return self._port
        creds = self._read_credentials()
        if creds:
            return int(creds["port"])
        return int(os.environ.get("LAKEHOUSE_MYSQL_PORT", DEFAULT_PORT))

    def _read_credentials(self) -> dict | None:
        if self.credentials_file.is_file():
            return json.loads(self.credentials_file.read_text())
        return None

    def info(self) -> MySQLConnectionInfo:
        creds = self._read_credentials()
        if not creds:
            raise MariaDBError(f"no local MariaDB in {self.base}; run `lakehouse mysql up`")
        return MySQLConnectionInfo(
            "127.0.0.1", int(creds["port"]), creds["user"], creds["password"], DATABASE
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def is_running(self) -> bool:
        if self.pid() is None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True
        return False

    # -- lifecycle -------------------------------------------------------------------------

    def _write_cnf(self, port: int) -> None:
        binlog = self.base / "binlog"
        binlog.mkdir(parents=True, exist_ok=True)
        user_line = "user=root\n" if os.geteuid() == 0 else ""
        self.cnf.write_text(
            f"""[client]
socket={self.socket}

[mysqld]
{user_line}datadir={self.datadir}
socket={self.socket}
pid-file={self.pidfile}
log-error={self.logfile}
port={port}
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
default-time-zone=+00:00
max_allowed_packet=64M
# CDC: the binlog as RDS's parameter group sets it for DMS.
log-bin={binlog}/mysql-bin
server_id=1
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
binlog_checksum=NONE
expire_logs_days=2
# A throwaway server: favour speed over durability across machine crashes.
innodb_buffer_pool_size=512M
innodb_log_file_size=64M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
"""
        )

    def up(self, timeout: float = 60) -> MySQLConnectionInfo:
        """Start the server if it is not running; harmless when it is."""
        if self.is_running():
            return self.info()
        self.base.mkdir(parents=True, exist_ok=True)
        creds = self._read_credentials() or {
            "user": APP_USER,
            "password": secrets.token_urlsafe(18),
            "port": self._port or int(os.environ.get("LAKEHOUSE_MYSQL_PORT", DEFAULT_PORT)),
        }
        port = int(creds["port"])
        if _port_in_use(port):
            raise MariaDBError(f"port {port} on 127.0.0.1 is taken; set LAKEHOUSE_MYSQL_PORT to a free port")
        self._write_cnf(port)
        fresh = not (self.datadir / "mysql").is_dir()
        if fresh:
            self.datadir.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                [
                    _binary("mariadb-install-db", "mysql_install_db"),
                    f"--defaults-file={self.cnf}",
                    "--skip-test-db",
                    "--auth-root-authentication-method=socket",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise MariaDBError(
                    f"mariadb-install-db failed in {self.datadir}: {proc.stderr.strip()[-500:]}"
                )
        with open(self.logfile, "a") as log:
            subprocess.Popen(
                [_binary("mariadbd", "mysqld"), f"--defaults-file={self.cnf}"],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=2)
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    tail = self.logfile.read_text()[-800:] if self.logfile.exists() else ""
                    raise MariaDBError(
                        f"MariaDB did not start within {timeout:.0f}s; log {self.logfile}:\n{tail}"
                    ) from None
                time.sleep(0.2)
        with conn, conn.cursor() as cur:
            # One application user over TCP; it also holds what a CDC reader needs.
            cur.execute(
                f"CREATE USER IF NOT EXISTS '{creds['user']}'@'127.0.0.1' IDENTIFIED BY %s",
                (creds["password"],),
            )
            cur.execute(f"ALTER USER '{creds['user']}'@'127.0.0.1' IDENTIFIED BY %s", (creds["password"],))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{creds['user']}'@'127.0.0.1' WITH GRANT OPTION")
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        self.credentials_file.write_text(json.dumps(creds))
        self.credentials_file.chmod(0o600)
        return self.info()

    def down(self, timeout: float = 60) -> bool:
        """Stop the server; returns False when it was not running. Leaves no process behind."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(pymysql.err.OperationalError):
            conn = pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=2)
            with conn, conn.cursor() as cur:
                cur.execute("SHUTDOWN")
        if not _wait_gone(pid, timeout):
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
        return True

    def destroy(self) -> None:
        """Stop the server and delete its data directory."""
        self.down()
        shutil.rmtree(self.base, ignore_errors=True)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reap it when it is our child (tests start the server in-process).
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for tests that need their own server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_instance(root: Path | str) -> LocalMariaDB:
    """The instance that belongs to a local lake root."""
    return LocalMariaDB(Path(root) / "_mysql")
