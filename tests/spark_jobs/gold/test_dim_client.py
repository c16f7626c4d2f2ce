"""dim_client built for a scope of clients equals the full build's rows of those clients."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from spark_jobs.gold import dim_client

CLIENTS = (
    "id int, first_name string, last_name string, email string, phone string, segment string, "
    "status string, created_at timestamp, valid_from timestamp, valid_to timestamp, is_current boolean"
)
ADDRESSES = (
    "id int, client_id int, city string, postal_code string, country string, is_primary int, "
    "created_at timestamp, valid_from timestamp, valid_to timestamp, is_current boolean"
)


def day(month: int, d: int = 1) -> dt.datetime:
    return dt.datetime(2026, month, d)


def test_an_address_moved_to_another_client_is_the_new_clients_in_a_scoped_build_too(spark):
    clients = spark.createDataFrame(
        [
            (11, "A", "B", "e1", None, "consumer", "active", day(1), day(1), day(4), False),
            (11, "A", "B", "e1", None, "vip", "active", day(1), day(4), None, True),
            (12, "C", "D", "e2", None, "consumer", "active", day(1), day(1), None, True),
        ],
        CLIENTS,
    )
    # Address 101 was client 11's primary one until it was given to client 12 on 20 February;
    # address 102 has been client 12's all along and is demoted then.
    addresses = spark.createDataFrame(
        [
            (101, 11, "Berlin", "10115", "DE", 1, day(1), day(1), day(2, 20), False),
            (101, 12, "Berlin", "10115", "DE", 1, day(1), day(2, 20), None, True),
            (102, 12, "Bonn", "53111", "DE", 1, day(1), day(1), day(2, 20), False),
            (102, 12, "Bonn", "53111", "DE", 0, day(1), day(2, 20), None, True),
        ],
        ADDRESSES,
    )
    full = dim_client.build(clients, addresses)
    for ids in ([11], [12], [11, 12]):
        scope = spark.createDataFrame([(i,) for i in ids], "client_id int")
        scoped = dim_client.build(clients, addresses, scope)
        expected = full.filter(full.client_id.isin(ids))
        assert_df_equality(scoped, expected, ignore_row_order=True, ignore_nullable=True)
    # As the full build has it: client 11 never had an address (101's latest version is 12's).
    assert {r["address_id"] for r in full.filter("client_id = 11").collect()} == {None}
