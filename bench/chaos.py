"""Fault trials: the pipeline killed, fed duplicates and garbage, run twice at once; it must converge.

`make chaos` (CHAOS_TRIALS, default 20). One private lake and MariaDB, seeded and loaded once;
then each trial applies one business period at the source, injects one fault, reruns
(replicate, then every layer) and ends with reconciliation: `lakehouse reconcile` when the CLI
has it (else silver compared with MySQL key by key, bench/lakelab.py), plus a check that no
delivered row is in bronze twice. The faults:
  kill:<stage>     SIGKILL of the process group at a random moment of `replicate`, `run --layers
                   bronze|silver|gold`, or at a named crash point (LAKEHOUSE_CRASH_AT for the Spark
                   jobs, LAKEHOUSE_REPLICATOR_CRASH_POINT for the replicator)
  duplicate        every CDC file delivered twice (replicator fault switch), and older CDC and
                   full-load files re-delivered late under new names (out of order)
  concurrent       two `lakehouse run` of the same layers at once: one runs, the other is
                   refused by the lake's run lock (exit 1, the holder named); never a doubled or
                   lost row
  malformed        a file of garbage in the raw zone (must be quarantined and reported)
  new_column       ALTER TABLE ADD COLUMN at the source, then activity, replicate, run (last)
Prints a table of trials; exit 1 when any trial fails.

    .venv/bin/python bench/chaos.py [--trials 20] [--scale 0.02] [--seed 7] [--tables a,b]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lakelab import Lab, has_gold, has_reconcile  # noqa: E402

SPARK_CRASH_POINTS = {
    "bronze": ("bronze:before_commit:{t}", "bronze:after_commit:{t}"),
    "silver": ("silver:before_history:{t}", "silver:before_merge:{t}", "silver:after_merge:{t}"),
}
REPLICATOR_CRASH_POINTS = ("cdc:after_files",)
SPECIAL = ("duplicate", "concurrent", "malformed")
CDC_NAME = "%Y%m%d-%H%M%S"


@dataclass
class Trial:
    number: int
    kind: str
    fault: str = ""
    outcome: str = ""
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""


class Chaos:
    def __init__(self, lab: Lab, rng: random.Random, tables: list[str], stage_seconds: dict[str, float]):
        self.lab, self.rng, self.tables = lab, rng, tables
        self.layers = ["bronze", "silver", "gold"] if has_gold() and not tables else ["bronze", "silver"]
        self.stage_seconds = stage_seconds

    # --- steps -------------------------------------------------------------------------------
    def run_args(self, layers: list[str] | None = None) -> list[str]:
        args = ["run", "--layers", ",".join(layers or self.layers)]
        return args + (["--tables", ",".join(self.tables)] if self.tables else [])

    def replicate_args(self) -> list[str]:
        return ["replicate"] + (["--tables", ",".join(self.tables)] if self.tables else [])

    def activity(self) -> None:
        self.lab.cli("seed", "activity")

    def recover(self) -> None:
        """The rerun after a fault: replicate what is pending, then every layer."""
        self.lab.cli(*self.replicate_args())
        self.lab.cli(*self.run_args())

    def check(self) -> tuple[bool, str]:
        if self.tables:  # a subset of tables: lakehouse reconcile would miss the others
            problems = self.lab.check_bronze_once() + [
                p for p in self.lab.check_silver() if p.split()[1].rstrip(":") in self.tables
            ]
            return not problems, "silver vs MySQL (lakelab): " + (
                "ok" if not problems else "; ".join(problems)
            )
        return self.lab.reconcile()

    def raw_dir(self, table: str) -> Path:
        return Path(self.lab.config().raw_table_dir(table))

    def next_names(self, table: str, n: int) -> list[str]:
        """CDC file names after every name in the folder (a late delivery)."""
        stamps = [f.stem for f in self.raw_dir(table).glob("*.parquet") if not f.stem.startswith("LOAD")]
        last = max((dt.datetime.strptime(s[:15], CDC_NAME) for s in stamps if len(s) >= 18), default=None)
        last = (last or dt.datetime(2030, 1, 1)) + dt.timedelta(seconds=1)
        return [f"{(last + dt.timedelta(seconds=i)).strftime(CDC_NAME)}{i:03d}.parquet" for i in range(n)]

    # --- faults ------------------------------------------------------------------------------
    def kill(self, trial: Trial, stage: str) -> None:
        self.activity()
        if stage == "replicate":
            if self.rng.random() < 0.5:
                point = self.rng.choice(REPLICATOR_CRASH_POINTS)
                step = self.lab.cli(*self.replicate_args(), env={"LAKEHOUSE_REPLICATOR_CRASH_POINT": point},
                                    check=False)  # fmt: skip
                trial.fault = f"replicator crash point {point}"
            else:
                delay = self.rng.uniform(0.3, max(0.5, self.stage_seconds["replicate"]))
                step = self.lab.cli(*self.replicate_args(), kill_after=delay, check=False)
                trial.fault = f"SIGKILL replicate after {delay:.1f}s"
        else:
            # The layers below the killed one are brought up to date first.
            self.lab.cli(*self.replicate_args())
            below = self.layers[: self.layers.index(stage)]
            if below:
                self.lab.cli(*self.run_args(below))
            if stage in SPARK_CRASH_POINTS and self.rng.random() < 0.5:
                table = self.rng.choice(self.tables or list(self.lab.config().tables))
                point = self.rng.choice(SPARK_CRASH_POINTS[stage]).format(t=table)
                step = self.lab.cli(*self.run_args([stage]), env={"LAKEHOUSE_CRASH_AT": point}, check=False)
                trial.fault = f"LAKEHOUSE_CRASH_AT={point}"
            else:
                delay = self.rng.uniform(1.0, max(1.5, self.stage_seconds[stage]))
                step = self.lab.cli(*self.run_args([stage]), kill_after=delay, check=False)
                trial.fault = f"SIGKILL run --layers {stage} after {delay:.1f}s"
        if step.killed or step.returncode in (-signal.SIGKILL, 75):
            trial.outcome = "killed"
        elif step.ok:
            trial.outcome = "finished before the fault"
        else:
            trial.outcome = f"exit {step.returncode}"
        self.recover()

    def duplicate(self, trial: Trial) -> None:
        self.activity()
        self.lab.cli(*self.replicate_args(), "--fault-duplicate-every", "1")
        copies = []
        for table in self.tables or list(self.lab.config().tables):
            files = sorted(self.raw_dir(table).glob("*.parquet"))
            picks = self.rng.sample(files, min(2, len(files)))
            for src, name in zip(picks, self.next_names(table, len(picks)), strict=True):
                shutil.copyfile(src, self.raw_dir(table) / name)
                copies.append(f"{table}/{src.name}")
        trial.fault = f"every CDC file twice; {len(copies)} older files re-delivered late, e.g. {copies[:2]}"
        self.lab.cli(*self.run_args())
        trial.outcome = "ran"
        self.recover()

    def concurrent(self, trial: Trial) -> None:
        self.activity()
        self.lab.cli(*self.replicate_args())
        started = time.perf_counter()
        procs = [self.lab.start(*self.run_args()) for _ in range(2)]
        steps = [self.lab.wait(p, started) for p in procs]
        codes = [s.returncode for s in steps]
        trial.fault = "two `lakehouse run` at once"
        trial.outcome = f"exit codes {codes}"
        problems = self.lab.check_bronze_once()
        if problems:
            raise AssertionError("after the concurrent runs: " + "; ".join(problems))
        refused = [s for s in steps if "in use by another run" in s.stderr]
        if sorted(codes) != [0, 1] or len(refused) != 1 or refused[0].returncode != 1:
            detail = "\n".join(s.tail() for s in steps)
            raise AssertionError(f"expected one run and one refused by the run lock, got {codes}\n{detail}")
        self.recover()

    def malformed(self, trial: Trial) -> None:
        from deltalake import DeltaTable

        self.activity()
        self.lab.cli(*self.replicate_args())
        table = self.rng.choice(self.tables or list(self.lab.config().tables))
        name = self.next_names(table, 1)[0]
        (self.raw_dir(table) / name).write_bytes(b"PAR1 this is not a Parquet file\n" * 10)
        trial.fault = f"garbage file {table}/{name}"
        step = self.lab.cli(*self.run_args(), check=False)
        quarantine = Path(self.lab.config().env.paths["ops"]) / "quarantine_files"
        held = []
        if (quarantine / "_delta_log").is_dir():
            files = DeltaTable(str(quarantine)).to_pyarrow_table().column("_source_file").to_pylist()
            held = [f for f in files if f.endswith(name)]
        reported = name in step.stderr + step.stdout
        trial.outcome = f"exit {step.returncode}, quarantined={bool(held)}, reported={reported}"
        if not held or not reported:
            raise AssertionError(f"{table}/{name} was not quarantined and reported:\n{step.tail()}")
        self.recover()

    def new_column(self, trial: Trial) -> None:
        table = "clients" if not self.tables or "clients" in self.tables else self.tables[0]
        conn = self.lab.connect()
        with conn, conn.cursor() as cur:
            cur.execute(f"ALTER TABLE `{table}` ADD COLUMN `loyalty_tier` VARCHAR(16) NULL")
            cur.execute(f"UPDATE `{table}` SET `loyalty_tier` = 'gold' WHERE MOD(id, 7) = 0")
        trial.fault = f"ALTER TABLE {table} ADD COLUMN loyalty_tier, rows updated"
        self.activity()
        self.recover()
        trial.outcome = "ran"


def plan(trials: int, rng: random.Random, stages: list[str], with_new_column: bool = True) -> list[str]:
    """SIGKILL trials across the stages, the special trials at random places, new_column last."""
    specials = list(SPECIAL)
    n_kill = max(0, trials - len(specials) - int(with_new_column))
    kinds = [f"kill:{stages[i % len(stages)]}" for i in range(n_kill)]
    for s in specials[: max(0, trials - int(with_new_column))]:
        kinds.insert(rng.randint(0, len(kinds)), s)
    return kinds + (["new_column"] if with_new_column and trials > 0 else [])


def setup(lab: Lab, scale: float, chaos_layers: list[str], tables: list[str]) -> dict[str, float]:
    """Seed, full load and one full run per layer; returns each step's seconds (kill windows)."""
    lab.up()
    lab.cli("seed", "init", "--scale", f"{scale:g}")
    t_args = ["--tables", ",".join(tables)] if tables else []
    seconds = {"replicate": lab.cli("replicate", *t_args).seconds}
    for layer in chaos_layers:
        seconds[layer] = lab.cli("run", "--layers", layer, *t_args).seconds
    return seconds


