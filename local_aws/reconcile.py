"""Reconciliation: the lake proven against the source database.

- silver: every silver table (and the current rows of each SCD2 history) equals its MySQL table
  row by row, PII compared hashed with the same salt and rule as silver (spark_jobs.secrets,
  transforms.silver.hash_pii).
- gold: each model equals a truth computed by SQL on MySQL (sql/mysql/truths/<model>.sql), the
  surrogate keys of the facts point at dimension rows of the same business key, and every named
  Athena query (sql/athena/queries/) returns what its MySQL twin (sql/mysql/queries/) returns.

Source rows come through pymysql, lake rows through Spark; the comparison is a keyed dictionary
compare in Python, which names the keys that differ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pymysql

from spark_jobs.config import REPO_ROOT, Config, Table

MYSQL_SQL_DIR = REPO_ROOT / "sql" / "mysql"
LAYERS = ("silver", "gold")
SAMPLES = 5
# Named queries round shares and averages to 2 decimals; Trino/Spark (double) and MySQL (exact
# decimal) may round a boundary value differently, by one unit of the last place.
QUERY_TOLERANCE = 0.0100001


@dataclass(frozen=True)
class GoldCheck:
    model: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]
    where: str | None = None  # filter on the gold side (e.g. the current rows of an SCD2 dimension)


# What each gold model must hold; the truth files return keys + columns in this order.
GOLD_CHECKS = (
    GoldCheck("agg_daily_sales", ("sale_date",), ("sales_count", "item_count", "quantity", "revenue")),
    GoldCheck("agg_product_month", ("product_id", "month"), ("quantity", "revenue", "sales_count")),
    GoldCheck("agg_sales_person_month", ("sales_person_id", "month"), ("sales_count", "revenue")),
    GoldCheck(
        "agg_client_lifetime",
        ("client_id",),
        ("first_sale_at", "last_sale_at", "sales_count", "revenue"),
        where="sales_count > 0",
    ),
    GoldCheck(
        "fact_sales",
        ("sale_id",),
        (
            "date_key",
            "sold_at",
            "client_id",
            "sales_person_id",
            "status",
            "item_count",
            "total_quantity",
            "total_amount",
            "recorded_total",
        ),
    ),  # fmt: skip
    GoldCheck(
        "fact_sales_item",
        ("sales_item_id",),
        (
            "sale_id",
            "date_key",
            "sold_at",
            "client_id",
            "product_id",
            "sales_person_id",
            "sale_status",
            "quantity",
            "unit_price",
            "line_amount",
        ),
    ),  # fmt: skip
    GoldCheck(
        "dim_client",
        ("client_id",),
        ("segment", "status", "address_id", "city", "postal_code", "country"),
        where="is_current",
    ),
    GoldCheck(
        "dim_product",
        ("product_id",),
        ("sku", "name", "category", "unit_price", "status"),
        where="is_current",
    ),
    GoldCheck("dim_sales_person", ("sales_person_id",), ("region", "hired_on", "commission_rate")),
)

# Surrogate keys: every fact row's dimension row exists and carries the fact's business key.
SURROGATE_CHECKS = (
    ("fact_sales.client_sk", "fact_sales", "sale_id", "client_sk", "dim_client", "client_sk", "client_id"),
    ("fact_sales_item.client_sk", "fact_sales_item", "sales_item_id", "client_sk", "dim_client", "client_sk",
     "client_id"),
    ("fact_sales_item.product_sk", "fact_sales_item", "sales_item_id", "product_sk", "dim_product",
     "product_sk", "product_id"),
)  # fmt: skip


@dataclass
class CheckResult:
    layer: str
    name: str
    expected_rows: int = 0
    actual_rows: int = 0
    missing: list = field(default_factory=list)  # keys in the truth, not in the lake
    extra: list = field(default_factory=list)  # keys in the lake, not in the truth
    different: list = field(default_factory=list)  # (key, {column: (truth, lake)})
    error: str | None = None
    missing_count: int = 0
    extra_count: int = 0
    different_count: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not (self.missing_count or self.extra_count or self.different_count)

    def describe(self) -> list[str]:
        """What differs, a few samples of each kind."""
        if self.error:
            return [f"{self.layer}/{self.name}: {self.error}"]
        lines, where = [], f"{self.layer}/{self.name}"
        if self.missing_count:
            lines.append(f"{where}: {self.missing_count} missing in the lake, e.g. {self.missing}")
        if self.extra_count:
            lines.append(f"{where}: {self.extra_count} not in the source, e.g. {self.extra}")
        for key, cols in self.different:
            diffs = ", ".join(f"{c}: source {a!r} != lake {b!r}" for c, (a, b) in cols.items())
            lines.append(f"{self.layer}/{self.name}: key {key}: {diffs}")
        if self.different_count > len(self.different):
            lines.append(f"{self.layer}/{self.name}: ... {self.different_count} rows differ in all")
        return lines


@dataclass
class ReconcileResult:
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def check(self, layer: str, name: str) -> CheckResult:
        return next(c for c in self.checks if c.layer == layer and c.name == name)

    def table(self) -> str:
        head = (
            f"{'layer':<7} {'check':<36} {'source':>9} {'lake':>9} {'missing':>8} {'extra':>7} "
            f"{'differ':>7} {'seconds':>8}  result"
        )
        lines = [head, "-" * len(head)]
        for c in self.checks:
            result = "ok" if c.ok else ("ERROR" if c.error else "DIFF")
            lines.append(
                f"{c.layer:<7} {c.name:<36} {c.expected_rows:>9} {c.actual_rows:>9} {c.missing_count:>8} "
                f"{c.extra_count:>7} {c.different_count:>7} {c.seconds:>8.1f}  {result}"
            )
        return "\n".join(lines)


# --- values ----------------------------------------------------------------------------------


def normalize(value):
    """One comparable form for MySQL and Spark values: datetimes and dates as ISO strings."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return value


