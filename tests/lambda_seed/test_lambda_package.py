"""`make lambda-zip`: the same bytes from the same sources, and the handler runs from the zip alone."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from lambda_seed.core import META_DB
from spark_jobs.config import DEFAULT_CONF_DIR
from tests.lambda_seed.conftest import drop_database, self_signed

REPO = DEFAULT_CONF_DIR.parent

# Runs with no site-packages (-S) and no environment paths (-I): only the stdlib and the zip.
RUN_FROM_ZIP = """
import json, sys
sys.path.insert(0, sys.argv[1])
import pymysql
from lambda_seed.handler import handler
assert pymysql.__file__.startswith(sys.argv[1]), pymysql.__file__
result = handler(json.loads(sys.argv[2]), None)
print(json.dumps({"pymysql": pymysql.__file__, "tables": result["tables"], "setup": result["setup"]}))
"""


def _build(dist, *args: str) -> bytes:
    subprocess.run(
        [sys.executable, "build/lambda_package.py", str(dist), *args],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return (dist / "lambda_seed.zip").read_bytes()


def test_package_is_reproducible_and_complete(tmp_path):
    first = _build(tmp_path / "a")
    # A stray bytecode cache next to the sources must not change the package.
    (REPO / "lambda_seed" / "__pycache__").mkdir(exist_ok=True)
    assert _build(tmp_path / "b") == first
    with zipfile.ZipFile(tmp_path / "a" / "lambda_seed.zip") as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert {"lambda_seed/handler.py", "lambda_seed/core.py", "pymysql/__init__.py"} <= set(names)
    assert "pymysql-1.2.4.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/")]
    # Only the handler's own package and pymysql: nothing else of the repository or the venv.
    assert {n.split("/")[0] for n in names} == {"lambda_seed", "pymysql", "pymysql-1.2.4.dist-info"}


def test_handler_runs_from_the_zip_alone(tmp_path, mysql):
    _build(tmp_path)
    package = tmp_path / "lambda_seed.zip"
    database = f"seedzip_{os.getpid()}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAKEHOUSE_MYSQL_HOST": mysql.host,
        "LAKEHOUSE_MYSQL_PORT": str(mysql.port),
        "LAKEHOUSE_MYSQL_USER": mysql.user,
        "LAKEHOUSE_MYSQL_PASSWORD": mysql.password,
        "LAKEHOUSE_MYSQL_DATABASE": database,
    }
    event = {"mode": "init", "scale": 0.005, "seed": 8}
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUN_FROM_ZIP, str(package), json.dumps(event)],
            cwd=tmp_path,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        conn = mysql.connect(database=database, autocommit=True)
        with conn, conn.cursor() as cur:
            for table, stats in out["tables"].items():
                cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                assert cur.fetchone()[0] == stats["rows"] > 0, table
            cur.execute(f"SELECT mode FROM `{META_DB}`.runs WHERE database_name = %s", (database,))
            assert cur.fetchall() == (("init",),)
    finally:
        drop_database(mysql, database)


def test_make_lambda_zip_ships_the_rds_ca_bundle_it_is_given(tmp_path):
    self_signed(tmp_path, "global-")
    bundle = tmp_path / "global-cert.pem"
    dist = tmp_path / "dist"
    subprocess.run(
        ["make", "-s", "lambda-zip", f"RDS_CA_BUNDLE={bundle}", f"DIST={dist}"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(dist / "lambda_seed.zip") as zf:
        # At the package root, under the name Terraform's DB_TLS_CA gives (terraform/modules/lambda).
        assert zf.read("rds-ca-bundle.pem") == bundle.read_bytes()
        assert zf.getinfo("rds-ca-bundle.pem").external_attr >> 16 == 0o644
    without = _build(tmp_path / "plain")
    assert "rds-ca-bundle.pem" not in zipfile.ZipFile(io.BytesIO(without)).namelist()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("not a certificate\n", "holds no PEM certificate"),
        ("", "holds no PEM certificate"),
    ],
)
def test_a_bad_ca_bundle_is_refused_naming_the_file(tmp_path, content, problem):
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_text(content)
    proc = subprocess.run(
        [sys.executable, "build/lambda_package.py", str(tmp_path / "dist"), "--ca-bundle", str(bundle)],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert f"lambda-zip: error: CA bundle {bundle}: {problem}" in proc.stderr, proc.stderr
    assert not (tmp_path / "dist" / "lambda_seed.zip").exists()
