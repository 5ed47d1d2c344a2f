"""Warm children (``grader.sandbox.zygote``): forked from one zygote, yet nothing passes between submissions.

A batch with one worker grades two notebooks in turn, so both children come
from the same zygote. The first leaves everything it can behind: files in
/tmp, the home folder and /dev/shm, a listening abstract socket, a detached
process. The second looks for all of it, and for the zygote, and reports
what it sees through an error message, which comes back in its feedback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SHORT_LIMITS, grading_processes, write_notebook

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")

LEAVES_TRACES = r"""
import os, socket, time
for path in ('/tmp/trace', os.path.expanduser('~/trace'), '/dev/shm/trace'):
    try:
        with open(path, 'w') as handle:
            handle.write('the previous submission was here')
    except OSError:
        pass
listener = socket.socket(socket.AF_UNIX)
listener.bind('\0grader-trace')
listener.listen()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(120)
    os._exit(0)
"""

LOOKS_FOR_TRACES = r"""
import json, os, socket
def _look():
    seen = {}
    for name, path in (('tmp', '/tmp/trace'), ('home', os.path.expanduser('~/trace')), ('shm', '/dev/shm/trace')):
        seen[name] = os.path.exists(path)
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect('\0grader-trace')
        seen['socket'] = True
    except OSError:
        seen['socket'] = False
    seen['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
    status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines() if ':' in line)
    seen['caps'] = [status[k].strip() for k in ('CapPrm', 'CapEff', 'CapBnd', 'CapAmb')]
    seen['nnp'] = status['NoNewPrivs'].strip()
    seen['uid'] = os.getuid()
    seen['home_files'] = sorted(os.listdir(os.path.expanduser('~')))
    return seen
SEEN = _look()
def f1(t, u):
    raise RuntimeError('SEEN=' + json.dumps(SEEN, separators=(',', ':')) + '=END')
"""


def test_the_next_submission_from_the_same_zygote_finds_nothing_of_the_previous(tmp_path, plan_cache):
    first = write_notebook(tmp_path / "a_leaves_traces.ipynb", [LEAVES_TRACES])
    second = write_notebook(tmp_path / "b_looks_for_traces.ipynb", [LOOKS_FOR_TRACES])
    out = tmp_path / "grades"
    done = subprocess.run(
        [sys.executable, "-m", "grader", "batch", first, second, "--out", out, "--jobs", "1", "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "GRADER_CACHE_DIR": str(plan_cache)},
    )
    assert done.returncode == 0, done.stderr
    records = {
        name: json.loads((out / "reports" / f"{name}.json").read_text())
        for name in ("a_leaves_traces", "b_looks_for_traces")
    }
    for record in records.values():
        assert record["notebook"]["warm_starts"] == record["notebook"]["process_starts"] == 1  # forked, not cold
    feedback = records["b_looks_for_traces"]["items"][0]["feedback"]
    seen = json.loads(feedback.split("SEEN=", 1)[1].split("=END", 1)[0])
    assert {key: seen[key] for key in ("tmp", "home", "shm", "socket")} == dict.fromkeys(
        ("tmp", "home", "shm", "socket"), False
    )
    assert seen["pids"] == [1, 2]  # its own init and itself: neither the zygote nor the previous submission's daemon
    assert seen["caps"] == ["0000000000000000"] * 4
    assert (seen["nnp"], seen["uid"], seen["home_files"]) == ("1", 65534, [])
    assert grading_processes() == []  # the daemon went with its submission, the zygote with its worker


ADVERSARIAL = ROOT / "tests" / "adversarial"
HOSTILE = yaml.safe_load((ADVERSARIAL / "expected.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["memory_bomb_in_function.ipynb", "process_bomb_in_function.ipynb"])
def test_a_warm_child_is_held_to_the_limits_of_its_own_cgroups(name, grade):
    """Each fork is moved into the submission's cgroups: the limits hold as for a cold child."""
    spec = HOSTILE[name]
    done = grade("-f", "json", "-a", SHORT_LIMITS, ADVERSARIAL / "notebooks" / name, env={"GRADER_WARM_CHILDREN": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["notebook"]["warm_starts"] >= 1
    assert set(spec["limits"]) <= set(report["notebook"]["limits_hit"])
    statuses = {item["id"]: item["status"] for item in report["items"]}
    assert {item: statuses[item] for item in spec.get("items", {})} == spec.get("items", {})
    assert report["score"] <= spec["score_at_most"]
    assert grading_processes() == []