def run_trials(lab: Lab, trials: int, scale: float, seed: int, tables: list[str], kinds=None) -> list[Trial]:
    rng = random.Random(seed)
    chaos_layers = ["bronze", "silver", "gold"] if has_gold() and not tables else ["bronze", "silver"]
    stage_seconds = setup(lab, scale, chaos_layers, tables)
    chaos = Chaos(lab, rng, tables, stage_seconds)
    ok, detail = chaos.check()
    if not ok:
        raise RuntimeError(f"the lake does not reconcile before any fault: {detail}")
    kinds = kinds or plan(trials, rng, ["replicate", *chaos_layers])
    results = []
    for n, kind in enumerate(kinds, start=1):
        trial = Trial(n, kind)
        started = time.perf_counter()
        try:
            if kind.startswith("kill:"):
                chaos.kill(trial, kind.split(":", 1)[1])
            else:
                getattr(chaos, kind)(trial)
            trial.ok, trial.detail = chaos.check()
        except Exception as exc:  # a trial that breaks is a failed trial, named in the table
            trial.ok, trial.detail = False, f"{type(exc).__name__}: {exc}"
        trial.seconds = time.perf_counter() - started
        results.append(trial)
        status = "PASS" if trial.ok else "FAIL"
        print(
            f"{n:>3} {status} {kind:<14} {trial.seconds:>6.0f}s  {trial.fault} -> {trial.outcome}", flush=True
        )
        if not trial.ok:
            print(f"      {trial.detail[:3000]}", flush=True)
    return results


def print_table(results: list[Trial]) -> None:
    print(f"\n{'#':>3}  {'result':<6}{'trial':<15}{'seconds':>8}  fault -> outcome")
    for t in results:
        result = "PASS" if t.ok else "FAIL"
        print(f"{t.number:>3}  {result:<6}{t.kind:<15}{t.seconds:>8.0f}  {t.fault} -> {t.outcome}")
    passed = sum(t.ok for t in results)
    how = "lakehouse reconcile" if has_reconcile() else "silver vs MySQL (bench/lakelab.py)"
    print(f"\n{passed} of {len(results)} trials passed; each ends with {how} and a bronze exactly-once check")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--scale", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=7, help="seed of the fault plan and kill times")
    p.add_argument("--tables", default="", help="a subset of tables (faster; reconciles those only)")
    p.add_argument("--keep", action="store_true", help="keep the lake folder")
    args = p.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    lab = Lab(work / "lake")
    print(f"chaos: {args.trials} trials at scale {args.scale:g} in {work}", flush=True)
    try:
        results = run_trials(lab, args.trials, args.scale, args.seed, tables)
    finally:
        lab.down()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    return 0 if results and all(t.ok for t in results) else 1


if __name__ == "__main__":
    sys.exit(main())
