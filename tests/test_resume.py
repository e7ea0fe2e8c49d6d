"""A killed-and-resumed training run is the uninterrupted run: same metrics, same sampled episodes, bitwise the
same adapter and optimizer. Qwen2.5-Coder-0.5B on the CPU (SmolLM2 never answers or calls the tool, so every group
would be skipped and no update would happen); a format bonus gives the groups a signal."""

import json

import pytest
import torch
from conftest import run_script
from safetensors.torch import load_file

RUN = ["simple_train.py", "--model", "qwen2.5-coder-0.5b", "--backend", "local", "--questions-per-step", "1",
       "--group-size", "4", "--max-new-tokens", "24", "--max-turns", "1", "--eval-n", "1", "--eval-sets", "test",
       "--format-reward", "0.1", "--seed", "3"]  # fmt: skip
TIMING = {"step_s", "rollout_s", "update_s", "eval_s", "peak_gpu_gib"}


def train(out, steps: int, eval_every: int) -> None:
    result = run_script(*RUN, "--steps", steps, "--eval-every", eval_every, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]


def metrics(out) -> list[dict]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().split("\n") if line]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def rollouts(out, step: int) -> list[list[list[int]]]:
    """The completion ids of every turn of every training episode of `step`, in order."""
    path = out / "rollouts" / f"step-{step:04d}.jsonl"
    return [json.loads(line)["completion_ids"] for line in path.read_text().split("\n") if line]


def tensors(checkpoint) -> dict[str, torch.Tensor]:
    found = dict(load_file(checkpoint / "adapter_model.safetensors"))
    for moment in sorted(checkpoint.glob("optimizer*.pt")):
        saved = torch.load(moment)
        for key, value in (saved["state"] if "state" in saved else saved).items():
            for name, t in value.items() if isinstance(value, dict) else [(moment.stem, value)]:
                if torch.is_tensor(t):
                    found[f"{moment.stem}/{key}/{name}"] = t
    return found


@pytest.mark.slow
def test_a_resumed_run_is_the_uninterrupted_run(qwen, tmp_path):
    whole, resumed, quiet = tmp_path / "whole", tmp_path / "resumed", tmp_path / "quiet"
    # Two steps are enough: the resumed process starts from the step-1 checkpoint (adapter, AdamW moments after an
    # update, RNG states, stream position) and must play and train step 2 as the uninterrupted run did.
    train(whole, 2, 1)
    train(resumed, 1, 1)
    train(resumed, 2, 1)  # a new process, from the step-1 checkpoint
    assert metrics(resumed) == metrics(whole)
    assert any(r.get("loss") is not None for r in metrics(whole)), "every group was skipped: no update was tested"
    assert metrics(whole)[1].get("loss") is not None, "step 1 made no update: the resume would start from nothing"
    rows = metrics(whole)
    assert [r["step"] for r in rows] == [0, 1, 2]
    for before, r in zip(rows, rows[1:], strict=False):  # the stream position, refills included, went on
        assert r["data_pos"] == before["data_pos"] + 1 + r["refilled"]
    for step in (1, 2):
        assert rollouts(resumed, step) == rollouts(whole, step)
    a, b = tensors(whole / "checkpoints" / "step-0002"), tensors(resumed / "checkpoints" / "step-0002")
    assert a.keys() == b.keys() and len(a) > 1
    assert all(torch.equal(a[k], b[k]) for k in a)
    # Evals sample nothing the training episodes depend on.
    train(quiet, 2, 0)
    assert [rollouts(quiet, s) for s in (1, 2)] == [rollouts(whole, s) for s in (1, 2)]
