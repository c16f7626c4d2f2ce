"""Orchestration settings: conf/orchestration.yaml plus the parts of conf/ the DAG needs.

Read when the DAG file is parsed, so it only reads YAML files: no AWS calls, no Airflow Variables.
Deployment values (`${NAME}`) become Jinja templates (`{{ var.value.NAME }}`) that Airflow renders
when a task runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

COMPUTES = ("emr", "emr_serverless")
SENSOR_MODES = ("poke", "reschedule")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def ensure_spark_jobs_importable(dags_dir: Path) -> None:
    """Make `spark_jobs.config` importable: beside the DAG on MWAA, else from the repository root."""
    if importlib.util.find_spec("spark_jobs") is None:
        sys.path.append(str(dags_dir.resolve().parent))


def find_conf_dir(dags_dir: Path) -> Path:
    """LAKEHOUSE_CONF_DIR, else a `conf` folder beside the DAG file (MWAA), else the repository's conf/."""
    if os.environ.get("LAKEHOUSE_CONF_DIR"):
        return Path(os.environ["LAKEHOUSE_CONF_DIR"])
    beside = dags_dir / "conf"
    if (beside / "orchestration.yaml").is_file():
        return beside
    ensure_spark_jobs_importable(dags_dir)
    from spark_jobs.config import DEFAULT_CONF_DIR

    return DEFAULT_CONF_DIR


