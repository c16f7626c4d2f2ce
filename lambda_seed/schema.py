"""The `salesdb` schema as the OLTP application defines it.

conf/tables.yaml describes this schema for the lakehouse; the Lambda cannot read YAML (its package
holds only this package and pymysql), so the DDL lives here and a test proves the two are equal
against information_schema.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type and nullability)
    indexes: tuple[str, ...] = ()  # index clauses besides the primary key
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, ref table, ref column)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def column_type(self, name: str) -> str:
        return dict(self.columns)[name]


# Maintained by the application on every change, so a row edited by hand still moves forward in
# time; the generator always sets it explicitly to simulated business time.
_CREATED = ("created_at", "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)")
_UPDATED = (
    "updated_at",
    "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
)

# In foreign-key order: a table only references tables before it.
TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "sales_people",
        (
            ("id", "INT NOT NULL"),
            ("first_name", "VARCHAR(60) NOT NULL"),
            ("last_name", "VARCHAR(60) NOT NULL"),
            ("email", "VARCHAR(120) NOT NULL"),
            ("region", "VARCHAR(40) NOT NULL"),
            ("hired_on", "DATE NOT NULL"),
            ("commission_rate", "DECIMAL(5,4) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        ("UNIQUE KEY uq_sales_people_email (email)", "KEY ix_sales_people_region (region)"),
    ),
    TableSpec(
        "clients",
        (
            ("id", "INT NOT NULL"),
            ("first_name", "VARCHAR(60) NOT NULL"),
            ("last_name", "VARCHAR(60) NOT NULL"),
            ("email", "VARCHAR(120) NOT NULL"),
            ("phone", "VARCHAR(30) NULL"),
            ("segment", "VARCHAR(20) NOT NULL"),
            ("status", "VARCHAR(20) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        ("UNIQUE KEY uq_clients_email (email)", "KEY ix_clients_segment_status (segment, status)"),
    ),
    TableSpec(
        "client_addresses",
        (
            ("id", "INT NOT NULL"),
            ("client_id", "INT NOT NULL"),
            ("street", "VARCHAR(120) NOT NULL"),
            ("city", "VARCHAR(60) NOT NULL"),
            ("postal_code", "VARCHAR(12) NOT NULL"),
            ("country", "CHAR(2) NOT NULL"),
            ("is_primary", "TINYINT(1) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        ("KEY ix_client_addresses_client (client_id, is_primary)",),
        (("client_id", "clients", "id"),),
    ),
    TableSpec(
        "products",
        (
            ("id", "INT NOT NULL"),
            ("sku", "VARCHAR(20) NOT NULL"),
            ("name", "VARCHAR(120) NOT NULL"),
            ("category", "VARCHAR(40) NOT NULL"),
            ("unit_price", "DECIMAL(10,2) NOT NULL"),
            ("status", "VARCHAR(20) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        ("UNIQUE KEY uq_products_sku (sku)", "KEY ix_products_category (category)"),
    ),
    TableSpec(
        "sales",
        (
            ("id", "INT NOT NULL"),
            ("client_id", "INT NOT NULL"),
            ("sales_person_id", "INT NOT NULL"),
            ("sold_at", "DATETIME(6) NOT NULL"),
            ("status", "VARCHAR(20) NOT NULL"),
            ("total_amount", "DECIMAL(12,2) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        (
            "KEY ix_sales_client (client_id)",
            "KEY ix_sales_sales_person (sales_person_id)",
            "KEY ix_sales_sold_at (sold_at)",
            "KEY ix_sales_status (status)",
        ),
        (("client_id", "clients", "id"), ("sales_person_id", "sales_people", "id")),
    ),
    TableSpec(
        "sales_items",
        (
            ("id", "INT NOT NULL"),
            ("sale_id", "INT NOT NULL"),
            ("product_id", "INT NOT NULL"),
            ("quantity", "INT NOT NULL"),
            ("unit_price", "DECIMAL(10,2) NOT NULL"),
            ("line_amount", "DECIMAL(12,2) NOT NULL"),
            _CREATED,
            _UPDATED,
        ),
        ("KEY ix_sales_items_sale (sale_id)", "KEY ix_sales_items_product (product_id)"),
        (("sale_id", "sales", "id"), ("product_id", "products", "id")),
    ),
)

TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)
BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def create_table_sql(spec: TableSpec) -> str:
    """CREATE TABLE IF NOT EXISTS for one table (idempotent)."""
    lines = [f"  `{name}` {sqltype}" for name, sqltype in spec.columns]
    lines.append("  PRIMARY KEY (`id`)")
    lines += [f"  {index}" for index in spec.indexes]
    # No ON DELETE CASCADE: cascaded deletes never reach the binlog, so CDC would miss them.
    # The application deletes children first, explicitly.
    lines += [
        f"  CONSTRAINT fk_{spec.name}_{col} FOREIGN KEY (`{col}`) REFERENCES `{ref}` (`{ref_col}`)"
        for col, ref, ref_col in spec.foreign_keys
    ]
    body = ",\n".join(lines)
    return (
        f"CREATE TABLE IF NOT EXISTS `{spec.name}` (\n{body}\n) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
    )


def create_schema(cur) -> None:
    """Create the six tables in the current database where they do not exist yet."""
    for spec in TABLES:
        cur.execute(create_table_sql(spec))


def drop_schema(cur) -> None:
    """Drop the six tables, children first."""
    for spec in reversed(TABLES):
        cur.execute(f"DROP TABLE IF EXISTS `{spec.name}`")
