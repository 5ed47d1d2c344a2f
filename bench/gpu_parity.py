"""Every sample graded with --device cpu and with --device cuda: the verdicts must be equal.

    python bench/gpu_parity.py [--second cuda|inline] [--sandbox bubblewrap|none] [--samples GLOB]
                               [--jobs N] [--reports DIR]

Grades each sample submission of every assignment (tests/samples/autograd-basics/*.ipynb and
tests/samples/autograd-advanced/*.ipynb, the hostile ones too: an infinite loop, a process that
kills itself, a call that never returns; they take up to their limits) twice, each time as
`python -m grader -q -f json NOTEBOOK` in a subprocess: first with `--device cpu`, then in the
second column. It prints one row per sample (the score each column gave, whether the per-item
(id, status, score) verdicts are equal, and the wall time of each `grade` process), the items
that differ under the table, and a summary line; it exits 1 when any sample differs (or a
grading failed), 0 when all are equal.

The second column:

- `cuda` (the default where torch.cuda.is_available()): `--device cuda`. CUDA does not survive
  fork(), so there every item is served inline by the notebook's own process, one at a time,
  and the process is restarted after a timeout or crash; under bubblewrap the GPU's device
  nodes and /sys are passed in.
- `inline` (the default where there is no GPU): `--device cpu` with GRADER_INLINE_WORKERS=1,
  the path CUDA takes, on the CPU (grader/sandbox/execution.py). The output then says plainly
  that it is not a GPU run.

A sample that expected.yaml grades with another rubric (`rubric:`, the short limits of the
hostile samples) is graded with it (`-a`), as tests/integration/test_samples.py does. Both
columns share one fresh plan cache (GRADER_CACHE_DIR in a temporary folder); before the table,
the correct sample of each rubric is graded once, untimed, so that every timed grading reads
stored plans (they are keyed by the rubric, not the device or the notebook). With
`--sandbox bubblewrap` (the default), if bubblewrap cannot create its namespaces on the machine
(`grade` exits 3: "the sandbox is not available", e.g. a GPU runner under gVisor or Firecracker
that refuses user namespaces), the bench prints that finding in one line and reruns the whole
comparison with `--sandbox none`, saying so.

On the lent GPU machine (Python 3.12, torch 2.11 CUDA, hypothesis, click, rich, pyyaml,
matplotlib, scikit-learn, jinja2, pygments, attrs, packaging, psutil, six, python-dateutil
present; nothing can be fetched there), carry the missing wheels and bubblewrap's .deb.
Here, in the repository's root, once (`.whl/` is in .git/info/exclude; about 21 MiB):

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
      --platform manylinux1_x86_64 -d .whl \\
      nbformat==5.11.1 nbconvert==7.17.2 jsonschema==4.26.0 babel==2.19.0 ipython==9.18.1 \\
      torchviz==0.0.3 graphviz==0.21 fastjsonschema==2.22.3 jsonschema-specifications==2025.9.1 \\
      referencing==0.37.0 rpds-py==2026.9.1 traitlets==5.16.1 jupyter_core==5.9.1 platformdirs==4.14.8 \\
      jupyter_client==8.10.0 nbclient==0.11.0 pyzmq==27.3.0 tornado==6.6.1 beautifulsoup4==4.15.0 \\
      soupsieve==4.1.3 bleach==6.4.0 tinycss2==1.5.1 webencodings==0.6.1 defusedxml==0.7.1 \\
      jupyterlab_pygments==0.3.0 mistune==3.4.0 pandocfilters==1.5.1 decorator==5.3.1 \\
      ipython_pygments_lexers==1.1.1 jedi==0.20.1 parso==0.8.7 matplotlib-inline==0.2.2 \\
      pexpect==4.9.0 ptyprocess==0.7.0 prompt_toolkit==3.0.53 wcwidth==0.9.4 stack-data==0.6.3 \\
      executing==2.3.0 asttokens==3.0.2 pure_eval==0.2.4
    apt-get update && (cd .whl && apt-get download bubblewrap)

(pure-Python wheels are found with the manylinux platforms too: pip always accepts `none-any`.)
Then the device run, carrying `.whl` (carry: [".whl"], timeout_s 600), as one command:

    set -o pipefail; python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir .whl/*.whl &&
    dpkg -x .whl/bubblewrap_*.deb /tmp/bw && export PATH=/tmp/bw/usr/bin:$PATH PYTHONUNBUFFERED=1 &&
    python3 bench/gpu_parity.py --jobs 4 --reports /tmp/gp 2>&1 | tee $OUT/gpu_parity.txt;
    tar -czf $OUT/gpu_parity_reports.tgz -C /tmp gp

One sample through both columns takes about 19 s on the 2-core development machine, the 42
samples about 13 minutes one at a time: more than a device command's 10 minutes, hence
`--jobs 4` there (16 cores; a grading keeps about two busy). Rows are printed as they finish, in
order, so a run cut off at its limit still returns the rows it finished in $OUT/gpu_parity.txt.

The wheels go into the interpreter's own site-packages, not `--target /tmp/site` with
PYTHONPATH: the sandboxed child runs `sys.executable -s -P` with a scrubbed environment (no
PYTHONPATH) and sees only the interpreter's folders and /usr, and the course rubric's
`packages:` (torchviz) must be importable there, or `grade` refuses with exit 3. `grade` itself
runs from the repository's root (`python3 -m grader`), so the grader needs no install.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("autograd-basics", "autograd-advanced")
SAMPLES = ROOT / "tests" / "samples"
GRADE = [sys.executable, "-m", "grader", "-q", "-f", "json"]
GRADE_TIMEOUT_S = 1200  # far above any rubric's total_seconds: only a grader that hangs reaches it
SANDBOX_REFUSED = ("the sandbox is not available", "could not start the child process")


class SandboxRefused(Exception):
    """bubblewrap could not run on this machine: the comparison is rerun with --sandbox none."""


@dataclass(frozen=True)
class Sample:
    assignment: str
    path: Path
    rubric: Path | None  # expected.yaml's `rubric:`, else the assignment's own
    expected: float | None

    @property
    def name(self) -> str:
        return f"{self.assignment}/{self.path.name}"


@dataclass
class Graded:
    seconds: float
    code: int
    report: dict | None = None
    error: str = ""
    verdicts: list[tuple] = field(default_factory=list)

    @property
    def score(self) -> str:
        if self.report is None:
            return f"exit {self.code}"
        return f"{self.report['score']:g}"


def find_samples(pattern: str | None) -> list[Sample]:
    samples = []
    for assignment in ASSIGNMENTS:
        folder = SAMPLES / assignment
        expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8")) or {}
        for path in sorted(folder.glob("*.ipynb")):
            spec = expected.get(path.name) or {}
            rubric = ROOT / spec["rubric"] if "rubric" in spec else None
            sample = Sample(assignment, path, rubric, spec.get("score"))
            if pattern is None or fnmatch.fnmatch(sample.name, pattern) or fnmatch.fnmatch(path.name, pattern):
                samples.append(sample)
    return samples


def grade(sample_path: Path, rubric: Path | None, device: str, sandbox: str, env: dict[str, str]) -> Graded:
    command = [*GRADE, "--device", device, "--sandbox", sandbox]
    if rubric is not None:
        command += ["-a", str(rubric)]
    command.append(str(sample_path.relative_to(ROOT)))
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=GRADE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Graded(time.perf_counter() - started, -1, error=f"grade did not finish in {GRADE_TIMEOUT_S} s")
    seconds = time.perf_counter() - started
    stderr = done.stderr.strip()
    if done.returncode == 3 and any(marker in stderr for marker in SANDBOX_REFUSED):
        raise SandboxRefused(stderr.splitlines()[-1])
    if done.returncode == 2 or (done.returncode == 3 and "packages are not importable" in stderr):
        # The machine's or the command line's fault, the same for every sample: no table would mean anything.
        sys.exit(f"bench: {' '.join(command)} refused ({done.returncode}):\n{stderr[-2000:]}")
    if done.returncode != 0:
        return Graded(seconds, done.returncode, error=stderr[-2000:] or "(no message)")
    report = json.loads(done.stdout)
    verdicts = [(item["id"], item["status"], item["score"]) for item in report["items"]]
    return Graded(seconds, 0, report=report, verdicts=verdicts)


@dataclass(frozen=True)
class Column:
    label: str
    device: str
    env: dict[str, str]


def columns(second: str, cache: str) -> tuple[Column, Column]:
    base = {k: v for k, v in os.environ.items() if k != "GRADER_INLINE_WORKERS"}
    base["GRADER_CACHE_DIR"] = cache
    first = Column("cpu", "cpu", base)
    if second == "cuda":
        return first, Column("cuda", "cuda", base)
    return first, Column("inline", "cpu", {**base, "GRADER_INLINE_WORKERS": "1"})


def describe(report: dict | None) -> str:
    if report is None:
        return "?"
    env = report["environment"]
    return f"device {env['device']} ({env['device_name']}), sandbox {env['sandbox']}, torch {env['torch']}"


def differences(sample: Sample, one: Graded, two: Graded, labels: tuple[str, str]) -> list[str]:
    lines = [f"  {sample.name}:"]
    for label, graded in zip(labels, (one, two), strict=True):
        if graded.report is None:
            lines.append(f"    {label}: {graded.error.splitlines()[-1] if graded.error else 'failed'}")
    if one.report is None or two.report is None:
        return lines
    items = [{item["id"]: item for item in graded.report["items"]} for graded in (one, two)]
    for item_id in list(dict.fromkeys([*items[0], *items[1]])):
        a, b = items[0].get(item_id), items[1].get(item_id)
        if a is not None and b is not None and (a["status"], a["score"]) == (b["status"], b["score"]):
            continue
        lines.append(f"    {item_id}:")
        for label, item in zip(labels, (a, b), strict=True):
            if item is None:
                lines.append(f"      {label:<6} (no such item)")
                continue
            feedback = " ".join(str(item.get("feedback", "")).split())[:300]
            lines.append(f"      {label:<6} {item['status']} {item['score']:g}: {feedback}")
    for label, graded in zip(labels, (one, two), strict=True):
        notebook = graded.report["notebook"]
        lines.append(
            f"    {label}: process starts {notebook['process_starts']}, limits hit {notebook['limits_hit'] or 'none'}, "
            f"stopped early {notebook['stopped_early']}"
        )
    return lines


def save(reports: Path | None, sample: Sample, label: str, graded: Graded) -> None:
    if reports is None:
        return
    reports.mkdir(parents=True, exist_ok=True)
    body = json.dumps(graded.report, indent=1) if graded.report is not None else graded.error
    suffix = "json" if graded.report is not None else "err"
    (reports / f"{sample.assignment}__{sample.path.stem}.{label}.{suffix}").write_text(body)


def compare(
    samples: list[Sample], cols: tuple[Column, Column], sandbox: str, reports: Path | None, jobs: int = 1
) -> bool:
    """Prints the table for one sandbox; True when every sample's verdicts are equal."""
    one, two = cols
    warm = {}
    for sample in samples:  # one untimed grading per rubric stores its plans for both columns
        key = (sample.assignment, sample.rubric)
        if key not in warm:
            warm[key] = grade(SAMPLES / sample.assignment / "correct.ipynb", sample.rubric, "cpu", sandbox, one.env)
    print(f"plans stored first by {len(warm)} untimed grading(s) of a correct sample, one per rubric")
    width = max(len(s.name) for s in samples) + 2
    print()
    print(
        f"{'sample':<{width}}{'expected':>9}{one.label:>9}{two.label:>9}  {'equal':<6}"
        f"{one.label + ' s':>9}{two.label + ' s':>10}"
    )

    def both(sample: Sample) -> list[Graded]:  # one column after the other, whatever --jobs says
        return [grade(sample.path, sample.rubric, col.device, sandbox, col.env) for col in cols]

    rows, detail, matched = [], [], [0, 0]
    seen: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(both, sample) for sample in samples]
        try:
            for sample, future in zip(samples, futures, strict=True):  # rows in order, each as soon as it can
                graded = future.result()
                for col, result in zip(cols, graded, strict=True):
                    save(reports, sample, col.label, result)
                    if result.report is not None:
                        seen.setdefault(col.label, describe(result.report))
                        matched[cols.index(col)] += result.report["score"] == sample.expected
                equal = all(g.report is not None for g in graded) and graded[0].verdicts == graded[1].verdicts
                rows.append((equal, graded))
                expected = "-" if sample.expected is None else f"{sample.expected:g}"
                mark = "" if sample.rubric is None else " *"
                print(
                    f"{sample.name + mark:<{width}}{expected:>9}{graded[0].score:>9}{graded[1].score:>9}  "
                    f"{'yes' if equal else 'NO':<6}{graded[0].seconds:>9.1f}{graded[1].seconds:>10.1f}",
                    flush=True,
                )
                if not equal:
                    detail += differences(sample, *graded, (one.label, two.label))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    same = sum(equal for equal, _ in rows)
    totals = [sum(graded[i].seconds for _, graded in rows) for i in (0, 1)]
    for label in (one.label, two.label):
        print(f"{label}: {seen.get(label, 'no report')}")
    if any(s.rubric is not None for s in samples):
        print("* graded with the rubric expected.yaml names for it (short limits), as the sample tests do")
    if detail:
        print("\nverdicts that differ:")
        print("\n".join(detail))
    print()
    together = f", {jobs} samples at a time" if jobs > 1 else ""
    print(
        f"{same} of {len(rows)} equal; {one.label} {totals[0]:.1f} s, {two.label} {totals[1]:.1f} s in all "
        f"(wall time of each `grade` process, plans stored{together}); scores as expected.yaml says: "
        f"{matched[0]} ({one.label}), {matched[1]} ({two.label}) of {len(rows)}",
        flush=True,
    )
    return same == len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--second",
        choices=("cuda", "inline"),
        help="the second column: --device cuda, or the CUDA path on the CPU (inline workers); "
        "default: cuda where there is a GPU, else inline",
    )
    parser.add_argument("--sandbox", choices=("bubblewrap", "none"), default="bubblewrap")
    parser.add_argument("--samples", metavar="GLOB", help="only these samples, e.g. 'autograd-basics/wrong_*'")
    parser.add_argument("--reports", type=Path, metavar="DIR", help="also keep every JSON report in DIR")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="grade this many samples at once (each sample's two columns still one after the other); "
        "for a many-core GPU machine whose time is short: the times are then measured under contention",
    )
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    second = args.second or ("cuda" if cuda else "inline")
    if second == "cuda" and not cuda:
        parser.error("--second cuda: no CUDA device is available here (torch.cuda.is_available() is False)")
    samples = find_samples(args.samples)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not samples:
        parser.error(f"--samples {args.samples!r} matches no sample")

    gpu = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    print(
        f"gpu parity: {len(samples)} sample(s), python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {gpu}"
    )
    if second == "cuda":
        print("columns: --device cpu (forked workers) | --device cuda (inline workers, the GPU)")
    elif cuda:
        print("columns: --device cpu (forked workers) | --device cpu with GRADER_INLINE_WORKERS=1 (the CUDA path)")
    else:
        print("no GPU here: the second column is the CUDA path (inline workers) on the CPU, not a GPU run")
    with tempfile.TemporaryDirectory(prefix="grader-bench-gpu-parity-") as cache:
        cols = columns(second, cache)
        sandbox = args.sandbox
        print(f"sandbox: {sandbox}; plan cache: a fresh {cache}, shared by both columns")
        try:
            equal = compare(samples, cols, sandbox, args.reports, args.jobs)
        except SandboxRefused as refused:
            print(f"\nbubblewrap refused on this machine: {refused}")
            print("rerunning the whole comparison with --sandbox none (no isolation: both columns alike)\n")
            equal = compare(samples, cols, "none", args.reports, args.jobs)
    sys.exit(0 if equal else 1)


if __name__ == "__main__":
    main()
