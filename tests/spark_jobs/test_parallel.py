"""`table_parallelism`: how many tables a layer writes at once, from the environment settings."""

from types import SimpleNamespace

import pytest

from spark_jobs.config import Environment
from spark_jobs.parallel import table_parallelism


def _cfg(spark_settings):
    return SimpleNamespace(
        env=Environment(name="test", root="lake", paths={}, settings={"spark": spark_settings})
    )


def test_default_is_three():
    assert table_parallelism(_cfg({})) == 3


def test_setting_is_read_and_never_below_one():
    assert table_parallelism(_cfg({"table_parallelism": "2"})) == 2
    assert table_parallelism(_cfg({"table_parallelism": 0})) == 1


def test_bad_value_names_the_setting():
    with pytest.raises(ValueError, match="spark.table_parallelism"):
        table_parallelism(_cfg({"table_parallelism": "many"}))
