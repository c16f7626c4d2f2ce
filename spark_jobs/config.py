"""Configuration loader: reads `conf/` into typed, immutable objects.

Every part of the platform (Spark jobs, replicator, DAG, tests, Terraform through yamldecode)
reads the same YAML files. This module is pure Python (PyYAML only) so that the DAG bundle and
the EMR zip can import it without Spark.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONF_DIR = REPO_ROOT / "conf"
LAYERS = ("raw", "bronze", "silver", "gold", "ops")
POLICIES = ("warn", "quarantine", "fail")
RULES = ("not_null", "unique", "range", "in_set", "references")

_TYPE_RE = re.compile(
    r"^(?P<base>int|bigint|smallint|tinyint|varchar|char|text|decimal|datetime|timestamp|date)"
    r"(?:\((?P<args>[0-9, ]+)\))?$"
)
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A configuration file is missing, malformed or inconsistent; the message names file and key."""

    def __init__(self, file: Path | str, key: str, problem: str):
        self.file = str(file)
        self.key = key
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # MySQL COLUMN_TYPE, e.g. varchar(60), decimal(10,2), datetime(6)
    nullable: bool = False

    @property
    def base_type(self) -> str:
        return self.type.split("(", 1)[0]

    @property
    def type_args(self) -> tuple[int, ...]:
        if "(" not in self.type:
            return ()
        return tuple(int(a) for a in self.type[self.type.index("(") + 1 : -1].split(","))


