"""--device: everything works without a GPU; GPU runs only where there is one."""

from __future__ import annotations

import pytest
import torch

from conftest import SAMPLES, SHORT_LIMITS

CUDA = torch.cuda.is_available()


def test_cpu_device_is_recorded(grade_json):
    report = grade_json(SAMPLES / "correct.ipynb", "--device", "cpu")
    assert report["environment"]["device"] == "cpu"
    assert report["score"] == 100


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error(grade):
    done = grade("--device", "cuda", SAMPLES / "correct.ipynb")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "grade: error: --device cuda: no CUDA device is available here (torch.cuda.is_available() is False)"
    )


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("sample", ["correct.ipynb", "wrong_sgd_step_rebinds.ipynb", "kills_own_process.ipynb"])
def test_samples_on_the_gpu_get_the_cpu_verdicts(grade_json, sample):
    on_cpu = grade_json(SAMPLES / sample, "--device", "cpu")
    on_gpu = grade_json(SAMPLES / sample, "--device", "cuda")
    assert on_gpu["environment"]["device"] == "cuda"
    assert [(i["id"], i["status"], i["score"]) for i in on_gpu["items"]] == [
        (i["id"], i["status"], i["score"]) for i in on_cpu["items"]
    ]


@pytest.mark.parametrize(
    "sample",
    [
        "kills_own_process.ipynb",
        "sleeps_forever_in_function.ipynb",
    ],
)
def test_inline_workers_as_on_a_gpu_runner_give_the_same_verdicts(grade_json, sample):
    """CUDA does not survive fork(): a GPU runner serves every item from the notebook's
    own process and restarts it after a timeout or crash. Same verdicts, on the CPU."""
    forked = grade_json(SAMPLES / sample, "-a", SHORT_LIMITS)
    inline = grade_json(SAMPLES / sample, "-a", SHORT_LIMITS, env={"GRADER_INLINE_WORKERS": "1"})
    assert [(i["id"], i["status"], i["score"]) for i in inline["items"]] == [
        (i["id"], i["status"], i["score"]) for i in forked["items"]
    ]
    if sample in ("kills_own_process.ipynb", "sleeps_forever_in_function.ipynb"):
        assert inline["notebook"]["process_starts"] == 2  # restarted once, after the bad item