def same(a, b, tolerance: float = 0.0) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float | Decimal) or not isinstance(b, int | float | Decimal):
            return False
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=max(tolerance, 1e-9))
    if tolerance and isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return abs(Decimal(a) - Decimal(b)) <= Decimal(str(tolerance))
    return a == b


def pii_hash(salt: str, value) -> str | None:
    """Silver's rule (transforms.silver.hash_pii): hex SHA-256 of salt || the value as a string."""
    if value is None:
        return None
    return hashlib.sha256((salt + str(value)).encode()).hexdigest()


def compare_keyed(
    layer: str,
    name: str,
    keys: Iterable[str],
    columns: Iterable[str],
    truth: list[dict],
    lake: list[dict],
    tolerance: float = 0.0,
) -> CheckResult:
    """Rows compared by key: missing, extra (or duplicated) and different rows, with samples."""
    keys, columns = list(keys), list(columns)
    result = CheckResult(layer, name, expected_rows=len(truth), actual_rows=len(lake))

    def index(rows: list[dict]) -> tuple[dict, list]:
        out, dups = {}, []
        for r in rows:
            k = tuple(normalize(r[c]) for c in keys)
            if k in out:
                dups.append(k)
            out[k] = r
        return out, dups

    want, _ = index(truth)
    got, dups = index(lake)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want] + [("duplicate", *k) for k in dups]
    result.missing_count, result.missing = len(missing), [_key(k) for k in sorted(missing)[:SAMPLES]]
    result.extra_count, result.extra = len(extra), [_key(k) for k in sorted(extra, key=str)[:SAMPLES]]
    for k, w in want.items():
        g = got.get(k)
        if g is None:
            continue
        diffs = {
            c: (normalize(w[c]), normalize(g[c]))
            for c in columns
            if not same(normalize(w[c]), normalize(g[c]), tolerance)
        }
        if diffs:
            result.different_count += 1
            if len(result.different) < SAMPLES:
                result.different.append((_key(k), diffs))
    return result


def compare_unkeyed(
    layer: str, name: str, truth: list[tuple], lake: list[tuple], tolerance: float
) -> CheckResult:
    """Two query answers compared as sorted lists of rows (row order is the query's business)."""
    result = CheckResult(layer, name, expected_rows=len(truth), actual_rows=len(lake))

    want = sorted((tuple(normalize(v) for v in r) for r in truth), key=_sortable)
    got = sorted((tuple(normalize(v) for v in r) for r in lake), key=_sortable)
    if len(want) != len(got):
        extra = [r for r in got if r not in want]
        missing = [r for r in want if r not in got]
        result.missing_count, result.missing = len(missing), missing[:SAMPLES]
        result.extra_count, result.extra = len(extra), extra[:SAMPLES]
        return result
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        if len(w) != len(g):
            result.error = f"the twin returns {len(w)} columns, the query {len(g)}"
            return result
        pairs = enumerate(zip(w, g, strict=True), start=1)
        diffs = {f"col{j}": (a, b) for j, (a, b) in pairs if not same(a, b, tolerance)}
        if diffs:
            result.different_count += 1
            if len(result.different) < SAMPLES:
                result.different.append((f"row {i + 1} {w}", diffs))
    return result


