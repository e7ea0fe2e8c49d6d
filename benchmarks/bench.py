"""Rollout speed: the same tool episodes through (a) one question at a time with `generate` (how the public
versions of this project evaluate), (b) plain `generate` in padded batches, (c) our engine (static decoder, CUDA
graphs).

    python -m benchmarks.bench --model qwen2.5-coder-0.5b --n 256 --max-new-tokens 256 --out benchmarks/gpu.json

Prints generated tokens/s (completion tokens, steady state: a warm-up pass runs first and is timed apart: all the
episodes for (c), so that every batch shape has its CUDA graph, 8 for (b), 1 for (a)),
episodes/s and peak GPU memory for each way, greedy and at temperature 1; then applies one GRPO update to a LoRA
adapter in place and runs (c) again, to show it generates from the new weights without reloading or recapturing.
The measured pass is a new call (its own seed), as every training step and eval is: (c) starts it from a decoder
that holds no rows, with the shapes and graphs of the warm-up allocated.
With --trace, (c) records every batch it decodes (rows, prompt tokens, decode steps, seconds) to see where time goes.
"""

import asyncio
import json
import time
from pathlib import Path

import torch

import cli
import grpo
import rewards
from dataset import DEFAULT_TEST_SET, load_problems
from engines import models
from engines.local import LocalEngine
from episode import Sampling, run_episode, template_ignores_tools


def play(engine, problems, tools_in_prompt, args, sampling, one_at_a_time=False):
    def episode(p):
        return run_episode(engine, p, True, args.max_turns, tools_in_prompt, sampling)

    async def run():
        if one_at_a_time:
            return [await episode(p) for p in problems]
        return await asyncio.gather(*[episode(p) for p in problems])

    return asyncio.run(run())


def measure(name, engine, temperature, problems, args, tools_in_prompt, one_at_a_time=False, warmup=8):
    """Warm up on a few episodes, then time all of them (a new call: its own seed)."""
    cuda = torch.cuda.is_available()
    started = time.perf_counter()
    warm = Sampling(temperature, 0, args.max_new_tokens)
    play(engine, problems[:warmup], tools_in_prompt, args, warm, one_at_a_time)
    warm_s = time.perf_counter() - started
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    measured = Sampling(temperature, 1, args.max_new_tokens)
    episodes = play(engine, problems, tools_in_prompt, args, measured, one_at_a_time)
    if cuda:
        torch.cuda.synchronize()
    wall = time.perf_counter() - started
    tokens = sum(t.completion_tokens for ep in episodes for t in ep.turns)
    row = {
        "way": name,
        "temperature": temperature,
        "episodes": len(episodes),
        "tokens": tokens,
        "wall_s": round(wall, 2),
        "tok_per_s": round(tokens / wall, 1),
        "episodes_per_s": round(len(episodes) / wall, 3),
        "warmup_s": round(warm_s, 1),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "accuracy": round(sum(ep.correct for ep in episodes) / len(episodes), 3),
    }
    print(json.dumps(row), flush=True)
    return row, episodes


def same_tokens(a, b) -> float:
    """Share of episodes whose every turn has the same token ids in both runs."""
    same = [
        [t.completion_ids for t in x.turns] == [t.completion_ids for t in y.turns] for x, y in zip(a, b, strict=True)
    ]
    return round(sum(same) / len(same), 3)


