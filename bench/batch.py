"""A class of 200 notebooks through `grade batch`: throughput, overhead, memory.

    python bench/batch.py [--notebooks 200] [--jobs 2] [--dask]

Builds a class from the sample submissions (the correct ones and every
classic mistake, each copy made distinct by a student id in its metadata),
then prints:

- notebooks per minute of `grade batch --jobs N` (stored plans warm: one
  notebook graded first, untimed, as any second batch of a course would be);
- the floor: the same rate if grading cost nothing but the students' own
  functions, called directly on the inputs the stored plans hold, in one warm
  process per core (the notebook executed and the arguments built untimed);
  and the batch's rate as a share of it;
- the per-notebook cost next to executing the same notebook's code alone in a
  warm process (torch already imported), and where a grading's time goes
  (from the reports' timings);
- the peak memory of a grading worker and of a sandboxed child;
- that every verdict equals the one `grade` gives the notebook alone;
- with --dask, the same batch on a two-worker Dask cluster on loopback, and
  that its gradebook equals the local one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "samples" / "autograd-basics"
GRADE = [sys.executable, "-m", "grader"]


def build_class(folder: Path, count: int) -> dict[str, str]:
    """``count`` notebooks cycling through the samples; returns student -> sample name."""
    sources = sorted(p for p in SAMPLES.glob("*.ipynb") if p.name.startswith(("correct", "wrong_")))
    made = {}
    for number in range(count):
        source = sources[number % len(sources)]
        notebook = nbformat.read(str(source), as_version=4)
        student = f"s{number:03d}"
        notebook.metadata.setdefault("grader", {})["student"] = student
        nbformat.write(notebook, str(folder / f"{student}.ipynb"))
        made[student] = source.name
    return made


class PeakMemory(threading.Thread):
    """Samples VmHWM of the batch's workers and of the sandboxed children while the batch runs."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.stop = root_pid, threading.Event()
        self.worker_kib = self.child_kib = 0

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = (entry / "status").read_text()
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                peak = int(fields.get("VmHWM", "0 kB").split()[0])
                if b"forkserver" in cmdline:
                    self.worker_kib = max(self.worker_kib, peak)
                elif fields.get("Uid", "").split()[:1] == ["65534"]:
                    self.child_kib = max(self.child_kib, peak)


