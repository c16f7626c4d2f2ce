"""The replicator writing to S3 (moto on 127.0.0.1): same files, same checkpoint discipline."""

from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local_aws.mariadb import free_port
from local_aws.replicator.oracle import replay
from local_aws.replicator.storage import TargetError
from tests.local_aws.replicator.sourcedb import (
    activity,
    assert_replica_equals_source,
    cli_env,
    replicate,
    run_cli,
    seed,
)

BUCKET = "lake-raw"


@pytest.fixture(scope="module")
def moto_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_full_load_and_cdc_to_s3_replay_to_the_source(cfg, source, s3):
    target = f"s3://{BUCKET}/raw"
    seed(source, cfg, rows_per_table=10)
    replicate(cfg, source, target)
    activity(source, cfg, transactions=15, seed_value=31)

    # The CDC run goes through the CLI, configured only by the environment and --target.
    done = run_cli("--target", target, env=cli_env(source))
    assert done.returncode == 0, done.stderr

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["Contents"]]
    assert "raw/_replicator/checkpoint.json" in keys
    assert "raw/salesdb/clients/LOAD00000001.parquet" in keys
    assert any(k.startswith("raw/salesdb/") and not k.split("/")[-1].startswith("LOAD") for k in keys)
    assert not any(k.endswith(".tmp") for k in keys)
    assert_replica_equals_source(target, source, cfg)
    assert replay(target, cfg)["clients"]  # the oracle reads s3:// too


def test_missing_bucket_is_named(cfg, source, s3):
    with pytest.raises(TargetError, match="bucket no-such-bucket is not usable"):
        replicate(cfg, source, "s3://no-such-bucket/raw")
