"""Train a model to solve the word problems with the calculator tool, by GRPO (grpo.py) on rewards.py's reward.

    python simple_train.py --model qwen2.5-coder-0.5b --steps 50 --questions-per-step 8 --group-size 8

Each step plays --group-size episodes of --questions-per-step train-split questions with the shared episode loop,
scores them, and updates a LoRA adapter: locally (engines/lora.py) or through ART (engines/art.py). Writes
OUT/metrics.jsonl, OUT/curve.png, OUT/rollouts/, OUT/eval/, OUT/checkpoints/step-NNNN/ (the latest 2 good ones;
evaluate one with `simple_eval_tool.py --adapter DIR`) and OUT/summary.json. Rerunning the same command resumes from
the last good checkpoint (a damaged one is passed over with a warning; none good: the run stops); a changed
configuration is refused.
"""

import argparse
import asyncio
import json
import time
from pathlib import Path

import cli
import evaluation
import grpo
import rewards
import runs
from dataset import DEFAULT_TEST_SET, generate, load_problems
from engines import EngineError, choose_backend
from engines.models import ModelError, model_name
from episode import Sampling, derive_seed, run_episode

# Flags that change how fast or how long a run goes, not what it learns: a resumed run may change them.
NOT_CONFIG = {"out", "batch_size", "micro_batch", "max_minutes", "steps", "report_to"}


def build_parser() -> argparse.ArgumentParser:
    p = cli.Parser(__doc__)
    add = p.add_argument
    add("--model", default="qwen2.5-coder-0.5b", help="offline alias, folder or hub id (art: e.g. a bnb-4bit one)")
    add("--backend", choices=["auto", "local", "art"], default="auto", help="auto: art where it can run, else local")
    add("--steps", type=int, default=50, help="training steps (may grow when resuming)")
    add("--questions-per-step", type=int, default=8, help="train-split questions per step")
    add("--group-size", type=int, default=8, help="sampled episodes per question (the GRPO group)")
    add("--lr", type=float, default=5e-5, help="AdamW learning rate of the LoRA adapter")
    add("--lora-r", type=int, default=16, help="LoRA rank")
    add("--lora-alpha", type=int, default=32, help="LoRA alpha")
    add("--lora-targets", nargs="+", default=["q_proj", "k_proj", "v_proj", "o_proj"], help="LoRA target modules")
    add("--temperature", type=float, default=1.0, help="sampling temperature of the training episodes (> 0)")
    add("--scale-rewards", action="store_true", help="divide advantages by the group's reward std")
    add("--updates-per-batch", type=int, default=1, help="optimizer steps per batch (> 1: PPO-clipped ratio)")
    add("--clip", type=float, default=0.2, help="PPO clip range, used when --updates-per-batch > 1")
    w = rewards.Weights()  # the defaults live in rewards.py, with the reasons for them
    add("--format-reward", type=float, default=w.format_reward, help="bonus for a parsable number in the last <answer>")
    add("--malformed-penalty", type=float, default=w.malformed_penalty, help="penalty per malformed tool call")
    add("--malformed-cap", type=float, default=w.malformed_cap, help="cap on the total malformed penalty (< 1)")
    add("--max-new-tokens", type=int, default=256, help="per assistant turn")
    add("--max-turns", type=int, default=5, help="tool rounds before an episode is cut")
    add("--eval-every", type=int, default=10, help="greedy test-set eval every K steps (0: only at the end)")
    add("--eval-n", type=int, default=100, help="test-set questions per eval (the first draw of seed 0)")
    add("--seed", type=int, default=0, help="seeds the questions, the LoRA init and the sampling")
    add("--max-minutes", type=float, help="stop cleanly after the step in progress once this much time has passed")
    add("--out", help="output folder (default: runs/train-<model>)")
    add("--report-to", choices=runs.Reporter.KINDS, default="none", help="also log each step's metrics to a tracker")
    add("--batch-size", type=int, default=64, help="turns generated at once")
    add("--micro-batch", type=int, default=4, help="sequences per forward/backward pass in the update")
    return p


def check_args(p: argparse.ArgumentParser, args) -> rewards.Weights:
    for name in ("steps", "questions_per_step", "lora_r", "lora_alpha", "updates_per_batch", "max_new_tokens",
                 "max_turns", "eval_n", "batch_size", "micro_batch"):  # fmt: skip
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.group_size < 2:
        p.error("--group-size must be at least 2 (advantages compare episodes within a group)")
    if args.lr <= 0 or args.temperature <= 0 or args.clip <= 0:
        p.error("--lr, --temperature and --clip must be > 0")
    if args.eval_every < 0 or (args.max_minutes is not None and args.max_minutes < 0):
        p.error("--eval-every and --max-minutes must be >= 0")
    weights = rewards.Weights(args.format_reward, args.malformed_penalty, args.malformed_cap)
    if complaint := rewards.check_weights(weights):
        p.error(complaint)
    return weights


