"""Which facts a dimension's version change can move (pure Python, no Spark)."""

from __future__ import annotations

import datetime as dt

from spark_jobs.gold.common import version_change_bounds

T0, T1, T2, T3 = (dt.datetime(2026, 1, d) for d in (1, 5, 10, 20))


def test_a_new_version_moves_only_the_facts_from_its_start():
    assert version_change_bounds({7: {T0, T1}}, {7: {T0, T1, T2}}) == {7: T2}


def test_attribute_changes_without_new_starts_move_nothing():
    assert version_change_bounds({7: {T0, T1}}, {7: {T0, T1}}) == {}


def test_a_version_replaced_moves_from_the_earlier_of_the_two_starts():
    assert version_change_bounds({7: {T0, T2}}, {7: {T0, T1}}) == {7: T1}


def test_a_changed_earliest_version_moves_every_fact_of_the_key():
    # Facts older than every version follow the earliest one, so all of them may move.
    assert version_change_bounds({7: {T1, T2}}, {7: {T0, T1, T2}}) == {7: None}
    assert version_change_bounds({7: {T0, T2}}, {7: {T1, T2}}) == {7: None}


def test_new_and_vanished_keys_move_every_fact():
    assert version_change_bounds({}, {8: {T3}}) == {8: None}
    assert version_change_bounds({9: {T0}}, {}) == {9: None}


def test_each_key_is_bounded_on_its_own():
    old = {1: {T0}, 2: {T0, T1}, 3: {T0}}
    new = {1: {T0, T3}, 2: {T0, T1}, 3: {T0, T2, T3}}
    assert version_change_bounds(old, new) == {1: T3, 3: T2}
