"""The Lambda entry point (`lambda_seed.handler.handler`): event in, manifest out.

Event: {"mode": "init"|"activity"|"reset", "scale": S, "seed": N, "period": K} (events.parse_event).
An invalid event raises EventError naming the field before any connection is opened.

Credentials, on AWS (the environment Terraform sets): DB_SECRET_ID names the RDS-managed master
secret ({"username", "password"}); DB_HOST, DB_PORT and DB_NAME locate the database; the
connection uses TLS, verified against the CA bundle DB_TLS_CA names when it is set (Terraform
sets `rds-ca-bundle.pem`, which `make lambda-zip RDS_CA_BUNDLE=FILE` puts in the package; a
relative path is read from the package, see tls_ca_path). Locally,
without DB_SECRET_ID: LAKEHOUSE_MYSQL_HOST, _PORT, _USER, _PASSWORD and _DATABASE. On init the
handler also creates the DMS replication user from the secret DMS_SECRET_ID names, when set, and
sets the binlog retention on RDS.

The connection lives at module level, so a warm Lambda reuses it across invocations.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os

import pymysql

from lambda_seed import core, database
from lambda_seed.database import Settings
from lambda_seed.events import Request, SeedError, parse_event

log = logging.getLogger("lambda_seed")
log.setLevel(logging.INFO)

DEFAULT_DATABASE = "salesdb"
_conn = None  # the cached connection (module level: it survives between warm invocations)
_settings: Settings | None = None


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise SeedError(f"environment variable {name} is not set")
    return value


def _read_secret(secret_id: str) -> dict:
    import boto3  # in the Lambda runtime; not needed (nor packaged) for local runs

    try:
        raw = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        secret = json.loads(raw)
    except Exception as exc:  # the message names the secret, never its value
        raise SeedError(f"cannot read secret {secret_id!r}: {type(exc).__name__}: {exc}") from None
    missing = [k for k in ("username", "password") if not isinstance(secret, dict) or k not in secret]
    if missing:
        raise SeedError(f"secret {secret_id!r} has no {', '.join(missing)} (expected the RDS secret shape)")
    return secret


def tls_ca_path(value: str) -> str:
    """DB_TLS_CA as a path: a relative one names a file of the deployment package, found under
    LAMBDA_TASK_ROOT (where Lambda unpacks it) or, elsewhere, beside the `lambda_seed` folder.
    "" stays "": TLS without certificate checks."""
    if not value or os.path.isabs(value):
        return value
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, value)


def settings_from_env() -> Settings:
    """Where and as whom to connect, from the environment (see the module docstring)."""
    secret_id = os.environ.get("DB_SECRET_ID")
    if secret_id:
        secret = _read_secret(secret_id)
        return Settings(
            host=_env("DB_HOST"),
            port=int(_env("DB_PORT", "3306")),
            user=secret["username"],
            password=secret["password"],
            database=_env("DB_NAME", DEFAULT_DATABASE),
            # RDS accepts TLS only; DB_TLS_CA (the RDS CA bundle) adds certificate checks.
            tls_ca=tls_ca_path(os.environ.get("DB_TLS_CA", "")),
        )
    return Settings(
        host=_env("LAKEHOUSE_MYSQL_HOST"),
        port=int(_env("LAKEHOUSE_MYSQL_PORT", "3306")),
        user=_env("LAKEHOUSE_MYSQL_USER"),
        password=_env("LAKEHOUSE_MYSQL_PASSWORD"),
        database=_env("LAKEHOUSE_MYSQL_DATABASE", DEFAULT_DATABASE),
    )


def connection():
    """The cached connection, replaced by a new one when the server dropped it."""
    global _conn, _settings  # noqa: PLW0603 - module state is how a warm Lambda keeps a connection
    if _conn is not None:
        try:
            _conn.ping(reconnect=False)
            return _conn
        except pymysql.err.Error:  # idle timeout, failover, KILL: connect again below
            log.info("cached connection lost; connecting again")
            with contextlib.suppress(Exception):
                _conn.close()
            _conn = None
    cached = _settings is not None
    if not cached:
        _settings = settings_from_env()
    log.info("connecting to %s", _settings.label)
    try:
        _conn = database.connect(_settings)
    except SeedError:
        if not cached:
            raise
        # The master secret may have been rotated since it was read: read it once more.
        _settings = settings_from_env()
        _conn = database.connect(_settings)
    return _conn


def _setup_replication(conn, db_name: str) -> dict:
    """What DMS needs from the source: its user and binlogs kept long enough."""
    done: dict = {"replication_user": None, "binlog_retention_hours": database.set_binlog_retention(conn)}
    secret_id = os.environ.get("DMS_SECRET_ID")
    if secret_id:
        secret = _read_secret(secret_id)
        status = database.ensure_replication_user(conn, secret["username"], secret["password"], db_name)
        done["replication_user"] = {"username": secret["username"], "status": status}
    return done


def apply(conn, request: Request, db_name: str) -> dict:
    """Carry out a validated request on `conn`."""
    database.use_database(conn, db_name, create=request.mode in ("init", "reset"))
    if request.mode == "init":
        setup = _setup_replication(conn, db_name)
        result = core.init(conn, request.scale, request.seed)
        result["setup"] = setup
        return result
    if request.mode == "activity":
        period = request.period
        if period is None:  # "next": the period after the last one that ran
            period = (core.manifest(conn)["period"] or 0) + 1
        return core.activity(conn, period, seed=request.seed, scale=request.scale)
    return core.reset(conn)


def handler(event, context=None) -> dict:
    request = parse_event(event)  # EventError naming the field; nothing is touched before this
    log.info(
        "request %s: mode=%s scale=%s seed=%s period=%s",
        getattr(context, "aws_request_id", "-"),
        request.mode,
        request.scale,
        request.seed,
        request.period,
    )
    conn = connection()
    result = apply(conn, request, _settings.database)
    log.info(
        "%s %s in %ss: %s",
        result["mode"],
        result["status"],
        result.get("seconds", "-"),
        json.dumps({t: s["rows"] for t, s in result["tables"].items()}),
    )
    return result
