"""Secrets the jobs need (the PII salt), from the environment or a secret store, never from code."""

from __future__ import annotations

import os
import secrets as _secrets
from pathlib import Path

from spark_jobs.config import Config


class SecretError(RuntimeError):
    """A required secret is missing or unreadable."""


def pii_salt(cfg: Config) -> str:
    """The salt for PII hashing.

    Order: the environment variable named in the env file; on AWS, the Secrets Manager secret
    named there; locally, a random salt generated once into `<root>/<file>` (a stand-in for a
    secret store, git-ignored with the rest of the lake).
    """
    spec = cfg.env.settings.get("pii_salt") or {}
    env_var = spec.get("env", "LAKEHOUSE_PII_SALT")
    if os.environ.get(env_var):
        return os.environ[env_var]
    if spec.get("secret_id"):
        import boto3

        try:
            value = boto3.client("secretsmanager").get_secret_value(SecretId=spec["secret_id"])[
                "SecretString"
            ]
        except Exception as exc:
            raise SecretError(f"cannot read the PII salt secret {spec['secret_id']!r}: {exc}") from None
        if not value:
            raise SecretError(f"the PII salt secret {spec['secret_id']!r} is empty")
        return value
    if spec.get("file") and cfg.env.is_local:
        path = Path(cfg.env.root) / spec["file"]
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
    raise SecretError(
        f"no PII salt: set {env_var} or configure pii_salt.secret_id in the {cfg.env.name} env file"
    )
