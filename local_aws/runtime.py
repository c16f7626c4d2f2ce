"""Where the local runtime lives: the lake root and its MariaDB instance."""

from __future__ import annotations

from pathlib import Path

from local_aws.mariadb import LocalMariaDB, MySQLConnectionInfo, local_instance
from spark_jobs.config import Config, load_config


def local_config() -> Config:
    return load_config("local")


def local_root() -> Path:
    return Path(local_config().env.root)


def local_mysql() -> LocalMariaDB:
    """The MariaDB instance of the local lake (port from conf/env/local.yaml or LAKEHOUSE_MYSQL_PORT)."""
    import os

    cfg = local_config()
    port = int(os.environ.get("LAKEHOUSE_MYSQL_PORT") or cfg.env.settings.get("mysql", {}).get("port", 3307))
    inst = local_instance(cfg.env.root)
    return LocalMariaDB(inst.base, port=port)


def mysql_info() -> MySQLConnectionInfo:
    return local_mysql().info()
