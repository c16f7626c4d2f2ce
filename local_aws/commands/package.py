"""`lakehouse package`: the deployable artifacts, exactly as CI uploads them.

    <out>/emr/         spark_jobs.zip, conf.zip, main.py  -> s3://<artifacts>/<prefix>/<git sha>/
    <out>/mwaa/dags/   the DAG, its helpers, conf/, spark_jobs/config.py, the constraints file
                                                       -> the MWAA environment's dags folder
    <out>/mwaa/requirements.txt                        -> the MWAA environment's requirements path

`--emr-only` builds the EMR artifacts alone (`make spark-zip`); they need no network, while the
MWAA constraints are derived from Airflow's official constraints file.

The DAG tests build the same bundle and run the DAG from it, so what is tested is what is deployed.
"""

from __future__ import annotations

import re
import shutil
import urllib.request
import zipfile
from pathlib import Path

from spark_jobs.config import REPO_ROOT

AIRFLOW_CONSTRAINTS_URL = (
    "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"
)
_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;#]+)")
_CONSTRAINT = re.compile(r"""^\s*--constraint\s+["']?([^"'\s]+)["']?""")


class PackageError(RuntimeError):
    """An input of the package is missing or unreadable; the message says which."""


def register(sub) -> None:
    p = sub.add_parser("package", help="build the EMR artifacts and the MWAA dags bundle into a folder")
    p.add_argument("--out", default="dist", help="output folder (default: dist)")
    p.add_argument(
        "--airflow-constraints",
        default=AIRFLOW_CONSTRAINTS_URL,
        help="official Airflow constraints file (path or URL) the MWAA constraints are derived from",
    )
    p.add_argument("--emr-only", action="store_true", help="build only <out>/emr (the Spark job artifacts)")
    p.set_defaults(func=run)


def run(args) -> int:
    out = Path(args.out)
    paths = build_emr_artifacts(out / "emr")
    if not args.emr_only:
        paths += build_mwaa_bundle(out / "mwaa", args.airflow_constraints)
    for path in paths:
        print(path)
    return 0


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[", maxsplit=1)[0]).lower()


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _zip(target: Path, files: list[tuple[Path, str]]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            # A fixed timestamp keeps the archive identical for identical sources.
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # rw-r--r-- when extracted, whoever built it
            zf.writestr(info, path.read_bytes())
    return target


def build_emr_artifacts(out: Path, repo: Path = REPO_ROOT) -> list[Path]:
    """spark_jobs.zip (with the pure-Python PyYAML the config loader needs), conf.zip, main.py."""
    import yaml

    package = repo / "spark_jobs"
    yaml_dir = Path(yaml.__file__).parent
    files = [(p, p.relative_to(repo).as_posix()) for p in _sources(package) if p.suffix == ".py"]
    # EMR's Python may lack PyYAML; its pure-Python implementation imports fine from the zip.
    files += [
        (p, f"yaml/{p.relative_to(yaml_dir).as_posix()}") for p in _sources(yaml_dir) if p.suffix == ".py"
    ]
    conf = repo / "conf"
    out.mkdir(parents=True, exist_ok=True)
    main = out / "main.py"
    shutil.copyfile(package / "main.py", main)
    return [
        _zip(out / "spark_jobs.zip", files),
        _zip(out / "conf.zip", [(p, p.relative_to(conf).as_posix()) for p in _sources(conf)]),
        main,
    ]


def requirement_pins(text: str) -> dict[str, str]:
    """`name==version` lines of a requirements or constraints file, by normalized name."""
    return {_normalize(m.group(1)): m.group(2) for line in text.splitlines() if (m := _PIN.match(line))}


def constraint_file_name(requirements: str) -> str:
    for line in requirements.splitlines():
        if m := _CONSTRAINT.match(line):
            return m.group(1).rsplit("/", 1)[-1]
    raise ValueError("dags/requirements.txt: no --constraint line (MWAA requires one)")


def rewrite_constraints(official: str, pins: dict[str, str]) -> str:
    """The official constraints with `pins` substituted (and appended when absent)."""
    seen = set()
    lines = []
    for line in official.splitlines():
        m = _PIN.match(line)
        name = _normalize(m.group(1)) if m else None
        if name in pins:
            seen.add(name)
            lines.append(f"{m.group(1)}=={pins[name]}")
        else:
            lines.append(line)
    lines += [f"{name}=={version}" for name, version in pins.items() if name not in seen]
    return "\n".join(lines) + "\n"


def _read_text(source: str) -> str:
    try:
        if source.startswith(("https://", "http://")):
            with urllib.request.urlopen(source, timeout=60) as resp:
                return resp.read().decode()
        return Path(source).read_text()
    except OSError as exc:  # URLError is an OSError
        raise PackageError(
            f"cannot read the Airflow constraints {source}: {exc}; pass --airflow-constraints FILE"
        ) from None


def build_mwaa_bundle(out: Path, airflow_constraints: str, repo: Path = REPO_ROOT) -> list[Path]:
    """The MWAA dags folder (DAG, helpers, conf/, spark_jobs/config.py, constraints) and requirements."""
    dags = out / "dags"
    if dags.exists():
        shutil.rmtree(dags)
    skip = {"README.md", "requirements.txt"}
    copies = [(p, dags / p.relative_to(repo / "dags")) for p in _sources(repo / "dags") if p.name not in skip]
    copies += [(p, dags / "conf" / p.relative_to(repo / "conf")) for p in _sources(repo / "conf")]
    copies += [(repo / "spark_jobs" / n, dags / "spark_jobs" / n) for n in ("__init__.py", "config.py")]
    for src, dst in copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    requirements_text = (repo / "dags" / "requirements.txt").read_text()
    requirements = out / "requirements.txt"
    requirements.write_text(requirements_text)
    constraints = dags / constraint_file_name(requirements_text)
    constraints.write_text(
        rewrite_constraints(_read_text(airflow_constraints), requirement_pins(requirements_text))
    )
    return [dags, requirements]
