"""simple_train.py on SmolLM2 as a subprocess (tiny settings), one real GRPO update with its checkpoint, the refill
of groups without signal over a scripted engine, and LoRA on the MLP projections through the decoder."""

import asyncio
import json

import pytest
import torch
from conftest import assert_one_line_error, run_script

import dataset
import grpo
import rewards
import runs
import simple_train
from episode import Turn

TINY = ["--model", "smollm2-135m", "--backend", "local", "--questions-per-step", "1", "--group-size", "2",
        "--max-new-tokens", "8", "--max-turns", "1", "--eval-n", "1", "--eval-sets", "test"]  # fmt: skip
MIB = 1 << 20


def eval_files(folder) -> list[str]:
    """Small test-ood and dev stand-ins (the set names come from the file names)."""
    for name, seed in (("test-ood", 5), ("dev", 6)):
        dataset.write_jsonl(dataset.generate("test", 2, seed), folder / f"{name}.jsonl")
    return ["--eval-sets", "test", str(folder / "test-ood.jsonl"), str(folder / "dev.jsonl")]


def test_the_train_stream_is_generate_s_draw_from_any_position():
    first = dataset.generate("train", 300, 4)
    for pos in (0, 5, 64, 130):
        stream = simple_train.train_stream(4, pos)
        assert [next(stream).id for _ in range(300 - pos)] == [p.id for p in first[pos:]]


def stream_ids(seed: int, start: int, stop: int) -> set[str]:
    return {p.id for p in dataset.generate("train", stop, seed)[start:]}