@dataclass(frozen=True)
class Expectation:
    rule: str
    policy: str
    columns: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] = ()
    table: str | None = None  # for `references`

    @property
    def name(self) -> str:
        return f"{self.rule}:{','.join(self.columns)}"


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    pii: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, ref_table, ref_column)
    scd: int = 1
    effective_column: str | None = None
    expectations: tuple[Expectation, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


@dataclass(frozen=True)
class RawContract:
    format: str
    schema_folder: str
    bucket_folder: str
    s3_settings: dict[str, Any]
    op_column: str
    ops: tuple[str, ...]
    commit_ts_column: str
    commit_ts_format: str
    change_seq_column: str
    change_seq_expression: str
    change_seq_length: int
    full_load_prefix: str
    full_load_digits: int
    cdc_name_format: str
    file_suffix: str
    parquet_version: str = "parquet-2-0"

    def full_load_name(self, n: int) -> str:
        return f"{self.full_load_prefix}{n:0{self.full_load_digits}X}{self.file_suffix}"


def on_s3(location: str) -> bool:
    """Whether a lake location (root or zone) is on S3 rather than a local folder."""
    return location.startswith(("s3://", "s3a://"))


@dataclass(frozen=True)
class Environment:
    name: str
    root: str
    paths: dict[str, str]  # layer -> location (local path or s3:// URI)
    settings: dict[str, Any] = field(default_factory=dict)  # the rest of the env file

    @property
    def is_local(self) -> bool:
        return not on_s3(self.root)

    def whole_number(self, section: str, key: str, default: int, minimum: int = 0) -> int:
        """The setting `section.key` of the env file as a whole number, `default` when absent,
        never below `minimum`; ValueError naming the setting when it is not a number."""
        value = self.settings.get(section, {}).get(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{section}.{key} must be a whole number, got {value!r}") from None
        return max(minimum, number)

    def table_path(self, layer: str, name: str) -> str:
        """Location of one table (or gold model) in a layer."""
        if layer not in self.paths:
            raise KeyError(f"unknown layer {layer!r}; known: {', '.join(self.paths)}")
        return f"{self.paths[layer].rstrip('/')}/{name}"


@dataclass(frozen=True)
class Config:
    conf_dir: Path
    database: str
    tables: dict[str, Table]
    raw: RawContract
    env: Environment
    extra: dict[str, Any] = field(default_factory=dict)  # other conf files by stem (e.g. gold)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raise ConfigError(
                self.conf_dir / "tables.yaml",
                f"tables.{name}",
                f"unknown table; known: {', '.join(self.tables)}",
            )
        return self.tables[name]

    def raw_table_dir(self, table: str) -> str:
        parts = [self.env.paths["raw"].rstrip("/")]
        if self.raw.bucket_folder:
            parts.append(self.raw.bucket_folder.strip("/"))
        parts += [self.raw.schema_folder, table]
        return "/".join(parts)


# ---------------------------------------------------------------------------------------------
# Reading


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(path, "<file>", "file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<file>"
        raise ConfigError(path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "<root>", "expected a mapping at the top level")
    return data


def _req(data: dict, key: str, file: Path, prefix: str, kind: type | tuple[type, ...] | None = None) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise ConfigError(file, f"{prefix}{key}", "required key is missing")
    value = data[key]
    if kind is not None and not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(file, f"{prefix}{key}", f"expected {names}, got {type(value).__name__}")
    return value


def _parse_column(raw: Any, file: Path, key: str) -> Column:
    if not isinstance(raw, dict):
        raise ConfigError(file, key, "expected a mapping with name and type")
    name = _req(raw, "name", file, key + ".", str)
    ctype = str(_req(raw, "type", file, key + ".")).strip().lower()
    if not _TYPE_RE.match(ctype):
        raise ConfigError(file, f"{key}.type", f"unknown column type {ctype!r}")
    unknown = set(raw) - {"name", "type", "nullable"}
    if unknown:
        raise ConfigError(file, f"{key}.{sorted(unknown)[0]}", "unknown key")
    return Column(name=name, type=ctype, nullable=bool(raw.get("nullable", False)))


def _parse_expectation(raw: Any, file: Path, key: str, columns: set[str], tables: set[str]) -> Expectation:
    if not isinstance(raw, dict):
        raise ConfigError(file, key, "expected a mapping")
    rule = _req(raw, "rule", file, key + ".", str)
    if rule not in RULES:
        raise ConfigError(file, f"{key}.rule", f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    policy = raw.get("policy", "warn")
    if policy not in POLICIES:
        raise ConfigError(file, f"{key}.policy", f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    cols = raw.get("columns") or ([raw["column"]] if "column" in raw else [])
    if not cols:
        raise ConfigError(file, f"{key}.columns", "a rule needs `column` or `columns`")
    for c in cols:
        if c not in columns:
            raise ConfigError(file, f"{key}.columns", f"unknown column {c!r}")
    ref = raw.get("table")
    if rule == "references" and ref not in tables:
        raise ConfigError(file, f"{key}.table", f"references an unknown table {ref!r}")
    return Expectation(
        rule=rule,
        policy=policy,
        columns=tuple(cols),
        min=raw.get("min"),
        max=raw.get("max"),
        values=tuple(raw.get("values", ())),
        table=ref,
    )


def _parse_table(name: str, raw: Any, file: Path, table_names: set[str]) -> Table:
    key = f"tables.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(file, key, "expected a mapping")
    pk = _req(raw, "primary_key", file, key + ".", list)
    raw_cols = _req(raw, "columns", file, key + ".", list)
    columns = tuple(_parse_column(c, file, f"{key}.columns[{i}]") for i, c in enumerate(raw_cols))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ConfigError(file, f"{key}.columns", "duplicate column name")
    colset = set(names)
    for c in pk:
        if c not in colset:
            raise ConfigError(file, f"{key}.primary_key", f"unknown column {c!r}")
    pii = tuple(raw.get("pii") or ())
    for c in pii:
        if c not in colset:
            raise ConfigError(file, f"{key}.pii", f"unknown column {c!r}")
    fks = []
    for col, target in (raw.get("foreign_keys") or {}).items():
        if col not in colset:
            raise ConfigError(file, f"{key}.foreign_keys.{col}", "unknown column")
        if not isinstance(target, str) or "." not in target or target.split(".")[0] not in table_names:
            raise ConfigError(file, f"{key}.foreign_keys.{col}", f"expected <table>.<column>, got {target!r}")
        ref_table, ref_col = target.split(".", 1)
        fks.append((col, ref_table, ref_col))
    scd = raw.get("scd", 1)
    if scd not in (1, 2):
        raise ConfigError(file, f"{key}.scd", f"expected 1 or 2, got {scd!r}")
    eff = raw.get("effective_column")
    if scd == 2 and eff not in colset:
        raise ConfigError(file, f"{key}.effective_column", "SCD type 2 needs an existing effective_column")
    exps = tuple(
        _parse_expectation(e, file, f"{key}.expectations[{i}]", colset, table_names)
        for i, e in enumerate(raw.get("expectations") or ())
    )
    return Table(
        name=name,
        primary_key=tuple(pk),
        columns=columns,
        pii=pii,
        foreign_keys=tuple(fks),
        scd=scd,
        effective_column=eff,
        expectations=exps,
    )


def load_tables(conf_dir: Path) -> tuple[str, dict[str, Table]]:
    file = conf_dir / "tables.yaml"
    data = _read_yaml(file)
    database = _req(_req(data, "source", file, "", dict), "database", file, "source.", str)
    raw_tables = _req(data, "tables", file, "", dict)
    if not raw_tables:
        raise ConfigError(file, "tables", "no tables declared")
    names = set(raw_tables)
    tables = {name: _parse_table(name, raw, file, names) for name, raw in raw_tables.items()}
    # Each foreign key must point at the referenced table's column.
    for t in tables.values():
        for col, ref_table, ref_col in t.foreign_keys:
            if ref_col not in tables[ref_table].column_names:
                raise ConfigError(
                    file, f"tables.{t.name}.foreign_keys.{col}", f"{ref_table} has no {ref_col!r}"
                )
    return database, tables


def load_raw_contract(conf_dir: Path) -> RawContract:
    file = conf_dir / "raw_contract.yaml"
    data = _read_yaml(file)
    fields = {}
    for name, kind in [
        ("format", str),
        ("schema_folder", str),
        ("s3_settings", dict),
        ("op_column", str),
        ("ops", list),
        ("commit_ts_column", str),
        ("commit_ts_format", str),
        ("change_seq_column", str),
        ("change_seq_expression", str),
        ("change_seq_length", int),
        ("full_load_prefix", str),
        ("full_load_digits", int),
        ("cdc_name_format", str),
        ("file_suffix", str),
    ]:
        fields[name] = _req(data, name, file, "", kind)
    if fields["format"] != "parquet":
        raise ConfigError(file, "format", f"only parquet is supported, got {fields['format']!r}")
    if set(fields["ops"]) != {"I", "U", "D"}:
        raise ConfigError(file, "ops", "expected exactly I, U and D")
    s3 = fields["s3_settings"]
    if s3.get("timestamp_column_name") != fields["commit_ts_column"]:
        raise ConfigError(file, "s3_settings.timestamp_column_name", "must equal commit_ts_column")
    if not s3.get("include_op_for_full_load"):
        raise ConfigError(
            file, "s3_settings.include_op_for_full_load", "must be true: bronze needs Op on every row"
        )
    fields["ops"] = tuple(fields["ops"])
    return RawContract(
        bucket_folder=str(data.get("bucket_folder") or ""),
        parquet_version=str(data.get("parquet_version", "parquet-2-0")),
        **fields,
    )


def _expand(value: str, file: Path, key: str) -> str:
    def sub(m: re.Match) -> str:
        var = m.group(1)
        if var not in os.environ:
            raise ConfigError(file, key, f"environment variable {var} is not set")
        return os.environ[var]

    return _VAR_RE.sub(sub, value)


def load_environment(conf_dir: Path, env: str) -> Environment:
    file = conf_dir / "env" / f"{env}.yaml"
    if not file.is_file():
        known = sorted(p.stem for p in (conf_dir / "env").glob("*.yaml"))
        raise ConfigError(file, "<file>", f"unknown environment {env!r}; known: {', '.join(known)}")
    data = _read_yaml(file)
    root = os.environ.get("LAKEHOUSE_ROOT") or _expand(str(_req(data, "root", file, "")), file, "root")
    if "://" not in root and not os.path.isabs(root):
        root = str(REPO_ROOT / root)
    root = root.rstrip("/")
    layer_overrides = data.get("layers") or {}
    if not isinstance(layer_overrides, dict):
        raise ConfigError(file, "layers", "expected a mapping of layer to location")
    paths = {}
    for layer in LAYERS:
        default = f"{root}/_ops" if layer == "ops" else f"{root}/{layer}"
        # LAKEHOUSE_ROOT moves every layer, so that tests and demos stay inside one folder.
        override = None if os.environ.get("LAKEHOUSE_ROOT") else layer_overrides.get(layer)
        paths[layer] = _expand(str(override), file, f"layers.{layer}") if override else default
    unknown = set(layer_overrides) - set(LAYERS)
    if unknown:
        raise ConfigError(file, f"layers.{sorted(unknown)[0]}", f"unknown layer; known: {', '.join(LAYERS)}")
    return Environment(name=_req(data, "name", file, "", str), root=root, paths=paths, settings=data)


def load_config(env: str = "local", conf_dir: Path | str | None = None) -> Config:
    """Load the whole of `conf/` for one environment."""
    conf_dir = Path(conf_dir or os.environ.get("LAKEHOUSE_CONF_DIR") or DEFAULT_CONF_DIR)
    database, tables = load_tables(conf_dir)
    raw = load_raw_contract(conf_dir)
    environment = load_environment(conf_dir, env)
    extra = {}
    for path in sorted(conf_dir.glob("*.yaml")):
        if path.stem not in {"tables", "raw_contract"}:
            extra[path.stem] = _read_yaml(path)
    return Config(conf_dir=conf_dir, database=database, tables=tables, raw=raw, env=environment, extra=extra)


# ---------------------------------------------------------------------------------------------
# Gold models (conf/gold.yaml)


@dataclass(frozen=True)
class GoldModel:
    name: str
    grain: str
    unique_key: tuple[str, ...]
    depends_on: tuple[str, ...]
    scope: tuple[str, ...]  # columns an incremental run replaces rows by; () = rebuilt whole


def gold_models(cfg: Config) -> dict[str, GoldModel]:
    """The gold models of conf/gold.yaml, in build order; ConfigError names the file and key."""
    file = cfg.conf_dir / "gold.yaml"
    data = cfg.extra.get("gold")
    if data is None:
        raise ConfigError(file, "models", "file missing: gold needs conf/gold.yaml")
    models = _req(data, "models", file, "", dict)
    out = {}
    for name, raw in models.items():
        key = f"models.{name}"
        if not isinstance(raw, dict):
            raise ConfigError(file, key, "expected a mapping")

        def names(field_name: str, required: bool = True, raw=raw, key=key) -> tuple[str, ...]:
            value = raw.get(field_name)
            if value is None and not required:
                return ()
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ConfigError(file, f"{key}.{field_name}", "expected a column name or a list of them")
            return tuple(value)

        out[name] = GoldModel(
            name=name,
            grain=str(_req(raw, "grain", file, key + ".", str)),
            unique_key=names("unique_key"),
            depends_on=names("depends_on"),
            scope=names("scope", required=False),
        )
    return out