@dataclass(frozen=True)
class DagSettings:
    schedule: str | None
    start_date: datetime
    owner: str
    tags: tuple[str, ...]
    max_active_runs: int
    dagrun_timeout: timedelta
    retries: int
    retry_delay: timedelta
    poke_interval: int
    sensor_timeout: int
    sensor_mode: str
    aws_conn_id: str

    @property
    def max_attempts(self) -> int:
        """Waiter attempts that add up to the sensor timeout."""
        return max(1, self.sensor_timeout // max(1, self.poke_interval))


@dataclass(frozen=True)
class Settings:
    """Everything the DAG needs from conf/, with deployment values turned into templates."""

    conf_dir: Path
    dag: DagSettings
    compute: str
    tables: tuple[str, ...]  # from tables.yaml
    raw_root: str  # templated s3:// location of the raw zone (env/<env>.yaml)
    raw_prefixes: tuple[str, ...]  # one key prefix per table under raw_root (raw_contract.yaml)
    ops_root: str  # templated s3:// location of the ops area (env/<env>.yaml)
    job_env_vars: dict[str, str]  # deployment values the Spark driver expands in env/<env>.yaml
    sections: dict[str, Any]  # the other sections of orchestration.yaml, templated

    def get(self, dotted: str) -> Any:
        """A required value by its dotted key, e.g. `emr.release_label`."""
        node: Any = self.sections
        for i, part in enumerate(dotted.split(".")):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(dotted.split(".")[: i + 1])
                raise _error(self.conf_dir / "orchestration.yaml", where, "required key is missing")
            node = node[part]
        return node

    @property
    def watermark_uri(self) -> str:
        return f"{self.ops_root.rstrip('/')}/{self.get('new_data.watermark_object')}"

    def crawler_name(self, layer: str) -> str:
        return str(self.get("glue.crawler_name")).replace("{layer}", layer)


def _error(file: Path, key: str, problem: str) -> Exception:
    from spark_jobs.config import ConfigError

    return ConfigError(file, key, problem)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise _error(path, "<file>", "file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise _error(path, "<file>", f"not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise _error(path, "<root>", "expected a mapping at the top level")
    return data


def _req(data: dict[str, Any], key: str, file: Path, prefix: str, kind: Any = None) -> Any:
    if key not in data:
        raise _error(file, prefix + key, "required key is missing")
    if kind is not None and not isinstance(data[key], kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise _error(file, prefix + key, f"expected {names}, got {type(data[key]).__name__}")
    return data[key]


def _template(value: Any, declared: set[str], file: Path, key: str) -> Any:
    """Turn `${NAME}` into `{{ var.value.NAME }}` in every string, refusing undeclared names."""
    if isinstance(value, dict):
        return {k: _template(v, declared, file, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v, declared, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match) -> str:
        if m.group(1) not in declared:
            raise _error(file, key, f"${{{m.group(1)}}} is not declared under deployment_values")
        return "{{ var.value." + m.group(1) + " }}"

    return PLACEHOLDER.sub(sub, value)


def _dag_settings(raw: dict[str, Any], file: Path) -> DagSettings:
    mode = _req(raw, "sensor_mode", file, "dag.", str)
    if mode not in SENSOR_MODES:
        raise _error(file, "dag.sensor_mode", f"expected one of {', '.join(SENSOR_MODES)}, got {mode!r}")
    start = str(_req(raw, "start_date", file, "dag."))
    try:
        start_date = datetime.fromisoformat(start).replace(tzinfo=UTC)
    except ValueError:
        raise _error(file, "dag.start_date", f"expected an ISO date, got {start!r}") from None
    return DagSettings(
        schedule=raw.get("schedule") or None,
        start_date=start_date,
        owner=_req(raw, "owner", file, "dag.", str),
        tags=tuple(_req(raw, "tags", file, "dag.", list)),
        max_active_runs=_req(raw, "max_active_runs", file, "dag.", int),
        dagrun_timeout=timedelta(minutes=_req(raw, "dagrun_timeout_minutes", file, "dag.", int)),
        retries=_req(raw, "retries", file, "dag.", int),
        retry_delay=timedelta(seconds=_req(raw, "retry_delay_seconds", file, "dag.", (int, float))),
        poke_interval=_req(raw, "poke_interval_seconds", file, "dag.", int),
        sensor_timeout=_req(raw, "sensor_timeout_seconds", file, "dag.", int),
        sensor_mode=mode,
        aws_conn_id=_req(raw, "aws_conn_id", file, "dag.", str),
    )


def _layer_location(env_data: dict[str, Any], layer: str) -> str:
    # The same rule as spark_jobs.config.load_environment, without expanding ${NAME}: that happens
    # at run time, through the template.
    default = f"{str(env_data['root']).rstrip('/')}/{'_ops' if layer == 'ops' else layer}"
    return str((env_data.get("layers") or {}).get(layer) or default)


def load(dags_dir: Path) -> Settings:
    """Read conf/ for the DAG in `dags_dir`; errors name the file and key."""
    conf_dir = find_conf_dir(dags_dir)
    ensure_spark_jobs_importable(dags_dir)
    from spark_jobs.config import load_raw_contract, load_tables

    file = conf_dir / "orchestration.yaml"
    data = _read(file)
    declared = set(_req(data, "deployment_values", file, "", dict))
    compute = _req(data, "compute", file, "", str)
    if compute not in COMPUTES:
        raise _error(file, "compute", f"expected one of {', '.join(COMPUTES)}, got {compute!r}")
    sections = {
        k: _template(v, declared, file, k)
        for k, v in data.items()
        if k not in {"deployment_values", "dag", "compute"}
    }
    _, tables = load_tables(conf_dir)
    raw = load_raw_contract(conf_dir)
    env_name = _req(_req(data, "spark_job", file, "", dict), "env", file, "spark_job.", str)
    env_file = conf_dir / "env" / f"{env_name}.yaml"
    env_data = _read(env_file)
    _req(env_data, "root", env_file, "")
    job_env = sorted(set(PLACEHOLDER.findall(env_file.read_text())))
    for name in job_env:
        if name not in declared:
            raise _error(file, "deployment_values", f"{name} (used in {env_file.name}) is not declared")
    folder = [raw.bucket_folder.strip("/")] if raw.bucket_folder.strip("/") else []
    settings = Settings(
        conf_dir=conf_dir,
        dag=_dag_settings(_req(data, "dag", file, "", dict), file),
        compute=compute,
        tables=tuple(tables),
        raw_root=_template(_layer_location(env_data, "raw"), declared, env_file, "layers.raw"),
        raw_prefixes=tuple("/".join([*folder, raw.schema_folder, t]) + "/" for t in tables),
        ops_root=_template(_layer_location(env_data, "ops"), declared, env_file, "layers.ops"),
        job_env_vars={name: "{{ var.value." + name + " }}" for name in job_env},
        sections=sections,
    )
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    file = s.conf_dir / "orchestration.yaml"
    layers = s.get("spark_job.layers")
    if not isinstance(layers, list) or not layers:
        raise _error(file, "spark_job.layers", "expected a non-empty list of layers")
    sensors = len(layers) + 3  # steps (or job runs), DMS, crawlers, Athena
    if s.dag.dagrun_timeout.total_seconds() <= sensors * s.dag.sensor_timeout:
        raise _error(
            file,
            "dag.dagrun_timeout_minutes",
            f"must exceed {sensors} x sensor_timeout_seconds ({sensors * s.dag.sensor_timeout // 60} "
            "minutes), or a timed-out run could skip terminating its cluster",
        )
    databases = s.get("glue.databases")
    for layer in s.get("glue.crawl_layers"):
        if layer not in databases:
            raise _error(file, "glue.crawl_layers", f"layer {layer!r} has no entry in glue.databases")
    if "gold" not in databases:
        raise _error(file, "glue.databases.gold", "the Athena check needs the gold database")
    for group in s.get("emr.instance_groups") if s.compute == "emr" else ():
        missing = {"role", "instance_type", "count", "market"} - set(group)
        if missing:
            raise _error(file, "emr.instance_groups", f"{group} lacks {', '.join(sorted(missing))}")