def run_batch(folder: Path, out: Path, plans: Path, extra: list[str]) -> tuple[float, PeakMemory]:
    env = {**os.environ, "GRADER_CACHE_DIR": str(plans)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [*GRADE, "batch", str(folder), "--out", str(out), "-q", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    memory = PeakMemory(process.pid)
    memory.start()
    stdout, stderr = process.communicate()
    memory.stop.set()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"bench: grade batch failed ({process.returncode}):\n{stderr[-3000:]}")
    return elapsed, memory


def warm_measures(samples: list[str], plans: Path, scratch: Path) -> tuple[float, dict[str, float]]:
    """In one process that has torch imported already, per sample: the seconds its code cells take, and
    the floor, the seconds its rubric's functions take on the stored plans' inputs, called directly (the
    arguments built untimed). Returns the cells' mean and the floor per sample."""
    code = r"""
import contextlib, io, json, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
import matplotlib
matplotlib.use("Agg")
from grader.child import probe
from grader.course.assignment import with_reference
from grader.grading import read_with_rubric
from grader.judging.plans import PlanStore
from grader.judging.search import item_seed
from grader.notebook import to_python
plans_dir, paths = Path(sys.argv[1]), sys.argv[2:]
cells, floor = [], {}
for path in paths:
    notebook, rubric = read_with_rubric(path, assignment=None, guess=True)
    assignment, store = with_reference(rubric), PlanStore(plans_dir, rubric)
    namespace = {"__name__": "__main__"}
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for _, source in to_python(notebook.cells):
            try:
                exec(compile(source, "<cell>", "exec"), namespace)
            except (Exception, SystemExit):
                pass
    cells.append(time.perf_counter() - started)
    total = 0.0
    for item in rubric.items:
        fn = namespace.get(item.target)
        if not callable(fn):
            continue
        key = store.key(item, seed=item_seed(rubric.seed, item.id), examples=assignment.examples_for(item))
        for entry in store.load(key) or []:
            header, blobs = entry.request
            values = [probe._build(spec, blobs, "cpu")[0] for spec in header["args"]]
            probe.reset_state(int(header.get("seed", 0)))
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    fn(*values)
                except (Exception, SystemExit):
                    pass
            total += time.perf_counter() - started
    floor[path] = total
print(json.dumps({"cells": cells, "floor": floor}))
"""
    paths = [str(SAMPLES / name) for name in samples]
    # In a folder of its own: a notebook's cells write files where they run (make_dot(...).render()).
    done = subprocess.run(
        [sys.executable, "-c", code, str(plans), *paths], capture_output=True, text=True, check=True, cwd=scratch
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return statistics.mean(found["cells"]), {Path(path).name: value for path, value in found["floor"].items()}


def alone(samples: list[str], plans: Path) -> dict[str, list[tuple[str, str, float]]]:
    verdicts = {}
    env = {**os.environ, "GRADER_CACHE_DIR": str(plans)}
    for name in samples:
        done = subprocess.run(
            [*GRADE, "-q", "-f", "json", str(SAMPLES / name)], capture_output=True, text=True, env=env
        )
        verdicts[name] = [(i["id"], i["status"], i["score"]) for i in json.loads(done.stdout)["items"]]
    return verdicts


def gradebook(out: Path) -> list[dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def start_dask(env: dict[str, str], folder: Path) -> tuple[str, list[subprocess.Popen]]:
    dask = str(Path(sys.executable).with_name("dask"))
    address_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(address_file),
            ],
            **quiet,
        )
    ]
    while not address_file.exists():
        time.sleep(0.1)
    for name in ("w1", "w2"):
        processes.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    "--scheduler-file",
                    str(address_file),
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    name,
                ],
                **quiet,
            )
        )
    from distributed import Client

    address = json.loads(address_file.read_text())["address"]
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    return address, processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="also run the batch on a two-worker Dask cluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-bench-batch-") as scratch:
        scratch_path = Path(scratch)
        folder, plans = scratch_path / "class", scratch_path / "plans"
        folder.mkdir()
        made = build_class(folder, args.notebooks)
        samples = sorted(set(made.values()))
        verdicts_alone = alone(samples, plans)  # also stores the plans: the batch runs warm
        out = scratch_path / "local"
        elapsed, memory = run_batch(folder, out, plans, ["--jobs", str(args.jobs)])
        rate = args.notebooks / elapsed * 60
        records = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
        differ = [
            s
            for s, r in records.items()
            if [(i["id"], i["status"], i["score"]) for i in r["items"]] != verdicts_alone[made[s]]
        ]
        per_notebook = elapsed * args.jobs / args.notebooks
        cells_here = scratch_path / "cells"
        cells_here.mkdir()
        warm, floors = warm_measures(samples, plans, cells_here)
        floor_total = sum(floors[made[student]] for student in made)  # one core's seconds for the whole class
        floor_rate = args.notebooks / (floor_total / args.jobs) * 60  # on as many cores as the batch had
        notebook_s = statistics.mean(r["timings"]["notebook"] for r in records.values())
        items_s = statistics.mean(r["timings"]["total"] - r["timings"]["notebook"] for r in records.values())
        print(
            f"class: {args.notebooks} notebooks from {len(samples)} samples; --jobs {args.jobs} on "
            f"{os.cpu_count()} CPUs"
        )
        print(f"local batch         {elapsed:7.1f} s   {rate:6.1f} notebooks/min   (goal: 150/min)")
        print(
            f"floor               {floor_total / args.jobs:7.1f} s   {floor_rate:6.1f} notebooks/min   (the students' "
            f"functions alone on the same inputs, one warm process per core); the batch reaches "
            f"{rate / floor_rate:.2f} x the floor (goal: 0.8)"
        )
        print(f"per notebook        {per_notebook:7.2f} s of a worker's time")
        print(f"  starting the sandbox and running the cells {notebook_s:.2f} s, the rubric's items {items_s:.2f} s")
        print(f"warm execution      {warm:7.3f} s   (the notebook's cells alone, torch imported)")
        print(f"overhead            {per_notebook / warm:7.1f}x the warm execution")
        print(
            f"peak memory         worker {memory.worker_kib / 1024:.0f} MiB, sandboxed child "
            f"{memory.child_kib / 1024:.0f} MiB"
        )
        print(
            f"verdicts            {len(records) - len(differ)} of {len(records)} equal to `grade` alone"
            + (f"; differ: {', '.join(differ[:5])}" if differ else "")
        )
        if args.dask:
            env = {**os.environ, "GRADER_CACHE_DIR": str(plans)}
            address, processes = start_dask(env, scratch_path)
            try:
                dask_out = scratch_path / "dask"
                dask_elapsed, _ = run_batch(folder, dask_out, plans, ["--scheduler", address])
            finally:
                for process in processes[::-1]:
                    process.terminate()
                for process in processes:
                    process.wait()
            same = gradebook(dask_out) == gradebook(out)
            print(
                f"dask (2 workers)    {dask_elapsed:7.1f} s   {args.notebooks / dask_elapsed * 60:6.1f} notebooks/min"
                f"   gradebook {'equal to' if same else 'DIFFERS from'} the local one"
            )
        shutil.rmtree(scratch_path / "class", ignore_errors=True)


if __name__ == "__main__":
    main()