def train_questions(args, step: int) -> list:
    """The questions of `step` (1-based): the next slice of the run's own train-split draw."""
    pos = (step - 1) * args.questions_per_step
    return generate("train", pos + args.questions_per_step, args.seed)[pos:]


async def play_groups(engine, problems, args, tools_in_prompt: bool, sampling: Sampling) -> list[list]:
    """--group-size episodes of every problem, all in flight at once (the engine batches their turns)."""
    episodes = await asyncio.gather(*[run_episode(engine, p, True, args.max_turns, tools_in_prompt, sampling)
                                      for p in problems for _ in range(args.group_size)])  # fmt: skip
    return [episodes[i : i + args.group_size] for i in range(0, len(episodes), args.group_size)]


async def train(args, updater, out: Path, weights: rewards.Weights, reporter=None) -> dict | None:
    """The GRPO loop over an updater (engines/lora.py or engines/art.py): play, score, update, evaluate, log, save.
    Returns the final summary, or None when stopped early by --max-minutes or already done."""
    engine, step, started = updater.engine, updater.step, time.time()
    reporter = reporter or runs.Reporter("none", out, {})
    runs.truncate_metrics(out, step)  # steps logged after the last checkpoint run again
    eval_problems = evaluation.select(load_problems(str(DEFAULT_TEST_SET)), args.eval_n, seed=0)
    while step < args.steps:
        t0 = time.time()
        sampling = Sampling(args.temperature, derive_seed(args.seed, "train", step + 1), args.max_new_tokens)
        groups = await play_groups(engine, train_questions(args, step + 1), args, updater.tools_in_prompt, sampling)
        scores = [[rewards.reward(ep, weights) for ep in group] for group in groups]
        result = await updater.update(groups, scores)
        step = result["step"]  # the backend's own count (ART keeps its own)
        runs.write_rollouts(out, step, groups)
        summary, final = None, step >= args.steps
        if final or (args.eval_every and step % args.eval_every == 0):
            greedy = Sampling(0.0, derive_seed(args.seed, "eval", step), args.max_new_tokens)
            path = out / "eval" / f"step-{step:04d}.jsonl"
            summary = await evaluation.evaluate(engine, eval_problems, greedy, args.max_turns, updater.tools_in_prompt,
                                                path)  # fmt: skip
        row = {"step": step} | rewards.batch_metrics([ep for g in groups for ep in g], weights)
        row["skipped_groups"] = sum(grpo.group_advantages(s, args.scale_rewards) is None for s in scores)
        row |= {k: result[k] for k in ("loss", "grad_norm", "train_tokens")}
        row |= {"eval_acc": summary["accuracy"] if summary else None, "step_s": round(time.time() - t0, 1)}
        row |= peak_gpu_memory()
        runs.append_metrics(out, row)
        reporter.log(row)
        runs.plot_curve(out)
        adapter = updater.save(step)
        print(json.dumps(row), flush=True)
        if final:
            return {"step": step, "adapter": adapter, "model_sha256": updater.model_sha256} | summary
        if args.max_minutes is not None and time.time() - started >= args.max_minutes * 60:
            print(f"stopped after step {step} (--max-minutes); rerun the same command to resume", flush=True)
            return None
    print(f"{out} already holds {step} steps (--steps {args.steps}); nothing to do")
    return None


def peak_gpu_memory() -> dict:
    import torch

    return {"peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)} if torch.cuda.is_available() else {}


async def start_and_train(backend: str, args, out: Path, weights: rewards.Weights) -> dict | None:
    if backend == "art":
        from engines.art import ARTUpdater

        updater = await ARTUpdater.start(args, out, weights)
    else:
        from engines.lora import LocalUpdater

        updater = LocalUpdater(args, out)
    reporter = runs.Reporter(args.report_to, out, runs.config_of(args, "simple_train", NOT_CONFIG))
    try:
        return await train(args, updater, out, weights, reporter)
    finally:
        reporter.close()
        await updater.close()


def main(argv=None) -> dict | None:
    parser = build_parser()
    args = parser.parse_args(argv)
    weights = check_args(parser, args)
    out = Path(args.out or f"runs/train-{model_name(args.model)}")
    config = runs.config_of(args, "simple_train", NOT_CONFIG)
    try:
        backend = choose_backend(args.backend)
        runs.open_run(out, config)
        result = asyncio.run(start_and_train(backend, args, out, weights))
    except (ModelError, EngineError, runs.CheckpointError) as e:
        parser.exit(1, f"error: {e}\n")
    if result is None:
        return None
    summary = {"config": config, "git_commit": runs.git_commit(), "model": model_name(args.model),
               "dataset": "synthetic-test", "backend": backend} | result  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"step {result['step']}: test accuracy {result['accuracy']:.1%} on {result['n_episodes']} questions")
    print(f"results in {out}")
    return summary


if __name__ == "__main__":
    main()
