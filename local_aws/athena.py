"""The local Athena: the repository's Athena SQL (sql/athena/) run by Spark SQL on the local lake.

On AWS, Glue crawlers (or the DDL in sql/athena/ddl/) register each gold model as a native Delta
table and analysts run the named queries of sql/athena/queries/ in Athena engine v3 (Trino SQL).
Locally the same files are parsed with sqlglot as Trino SQL and written out as Spark SQL; each
DDL file becomes a temporary view over its Delta folder under the local gold layer, and each file
of sql/athena/views/ a temporary view on top. The run log and the quarantine, which the gold
crawler catalogues in the gold database on AWS, are registered the same way from
sql/athena/ops/ddl/ (under the local ops zone); sql/athena/ops/queries/ holds the operators'
questions about them. Nothing here changes the
lake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from spark_jobs.config import REPO_ROOT, Config

SQL_DIR = REPO_ROOT / "sql" / "athena"
# The DDL's variables: the gold layer's and the ops zone's locations, without a trailing slash.
GOLD_ROOT_VAR = "gold_root"
OPS_ROOT_VAR = "ops_root"
ROOT_LAYERS = {GOLD_ROOT_VAR: "gold", OPS_ROOT_VAR: "ops"}
# The ops tables' DDL and the operators' queries, under SQL_DIR.
OPS_DDL = "ops/ddl"
OPS_QUERIES = "ops/queries"
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SqlFileError(RuntimeError):
    """An Athena SQL file cannot be parsed or run; the message names the file and the table."""


@dataclass(frozen=True)
class TableDef:
    """A gold (or ops) table as its DDL file registers it."""

    name: str
    location: str  # with ${gold_root} or ${ops_root} unexpanded
    file: Path
    layer: str = "gold"  # or "ops"

    def path(self, cfg: Config) -> str:
        def sub(m: re.Match) -> str:
            if m.group(1) not in ROOT_LAYERS:
                raise SqlFileError(f"{self.file}: unknown variable ${{{m.group(1)}}} in LOCATION")
            return cfg.env.paths[ROOT_LAYERS[m.group(1)]].rstrip("/")

        return _VAR_RE.sub(sub, self.location).rstrip("/")


@dataclass(frozen=True)
class ViewDef:
    name: str
    query: exp.Expression  # the SELECT, parsed as Trino SQL
    file: Path


@dataclass
class QueryResult:
    file: Path
    spark_sql: str
    columns: list[str]
    rows: list[tuple]
    total_rows: int


def display_path(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    return _rel(path)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def parse_file(path: Path | str, read: str = "trino") -> list[exp.Expression]:
    """Every statement of a SQL file; a ParseError becomes a SqlFileError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise SqlFileError(f"{path}: no such SQL file")
    text = path.read_text()
    try:
        statements = [s for s in sqlglot.parse(text, read=read) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f"line {first.get('line')}, column {first.get('col')}: " if first else ""
        detail = first.get("description") or str(exc).splitlines()[0]
        raise SqlFileError(f"{_rel(path)}: {where}not valid Athena (Trino) SQL: {detail}") from None
    if not statements:
        raise SqlFileError(f"{_rel(path)}: holds no SQL statement")
    return statements


def _single(path: Path, read: str = "trino") -> exp.Expression:
    statements = parse_file(path, read)
    if len(statements) != 1:
        raise SqlFileError(f"{_rel(path)}: expected one statement, found {len(statements)}")
    return statements[0]


def table_definitions(sql_dir: Path = SQL_DIR, folder: str = "ddl") -> dict[str, TableDef]:
    """The gold tables of sql/athena/ddl/*.sql (native Delta tables: LOCATION and table_type only);
    `folder="ops/ddl"` gives the ops tables (the run log and the quarantine)."""
    tables = {}
    for path in sorted((sql_dir / folder).glob("*.sql")):
        stmt = _single(path, read="athena")  # Athena DDL is Hive-flavoured, its queries Trino
        if not isinstance(stmt, exp.Create) or (stmt.args.get("kind") or "").upper() != "TABLE":
            raise SqlFileError(f"{_rel(path)}: expected CREATE EXTERNAL TABLE")
        props = stmt.args.get("properties")
        props = props.expressions if props else []
        location = next((p.this.name for p in props if isinstance(p, exp.LocationProperty)), None)
        table_type = next(
            (p.text("value") for p in props if isinstance(p, exp.Property) and p.name == "table_type"), None
        )
        if not any(isinstance(p, exp.ExternalProperty) for p in props):
            raise SqlFileError(f"{_rel(path)}: expected CREATE EXTERNAL TABLE")
        if not location:
            raise SqlFileError(f"{_rel(path)}: no LOCATION")
        if (table_type or "").upper() != "DELTA":
            raise SqlFileError(f"{_rel(path)}: TBLPROPERTIES must set 'table_type' = 'DELTA'")
        name = stmt.this.name
        if name in tables:
            raise SqlFileError(f"{_rel(path)}: table {name} is also defined in {_rel(tables[name].file)}")
        layer = "ops" if folder == OPS_DDL else "gold"
        tables[name] = TableDef(name=name, location=location, file=path, layer=layer)
    return tables


def view_definitions(sql_dir: Path = SQL_DIR) -> dict[str, ViewDef]:
    """The views of sql/athena/views/*.sql (CREATE OR REPLACE VIEW name AS SELECT ...)."""
    views = {}
    for path in sorted((sql_dir / "views").glob("*.sql")):
        stmt = _single(path)
        if not isinstance(stmt, exp.Create) or (stmt.args.get("kind") or "").upper() != "VIEW":
            raise SqlFileError(f"{_rel(path)}: expected CREATE [OR REPLACE] VIEW name AS SELECT ...")
        views[stmt.this.name] = ViewDef(name=stmt.this.name, query=stmt.expression, file=path)
    return views


def referenced_tables(query: exp.Expression) -> list[str]:
    """Tables and views a query reads, in order of appearance, without its own CTE names."""
    ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
    seen: dict[str, None] = {}
    for table in query.find_all(exp.Table):
        if table.name and table.name not in ctes:
            seen[table.name] = None
    return list(seen)


def to_spark_sql(query: exp.Expression) -> str:
    return query.sql(dialect="spark")


class LocalAthena:
    """Runs Athena SQL files on the local gold layer through one SparkSession."""

    def __init__(self, spark, cfg: Config, sql_dir: Path | str = SQL_DIR):
        self.spark = spark
        self.cfg = cfg
        self.sql_dir = Path(sql_dir)
        self.tables = table_definitions(self.sql_dir)
        for name, table in table_definitions(self.sql_dir, OPS_DDL).items():
            if name in self.tables:
                raise SqlFileError(
                    f"{_rel(table.file)}: table {name} is also defined in {_rel(self.tables[name].file)}"
                )
            self.tables[name] = table
        self.views = view_definitions(self.sql_dir)

    def known(self) -> list[str]:
        return sorted({*self.tables, *self.views})

    def register(self, names: list[str], file: Path, _stack: tuple[str, ...] = ()) -> None:
        """Register these tables and views (and the views' own inputs) as Spark temporary views.

        Registered afresh on every call, so that each query reads the tables' latest versions.
        """
        from spark_jobs import delta_io

        for name in names:
            if name in self.tables:
                table = self.tables[name]
                path = table.path(self.cfg)
                if not delta_io.exists(self.spark, path):
                    run = "lakehouse run --layers gold" if table.layer == "gold" else "lakehouse run"
                    raise SqlFileError(
                        f"{_rel(file)}: table {name} has no Delta table at {path} "
                        f"(declared in {_rel(table.file)}); run `{run}` first"
                    )
                delta_io.read(self.spark, path).createOrReplaceTempView(name)
            elif name in self.views:
                if name in _stack:
                    cycle = " -> ".join((*_stack, name))
                    raise SqlFileError(f"{_rel(file)}: views refer to each other in a cycle: {cycle}")
                view = self.views[name]
                self.register(referenced_tables(view.query), view.file, (*_stack, name))
                self._sql(to_spark_sql(view.query), view.file).createOrReplaceTempView(name)
            else:
                raise SqlFileError(
                    f"{_rel(file)}: table {name!r} is neither a gold table (sql/athena/ddl), an ops table "
                    f"({OPS_DDL}) nor a view (sql/athena/views); known: {', '.join(self.known())}"
                )

    def _sql(self, sql: str, file: Path):
        from pyspark.errors import PySparkException

        try:
            return self.spark.sql(sql)
        except PySparkException as exc:
            message = str(exc).strip().splitlines()[0]
            raise SqlFileError(f"{_rel(file)}: Spark cannot run it: {message}") from None

    def dataframe(self, path: Path | str):
        """The query of one SQL file as a Spark DataFrame (tables and views registered)."""
        path = self.resolve(path)
        query = _single(path)
        if isinstance(query, exp.Create) and (query.args.get("kind") or "").upper() == "VIEW":
            query = query.expression  # a view file: show what the view returns
        if not isinstance(query, exp.Query):
            raise SqlFileError(f"{_rel(path)}: expected a query (SELECT or WITH), got {query.key.upper()}")
        self.register(referenced_tables(query), path)
        spark_sql = to_spark_sql(query)
        return self._sql(spark_sql, path), spark_sql

    def run(self, path: Path | str, show: int | None = None) -> QueryResult:
        """Run one SQL file; rows as Python values with timestamps and dates as ISO strings."""
        path = self.resolve(path)
        df, spark_sql = self.dataframe(path)
        from pyspark.errors import PySparkException

        try:
            rows = [tuple(r) for r in normalized(df).collect()]
        except PySparkException as exc:
            raise SqlFileError(f"{_rel(path)}: Spark failed: {str(exc).strip().splitlines()[0]}") from None
        shown = rows if show is None else rows[:show]
        return QueryResult(path, spark_sql, list(df.columns), shown, len(rows))

    def resolve(self, path: Path | str) -> Path:
        return resolve_query(path, self.sql_dir)

    def named_queries(self) -> list[Path]:
        return sorted((self.sql_dir / "queries").glob("*.sql"))


def resolve_query(path: Path | str, sql_dir: Path = SQL_DIR) -> Path:
    """A path as given, or the name of a named query (`top_products_by_month`) or of an ops query
    (`recent_runs`, in sql/athena/ops/queries)."""
    p = Path(path)
    if p.is_file():
        return p
    for folder in ("queries", OPS_QUERIES):
        named = sql_dir / folder / (p.name if p.suffix == ".sql" else f"{p.name}.sql")
        if named.is_file():
            return named
    folders = f"{_rel(sql_dir / 'queries')} or {_rel(sql_dir / OPS_QUERIES)}"
    raise SqlFileError(f"{path}: no such SQL file (nor a query in {folders})")


TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss.SSSSSS"


def normalized(df):
    """Timestamps and dates as strings, so that results never depend on the Python process's time zone."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    cols = []
    for field in df.schema.fields:
        col = F.col(f"`{field.name}`")
        if isinstance(field.dataType, T.TimestampType | T.TimestampNTZType):
            col = F.date_format(col, TIMESTAMP_FORMAT)
        elif isinstance(field.dataType, T.DateType):
            col = col.cast("string")
        cols.append(col.alias(field.name))
    return df.select(*cols)


def format_table(columns: list[str], rows: list[tuple], total: int | None = None) -> str:
    """A plain text table, right-aligned numbers, with a row count line."""
    from decimal import Decimal

    def cell(v) -> str:
        return "NULL" if v is None else str(v)

    texts = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(t[i]) for t in texts)]) for i, c in enumerate(columns)]

    def is_number(v) -> bool:
        return v is None or (isinstance(v, int | float | Decimal) and not isinstance(v, bool))

    numeric = [bool(rows) and all(is_number(r[i]) for r in rows) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        return " | ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(columns), "-+-".join("-" * w for w in widths)]
    out += [line(t) for t in texts]
    total = len(rows) if total is None else total
    more = f", showing {len(rows)}" if total > len(rows) else ""
    out.append(f"({total} row{'s' if total != 1 else ''}{more})")
    return "\n".join(out)