def _sortable(row: tuple) -> tuple:
    # Numbers of either engine sort together (Decimal vs float), None first, then strings.
    out = []
    for v in row:
        if v is None:
            out.append((0, 0, ""))
        elif isinstance(v, int | float | Decimal) and not isinstance(v, bool):
            out.append((1, round(float(v), 6), ""))
        else:
            out.append((2, 0, str(v)))
    return tuple(out)


def _key(k: tuple):
    return k[0] if len(k) == 1 else k


# --- sources -----------------------------------------------------------------------------------


def mysql_rows(conn, sql: str) -> tuple[list[str], list[tuple]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        columns = [d[0] for d in cur.description]
        return columns, list(cur.fetchall())


def _dicts(columns: list[str], rows: list[tuple]) -> list[dict]:
    return [dict(zip(columns, r, strict=True)) for r in rows]


def lake_rows(spark, path: str, columns: list[str], where: str | None = None) -> list[dict]:
    from local_aws.athena import normalized
    from spark_jobs import delta_io

    df = delta_io.read(spark, path)
    if where:
        df = df.filter(where)
    return [r.asDict() for r in normalized(df.select(*columns)).collect()]


def read_sql(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such SQL file")
    return path.read_text()


# --- checks ------------------------------------------------------------------------------------


def check_silver_table(spark, cfg: Config, conn, table: Table, salt: str) -> list[CheckResult]:
    from spark_jobs import delta_io

    cols = list(table.column_names)
    select = ", ".join(f"`{c}`" for c in cols)
    _, rows = mysql_rows(conn, f"SELECT {select} FROM `{table.name}`")
    pii = {cols.index(c) for c in table.pii}
    truth = [{c: (pii_hash(salt, v) if i in pii else v) for i, (c, v) in enumerate(zip(cols, r, strict=True))}
             for r in rows]  # fmt: skip
    results = []
    targets = [(table.name, table.name, None)]
    if table.scd == 2:
        targets.append((f"{table.name}_history (current)", f"{table.name}_history", "is_current"))
    for name, folder, where in targets:
        path = cfg.env.table_path("silver", folder)
        if not delta_io.exists(spark, path):
            missing = CheckResult("silver", name, expected_rows=len(truth), error=f"no Delta table at {path}")
            results.append(missing)
            continue
        lake = lake_rows(spark, path, cols, where)
        results.append(compare_keyed("silver", name, table.primary_key, cols, truth, lake))
    return results


def check_gold_model(spark, cfg: Config, conn, check: GoldCheck, sql_dir: Path) -> CheckResult:
    from spark_jobs import delta_io

    truth_file = sql_dir / "truths" / f"{check.model}.sql"
    try:
        columns, rows = mysql_rows(conn, read_sql(truth_file))
    except (OSError, pymysql.MySQLError) as exc:
        return CheckResult("gold", check.model, error=f"{truth_file}: {exc}")
    wanted = [*check.keys, *check.columns]
    if columns != wanted:
        return CheckResult("gold", check.model, error=f"{truth_file} returns {columns}, expected {wanted}")
    path = cfg.env.table_path("gold", check.model)
    if not delta_io.exists(spark, path):
        return CheckResult("gold", check.model, expected_rows=len(rows), error=f"no Delta table at {path}")
    try:
        lake = lake_rows(spark, path, wanted, check.where)
    except Exception as exc:  # a column the contract names is missing: say which
        message = str(exc).strip().splitlines()[0]
        return CheckResult("gold", check.model, expected_rows=len(rows), error=message)
    return compare_keyed("gold", check.model, check.keys, check.columns, _dicts(columns, rows), lake)


def check_surrogate_key(spark, cfg: Config, spec: tuple) -> CheckResult:
    from pyspark.sql import functions as F

    from spark_jobs import delta_io

    name, fact, fact_key, sk, dim, dim_sk, business_key = spec
    fact_path, dim_path = cfg.env.table_path("gold", fact), cfg.env.table_path("gold", dim)
    for path in (fact_path, dim_path):
        if not delta_io.exists(spark, path):
            return CheckResult("gold", name, error=f"no Delta table at {path}")
    f = delta_io.read(spark, fact_path).select(fact_key, sk, business_key)
    d = delta_io.read(spark, dim_path).select(
        F.col(dim_sk).alias("_dim_sk"), F.col(business_key).alias("_dim_bk")
    )
    joined = f.join(d, F.col(sk) == F.col("_dim_sk"), how="left")
    bad = joined.filter(f"_dim_bk IS NULL OR _dim_bk <> {business_key}").select(fact_key, sk).collect()
    n = f.count()
    result = CheckResult("gold", name, expected_rows=n, actual_rows=n - len(bad))
    result.different_count = len(bad)
    result.different = [(r[0], {sk: ("a row of the same " + business_key, r[1])}) for r in bad[:SAMPLES]]
    return result


def check_named_query(spark, cfg: Config, conn, athena, query: Path, sql_dir: Path) -> CheckResult:
    from local_aws.athena import SqlFileError

    twin = sql_dir / "queries" / query.name
    name = f"query {query.stem}"
    if not twin.is_file():
        return CheckResult("gold", name, error=f"no MySQL twin {twin}")
    try:
        got = athena.run(query)
    except SqlFileError as exc:
        return CheckResult("gold", name, error=str(exc))
    try:
        columns, rows = mysql_rows(conn, read_sql(twin))
    except pymysql.MySQLError as exc:
        return CheckResult("gold", name, error=f"{twin}: {exc}")
    if [c.lower() for c in columns] != [c.lower() for c in got.columns]:
        return CheckResult("gold", name, error=f"columns differ: twin {columns}, query {got.columns}")
    return compare_unkeyed("gold", name, rows, got.rows, QUERY_TOLERANCE)


def reconcile(
    spark,
    cfg: Config,
    source,
    layers: Iterable[str] = LAYERS,
    salt: str | None = None,
    athena_sql_dir: Path | None = None,
    mysql_sql_dir: Path = MYSQL_SQL_DIR,
    progress=None,
) -> ReconcileResult:
    """Compare the lake's silver and/or gold with the source database; `source.connect()` gives pymysql.

    `source` is a SourceSettings (or anything with `.database` and `.connect(**kwargs)`).
    """
    layers = list(layers)
    unknown = [x for x in layers if x not in LAYERS]
    if unknown:
        raise ValueError(f"--layers: unknown layer(s) {unknown}; choose from {', '.join(LAYERS)}")
    say = progress or (lambda _msg: None)
    checks: list[CheckResult] = []

    def timed(run) -> list[CheckResult]:
        start = time.monotonic()
        out = run()
        out = out if isinstance(out, list) else [out]
        for c in out:
            c.seconds = (time.monotonic() - start) / len(out)
        return out

    # One consistent snapshot of the source for every truth, however long the checks take.
    conn = source.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE `{source.database}`")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        if "silver" in layers:
            if salt is None:
                from spark_jobs.secrets import pii_salt

                salt = pii_salt(cfg)
            for table in cfg.tables.values():
                say(f"silver {table.name}")
                checks += timed(lambda t=table: check_silver_table(spark, cfg, conn, t, salt))
        if "gold" in layers:
            from local_aws.athena import SQL_DIR, LocalAthena

            for check in GOLD_CHECKS:
                say(f"gold {check.model}")
                checks += timed(lambda c=check: check_gold_model(spark, cfg, conn, c, mysql_sql_dir))
            for spec in SURROGATE_CHECKS:
                say(f"gold {spec[0]}")
                checks += timed(lambda s=spec: check_surrogate_key(spark, cfg, s))
            athena = LocalAthena(spark, cfg, athena_sql_dir or SQL_DIR)
            for query in athena.named_queries():
                say(f"query {query.stem}")
                checks += timed(lambda q=query: check_named_query(spark, cfg, conn, athena, q, mysql_sql_dir))
        conn.rollback()
    finally:
        conn.close()
    return ReconcileResult(checks)
