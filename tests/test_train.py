"""simple_train.py on SmolLM2 as a subprocess (tiny settings), and one real GRPO update with its checkpoint."""

import json

import pytest
import torch
from conftest import assert_one_line_error, run_script

import grpo
import runs

TINY = ["--model", "smollm2-135m", "--backend", "local", "--questions-per-step", "1", "--group-size", "2",
        "--max-new-tokens", "8", "--max-turns", "1", "--eval-n", "1"]  # fmt: skip
MIB = 1 << 20


def test_train_stops_resumes_and_the_adapter_evaluates(smollm2, tmp_path):
    out = tmp_path / "run"
    first = run_script("simple_train.py", *TINY, "--steps", "2", "--max-minutes", "0", "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "stopped after step 1" in first.stdout and not (out / "summary.json").exists()
    assert runs.latest_checkpoint(out).name == "step-0001"
    second = run_script("simple_train.py", *TINY, "--steps", "2", "--out", out)
    assert second.returncode == 0, second.stderr[-2000:]
    rows = runs.read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2]  # resumed at the next step
    for r in rows:
        assert r["loss"] is None if r["skipped_groups"] == 1 else torch.isfinite(torch.tensor(r["loss"]))
        assert {"reward_mean", "reward_std", "train_acc", "tool_rate", "malformed_rate", "tokens", "step_s"} <= set(r)
    assert rows[0]["eval_acc"] is None and rows[1]["eval_acc"] is not None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["step"] == 2 and summary["n_episodes"] == 1 and summary["config"]["group_size"] == 2
    assert (out / "curve.png").stat().st_size > 0 and (out / "eval" / "step-0002.jsonl").exists()
    ckpt = out / "checkpoints" / "step-0002"
    assert json.loads((ckpt / "state.json").read_text()) == {"step": 2, "data_pos": 2}

    changed = run_script("simple_train.py", *TINY, "--steps", "3", "--lr", "1e-3", "--out", out, timeout=120)
    assert_one_line_error(changed, "another configuration (lr)")

    evaluated = run_script("simple_eval_tool.py", "--model", "smollm2-135m", "--adapter", ckpt, "--n", "1",
                           "--seeds", "0", "--max-new-tokens", "8", "--out", tmp_path / "eval")  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["config"]["adapter"] == str(ckpt)


def test_one_real_update_and_its_checkpoint(smollm2, tmp_path):
    from types import SimpleNamespace

    from engines.lora import load_policy
    from engines.models import load_tokenizer

    args = SimpleNamespace(lora_r=16, lora_alpha=32, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"])
    tok = load_tokenizer(smollm2)
    lm = load_policy(smollm2, "cpu", args)
    prompt = tok("<|im_start|>user\nWhat is 12*34?<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    batch = [grpo.Sample(prompt, tok("<answer>408</answer>")["input_ids"], 1.0),
             grpo.Sample(prompt, tok("<answer>48</answer>")["input_ids"], -1.0)]  # fmt: skip
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-3)
    before = [lp.sum().item() for lp in grpo.completion_logprobs(lm, batch, tok.pad_token_id)]
    stats = grpo.update(lm, optimizer, batch, pad_id=tok.pad_token_id)
    after = [lp.sum().item() for lp in grpo.completion_logprobs(lm, batch, tok.pad_token_id)]
    assert torch.isfinite(torch.tensor(stats["loss"])) and stats["tokens"] == sum(len(s.completion_ids) for s in batch)
    assert after[0] > before[0] and after[1] < before[1]  # the right answer got likelier, the wrong one less

    ckpt = runs.save_checkpoint(tmp_path, 1, lm, optimizer, data_pos=8)
    sizes = {p.name: p.stat().st_size for p in ckpt.iterdir()}
    assert {"adapter_model.safetensors", "optimizer.pt", "optimizer-exp_avg.pt", "optimizer-exp_avg_sq.pt"} <= set(
        sizes
    )
    assert max(sizes.values()) < 16 * MIB, sizes
    fresh = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-3)
    assert runs.load_checkpoint(ckpt, fresh) == {"step": 1, "data_pos": 8}
    saved, loaded = optimizer.state_dict()["state"], fresh.state_dict()["state"]
    assert all(torch.equal(saved[i]["exp_avg_sq"], loaded[i]["exp_avg_sq"]) for i in saved)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--group-size", "1"], "--group-size must be at least 2"),
        (["--malformed-cap", "1"], "--malformed-cap 1.0 must stay below"),
        (["--temperature", "0"], "must be > 0"),
        (["--backend", "art"], "use --backend local"),
    ],
)
def test_bad_input_fails_fast_with_one_line(tmp_path, args, message):
    result = run_script("simple_train.py", *args, "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(result, message)


def test_issue_acceptance_command_completes_then_resumes_for_a_third_step(smollm2, tmp_path):
    command = ["simple_train.py", "--model", "smollm2-135m", "--backend", "local", "--questions-per-step", "2",
               "--group-size", "4", "--max-new-tokens", "48", "--eval-n", "4", "--out", tmp_path / "run"]  # fmt: skip
    first = run_script(*command, "--steps", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    third = run_script(*command, "--steps", "3")
    assert third.returncode == 0, third.stderr[-2000:]
    assert [r["step"] for r in runs.read_metrics(tmp_path / "run")] == [1, 2, 3]
    assert runs.latest_checkpoint(tmp_path / "run").name == "step-0003"