def grpo_update(model, engine, episodes, group_size, lr) -> float:
    """One real GRPO step on the episodes, as training does it (consecutive episodes form a group)."""
    groups = [episodes[i : i + group_size] for i in range(0, len(episodes), group_size)]
    group_rewards = [[rewards.reward(ep, rewards.Weights()) for ep in g] for g in groups]
    samples, _ = grpo.batch_samples(groups, group_rewards, scale=False)
    if not samples:  # every group agreed: move the adapter anyway so that the weights really change
        samples = [s for ep in episodes[:8] for s in grpo.samples_of(ep, 1.0)]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    cuda = torch.cuda.is_available()
    started = time.perf_counter()
    grpo.update(model, optimizer, samples, pad_id=engine.tokenizer.pad_token_id, micro_batch=16 if cuda else 2)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main(args) -> list[dict]:
    from peft import LoraConfig, get_peft_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    try:
        problems = load_problems(args.dataset)[: args.n]
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        resolved = models.resolve_model(args.model)
    except (models.ModelError, ValueError, OSError) as e:
        raise SystemExit(f"error: {e}") from None
    tokenizer = models.load_tokenizer(resolved)
    model = models.load_model(resolved, device)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    model = get_peft_model(model, lora)  # B starts at 0: same outputs as the base model until the update
    print(f"model loaded on {device} in {time.perf_counter() - started:.1f} s", flush=True)
    tools_in_prompt = template_ignores_tools(tokenizer)

    def engine(batch_size, method):
        return LocalEngine(model, tokenizer, batch_size=batch_size, method=method)

    rows, runs = [], {}
    for temperature in args.temperatures:
        if "a" in args.ways:
            rows.append(
                measure(
                    "a: generate, one at a time",
                    engine(1, "generate"),
                    temperature,
                    problems[: args.n_a],
                    args,
                    tools_in_prompt,
                    one_at_a_time=True,
                    warmup=1,
                )[0]
            )
        if "b" in args.ways:
            row, runs["b", temperature] = measure(
                f"b: generate, padded batches of {args.batch_b}",
                engine(args.batch_b, "generate"),
                temperature,
                problems,
                args,
                tools_in_prompt,
            )
            rows.append(row)
        if "c" in args.ways:
            c = engine(args.n, "static")
            row, runs["c", temperature] = measure(
                "c: engine (static decoder)", c, temperature, problems, args, tools_in_prompt, warmup=len(problems)
            )
            rows.append(row)
            if args.trace:
                for record in c.history:
                    print("trace", json.dumps(record))
            c.close()
    if ("b", 0.0) in runs and ("c", 0.0) in runs:
        print(f"greedy agreement (c) vs (b): {same_tokens(runs['b', 0.0], runs['c', 0.0]):.1%} of episodes")
    if "c" in args.ways and 0.0 in args.temperatures:
        c = engine(args.n, "static")
        play(c, problems[:8], tools_in_prompt, args, Sampling(0.0, 2, args.max_new_tokens))  # ready before the update
        update_s = grpo_update(model, c, runs["c", 0.0], 8, args.lr)
        row, after = measure(
            "c: engine, after an in-place LoRA update", c, 0.0, problems, args, tools_in_prompt, warmup=0
        )
        rows.append(row | {"grpo_update_s": round(update_s, 2)})
        c.close()
        changed = 1 - same_tokens(runs["c", 0.0], after)
        print(f"GRPO update of {len(runs['c', 0.0])} episodes: {update_s:.1f} s; episodes changed by it: {changed:.1%}")
        if "b" in args.ways:  # the engine must follow the new weights exactly as plain generate does
            _, b_after = measure(
                "b: generate, after the update",
                engine(args.batch_b, "generate"),
                0.0,
                problems,
                args,
                tools_in_prompt,
                warmup=0,
            )
            print(f"greedy agreement after the update (c) vs (b): {same_tokens(b_after, after):.1%} of episodes")
    # Ratios compare the main passes only, not the ones after the update.
    by = {(r["way"][0], r["temperature"]): r["tok_per_s"] for r in rows if "after" not in r["way"]}
    for t in args.temperatures:
        for other in "ab":
            if ("c", t) in by and (other, t) in by:
                print(f"T={t}: tok/s ratio c/{other} = {by['c', t] / by[other, t]:.1f}x")
    if args.out:
        Path(args.out).write_text(json.dumps({"config": vars(args), "device": device_name(), "rows": rows}, indent=2))
    return rows


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU, {torch.get_num_threads()} threads"


def parse_args(argv=None):
    p = cli.Parser(__doc__)
    p.add_argument("--model", default="qwen2.5-coder-0.5b", help="offline alias, GGUF file or folder")
    p.add_argument("--dataset", default=str(DEFAULT_TEST_SET), help="questions (the first --n are used)")
    p.add_argument("--n", type=int, default=256, help="episodes for (b) and (c)")
    p.add_argument("--n-a", type=int, default=16, help="episodes for (a), which is slow")
    p.add_argument("--batch-b", type=int, default=64, help="padded batch size of (b)")
    p.add_argument("--ways", default="abc", help="which ways to run, e.g. 'bc'")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 1.0], help="each way runs at each one")
    p.add_argument("--max-new-tokens", type=int, default=256, help="per assistant turn")
    p.add_argument("--max-turns", type=int, default=5, help="tool rounds before an episode is cut")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the demonstration GRPO update")
    p.add_argument("--out", help="write the rows as JSON here")
    p.add_argument("--trace", action="store_true", help="print every batch the static decoder ran (warm-up too)")
    args = p.parse_args(argv)
    if args.n < 8 or args.n_a < 1 or not set(args.ways) <= set("abc"):
        p.error("--n must be >= 8, --n-a >= 1, --ways a subset of 'abc'")
    return args


if __name__ == "__main__":
    main(parse_args())