def test_train_stops_resumes_and_the_adapter_evaluates(smollm2, tmp_path):
    out, sets = tmp_path / "run", eval_files(tmp_path)
    first = run_script("simple_train.py", *TINY, *sets, "--steps", "2", "--max-minutes", "0", "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "stopped after step 1" in first.stdout and not (out / "summary.json").exists()
    assert runs.latest_checkpoint(out).name == "step-0001"
    second = run_script("simple_train.py", *TINY, *sets, "--steps", "2", "--out", out)
    assert second.returncode == 0, second.stderr[-2000:]
    rows = runs.read_metrics(out)
    assert [r["step"] for r in rows] == [0, 1, 2]  # the untrained policy's evals, then resumed at the next step
    evals = ("eval_acc", "eval_acc_ood", "eval_acc_dev")
    assert set(rows[0]) == {"step", "data_pos", *evals} and rows[0]["data_pos"] == 0
    for r in rows[1:]:
        assert r["loss"] is None if r["skipped_groups"] == 1 else torch.isfinite(torch.tensor(r["loss"]))
        assert {"reward_mean", "reward_std", "train_acc", "tool_rate", "malformed_rate", "tokens", "step_s"} <= set(r)
        assert 0 <= r["rollout_s"] + r["update_s"] + r.get("eval_s", 0) <= r["step_s"] + 0.2  # the step's time, split
    assert all(rows[0][k] is not None and rows[1][k] is None and rows[2][k] is not None for k in evals)
    assert "eval_s" not in rows[1] and rows[2]["eval_s"] > 0  # only steps that evaluated
    # The train stream goes on where the checkpoint left it: a group without signal (SmolLM2 scores alike) was
    # replaced by the next question, and the step trained on questions from its own stretch of the stream.
    for before, r in zip(rows, rows[1:], strict=False):
        assert r["data_pos"] == before["data_pos"] + 1 + r["refilled"]
        trained = {rec["id"] for rec in runs.read_jsonl(out / "rollouts" / f"step-{r['step']:04d}.jsonl")}
        assert trained <= stream_ids(0, before["data_pos"], r["data_pos"])
        assert r["refilled"] == 1 or r["skipped_groups"] == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["step"] == 2 and summary["n_episodes"] == 1 and summary["config"]["group_size"] == 2
    assert set(summary["evals"]) == {"test", "test-ood", "dev"} and summary["evals"]["dev"]["n_episodes"] == 1
    for name in ("test", "test-ood", "dev"):
        assert [p.name for p in sorted((out / "eval" / name).iterdir())] == ["step-0000.jsonl", "step-0002.jsonl"]
        assert f"step 2: {name} accuracy" in second.stdout
    assert (out / "curve.png").stat().st_size > 0
    ckpt = out / "checkpoints" / "step-0002"
    assert json.loads((ckpt / "state.json").read_text()) == {"step": 2}

    changed = run_script("simple_train.py", *TINY, *sets, "--steps", "3", "--lr", "1e-3", "--out", out, timeout=120)
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

    ckpt = runs.save_checkpoint(tmp_path, 1, lm, optimizer)
    sizes = {p.name: p.stat().st_size for p in ckpt.iterdir()}
    assert {"adapter_model.safetensors", "optimizer.pt", "optimizer-exp_avg.pt", "optimizer-exp_avg_sq.pt"} <= set(
        sizes
    )
    assert max(sizes.values()) < 16 * MIB, sizes
    fresh = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-3)
    assert runs.load_checkpoint(ckpt, fresh) == {"step": 1}
    saved, loaded = optimizer.state_dict()["state"], fresh.state_dict()["state"]
    assert all(torch.equal(saved[i]["exp_avg_sq"], loaded[i]["exp_avg_sq"]) for i in saved)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--group-size", "1"], "--group-size must be at least 2"),
        (["--malformed-cap", "1"], "--malformed-cap 1.0 must stay below"),
        (["--temperature", "0"], "must be > 0"),
        (["--backend", "art"], "use --backend local"),
        (["--eval-sets", "test", "no-such-set"], "no-such-set is neither a set name (test, test-ood, dev) nor a file"),
        (["--refill-rounds", "-1"], "--refill-rounds, --curriculum and --max-minutes must be >= 0"),
        (["--curriculum", "-2"], "--refill-rounds, --curriculum and --max-minutes must be >= 0"),
    ],
)
def test_bad_input_fails_fast_with_one_line(tmp_path, args, message):
    result = run_script("simple_train.py", "--eval-sets", "test", *args, "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(result, message)


def test_issue_acceptance_command_completes_then_resumes_for_a_third_step(smollm2, tmp_path):
    command = ["simple_train.py", "--model", "smollm2-135m", "--backend", "local", "--questions-per-step", "2",
               "--group-size", "4", "--max-new-tokens", "48", "--eval-n", "4", "--eval-sets", "test",
               "--out", tmp_path / "run"]  # fmt: skip
    first = run_script(*command, "--steps", "2")
    assert first.returncode == 0, first.stderr[-2000:]
    third = run_script(*command, "--steps", "3")
    assert third.returncode == 0, third.stderr[-2000:]
    assert [r["step"] for r in runs.read_metrics(tmp_path / "run")] == [0, 1, 2, 3]
    assert runs.latest_checkpoint(tmp_path / "run").name == "step-0003"


def test_gpu_out_of_memory_stops_with_one_line_that_says_how_to_go_on(smollm2, tmp_path, monkeypatch, capsys):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.17 GiB. GPU 0 has ...\nmore")

    monkeypatch.setattr(grpo, "update", out_of_memory)  # in the first update of a real run
    with pytest.raises(SystemExit) as stop:
        simple_train.main([*TINY, "--steps", "1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 1 and err[-1] == (
        "error: GPU out of memory (CUDA out of memory. Tried to allocate 2.17 GiB. GPU 0 has ...); rerun with a "
        "smaller --micro-batch (now 4) or --batch-size (now 64): it resumes from the last checkpoint"
    )
    assert "Traceback" not in "\n".join(err)


class ScriptedEngine:
    """Answers the train stream's questions of even position right every other time it is asked (a group with a
    signal), those of odd position always wrong (a group whose episodes all score alike)."""

    def __init__(self, seed: int, n: int = 50):
        self.stream = {p.question: (i, p.answer) for i, p in enumerate(dataset.generate("train", n, seed))}
        self.asked: dict[str, int] = {}

    async def chat(self, messages, tools, sampling):
        question = messages[-1]["content"]
        (pos, answer), n = self.stream[question], self.asked.get(question, 0)
        self.asked[question] = n + 1
        text = f"<answer>{answer if pos % 2 == 0 and n % 2 == 0 else answer + '1'}</answer>"
        return Turn(text=text, finish_reason="stop", prompt_tokens=1, completion_tokens=1)


@pytest.mark.parametrize("rounds, skipped, played", [(0, 2, [0, 1, 2, 3]), (1, 1, [0, 1, 2, 3, 4, 5]),
                                                     (2, 0, [0, 1, 2, 3, 4, 5, 6])])  # fmt: skip
def test_groups_without_signal_are_replaced_by_the_next_questions(rounds, skipped, played):
    args = simple_train.build_parser().parse_args(["--questions-per-step", "4", "--group-size", "2", "--seed", "7",
                                                   "--refill-rounds", str(rounds)])  # fmt: skip
    engine, weights = ScriptedEngine(7), rewards.Weights()
    stream = simple_train.train_stream(7, 0)
    groups, scores, episodes, drawn = asyncio.run(simple_train.play_step(engine, args, 1, stream, weights, False))
    position = {p.id: i for i, p in enumerate(dataset.generate("train", 50, 7))}
    assert sorted({position[ep.problem.id] for ep in episodes}) == played and drawn == len(played)
    assert next(stream).id == dataset.generate("train", drawn + 1, 7)[drawn].id  # the stream goes on after them
    assert len(episodes) == 2 * len(played)  # replaced groups count in the step's metrics too
    # Round 1 replaces the groups of 1 and 3 by those of 4 and 5; round 2 the one of 5 by the one of 6. The groups
    # keep their places, and those with a signal are never replaced.
    kept = {0: [0, 1, 2, 3], 1: [0, 4, 2, 5], 2: [0, 4, 2, 6]}[rounds]
    assert [position[g[0].problem.id] for g in groups] == kept
    assert all(len({ep.problem.id for ep in g}) == 1 for g in groups)
    assert sum(grpo.group_advantages(s, False) is None for s in scores) == skipped
    assert scores == [[rewards.reward(ep, weights) for ep in g] for g in groups]


def test_the_curriculum_plays_short_questions_first_and_its_stream_position_covers_what_it_passed_over():
    assert [simple_train.max_steps_at(s, 8) for s in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 4, 4]
    assert simple_train.max_steps_at(1, 0) == 4  # off
    args = simple_train.build_parser().parse_args(["--questions-per-step", "4", "--group-size", "2", "--seed", "7",
                                                   "--refill-rounds", "0", "--curriculum", "8"])  # fmt: skip
    stream = simple_train.train_stream(7, 0)
    groups, _, _, read = asyncio.run(simple_train.play_step(ScriptedEngine(7, 400), args, 1, stream, rewards.Weights(),
                                                            False))  # fmt: skip
    first = dataset.generate("train", read + 1, 7)
    one_step = [p.id for p in first[:read] if p.steps == 1]
    assert [g[0].problem.id for g in groups] == one_step and len(one_step) == 4 and first[read - 1].steps == 1
    assert read > 4 and next(stream).id == first[read].id  # passed-over questions count in the position


def test_lora_on_the_mlp_trains_and_the_decoder_uses_it(smollm2):
    """--lora-targets gate_proj up_proj down_proj: the update moves the MLP adapter, and the local engine's decoder
    samples from the adapted model (its greedy turns are the peft model's own `generate`)."""
    from types import SimpleNamespace

    from engines.local import LocalEngine
    from engines.lora import load_policy
    from engines.models import load_tokenizer
    from episode import Sampling

    args = SimpleNamespace(lora_r=8, lora_alpha=16, lora_targets=["gate_proj", "up_proj", "down_proj"])
    tok = load_tokenizer(smollm2)
    lm = load_policy(smollm2, "cpu", args)
    names = [n for n, p in lm.named_parameters() if p.requires_grad]
    assert names and all(any(t in n for t in args.lora_targets) for n in names)
    prompt = tok("<|im_start|>user\nWhat is 12*34?<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    batch = [grpo.Sample(prompt, tok("<answer>408</answer>")["input_ids"], 1.0),
             grpo.Sample(prompt, tok("<answer>48</answer>")["input_ids"], -1.0)]  # fmt: skip
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-3)
    before = [lp.sum().item() for lp in grpo.completion_logprobs(lm, batch, tok.pad_token_id)]
    grpo.update(lm, optimizer, batch, pad_id=tok.pad_token_id)
    after = [lp.sum().item() for lp in grpo.completion_logprobs(lm, batch, tok.pad_token_id)]
    assert after[0] > before[0] and after[1] < before[1]
    with torch.no_grad():  # an adapter far enough from zero that the greedy turn must change with it
        torch.manual_seed(0)
        for name, p in lm.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)

    engine = LocalEngine(lm, tok, batch_size=2)
    greedy = Sampling(0.0, 0, 12)
    (turn,) = engine.generate([prompt], greedy)
    with torch.no_grad():
        own = lm.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0, len(prompt) :].tolist()
        with lm.disable_adapter():
            base = lm.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0, len(prompt) :].tolist()
    engine.close()
    assert own != base, "the update did not change the greedy turn: the check below would not tell"
    assert turn.completion_ids == own[: len(turn.completion_ids)] and len(turn.completion_ids) > 0
