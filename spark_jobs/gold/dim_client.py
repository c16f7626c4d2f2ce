"""dim_client: one version of a client with the primary address valid at that time (SCD2).

A version starts whenever the client row changes (silver's clients history) or the client's
primary address changes (silver's client_addresses history, rows with is_primary = 1): the
versions are the intervals between those instants, within the client's own lifetime.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_jobs.gold.common import IS_CURRENT, VALID_FROM, VALID_TO, reach_back, restrict, surrogate_key

CLIENT_COLUMNS = ("first_name", "last_name", "email", "phone", "segment", "status")
ADDRESS_COLUMNS = ("city", "postal_code", "country")


def _primary_intervals(addresses_history: DataFrame) -> DataFrame:
    """When each address was its client's primary one: from its creation until it was demoted
    (the first version with is_primary = 0; a move stamps updated_at on the old address) or
    deleted. Derived from the address's own lifecycle, so an address demoted before the first
    full load still has its primary years. City, postal code and country: the latest version's."""
    per_address = Window.partitionBy("id").orderBy(F.col(VALID_FROM).desc())
    latest = addresses_history.withColumn("_rn", F.row_number().over(per_address)).filter("_rn = 1")
    spans = addresses_history.groupBy("id").agg(
        F.min("created_at").alias("_a_from"),
        F.min(F.when(F.col("is_primary") == 0, F.col(VALID_FROM))).alias("_demoted"),
        F.max(F.col(IS_CURRENT).cast("int")).alias("_alive"),
        F.max(VALID_TO).alias("_last_to"),
    )
    return latest.join(spans, on="id").select(
        "client_id",
        F.col("id").alias("address_id"),
        *ADDRESS_COLUMNS,
        "_a_from",
        F.coalesce(F.col("_demoted"), F.when(F.col("_alive") == 0, F.col("_last_to"))).alias("_a_to"),
    )


def build(
    clients_history: DataFrame, addresses_history: DataFrame, scope: DataFrame | None = None
) -> DataFrame:
    clients = restrict(clients_history.withColumnRenamed("id", "client_id"), scope)
    clients = reach_back(clients, "client_id")
    # Every version of an address that ever belonged to a client in scope (one moved to another
    # client is the new client's, by its latest version, as in a rebuild), then those of the
    # scope's clients.
    addresses = addresses_history
    if scope is not None:
        ever = restrict(addresses_history, scope).select("id").distinct()
        addresses = addresses_history.join(ever, on="id", how="left_semi")
    primary = restrict(_primary_intervals(addresses), scope)
    life = clients.groupBy("client_id").agg(
        F.min(VALID_FROM).alias("_start"),
        # A client whose last version is closed was deleted then; otherwise it is still alive.
        F.when(F.max(F.col(IS_CURRENT).cast("int")) == 1, F.lit(None))
        .otherwise(F.max(VALID_TO))
        .alias("_end"),
    )
    instants = (
        clients.select("client_id", F.col(VALID_FROM).alias("_b"))
        .unionByName(primary.select("client_id", F.col("_a_from").alias("_b")))
        .unionByName(
            primary.filter(F.col("_a_to").isNotNull()).select("client_id", F.col("_a_to").alias("_b"))
        )
        .join(life, on="client_id")
        .filter((F.col("_b") >= F.col("_start")) & (F.col("_end").isNull() | (F.col("_b") < F.col("_end"))))
        .select("client_id", "_b", "_end")
        .distinct()
    )
    timeline = Window.partitionBy("client_id").orderBy("_b")
    versions = instants.withColumn("_to", F.coalesce(F.lead("_b").over(timeline), F.col("_end")))

    c = clients.select(
        "client_id", *CLIENT_COLUMNS, F.col(VALID_FROM).alias("_c_from"), F.col(VALID_TO).alias("_c_to")
    )
    with_client = versions.join(c, on="client_id").filter(
        (F.col("_c_from") <= F.col("_b")) & (F.col("_c_to").isNull() | (F.col("_b") < F.col("_c_to")))
    )
    addresses = primary.withColumnRenamed("client_id", "_a_client")
    at_instant = (
        (F.col("_a_client") == F.col("client_id"))
        & (F.col("_a_from") <= F.col("_b"))
        & (F.col("_a_to").isNull() | (F.col("_b") < F.col("_a_to")))
    )
    joined = with_client.join(addresses, at_instant, how="left").drop("_a_client")
    # Two addresses primary at once (a move recorded out of order): the newer one wins.
    pick = Window.partitionBy("client_id", "_b").orderBy(
        F.col("_a_from").desc_nulls_last(), F.col("address_id").desc()
    )
    joined = joined.withColumn("_rn", F.row_number().over(pick)).filter("_rn = 1")
    return joined.select(
        surrogate_key("client_id", "_b").alias("client_sk"),
        "client_id",
        *CLIENT_COLUMNS,
        "address_id",
        *ADDRESS_COLUMNS,
        F.col("_b").alias(VALID_FROM),
        F.col("_to").alias(VALID_TO),
        F.col("_to").isNull().alias(IS_CURRENT),
    )
