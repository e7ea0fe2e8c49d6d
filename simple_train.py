"""Train a model to solve the word problems with the calculator tool, by GRPO (grpo.py) on rewards.py's reward.

    python simple_train.py --model qwen2.5-coder-0.5b --steps 50 --questions-per-step 8 --group-size 8

Each step plays --group-size episodes of --questions-per-step train-split questions with the shared episode loop,
scores them, and updates a LoRA adapter. Writes OUT/metrics.jsonl, OUT/curve.png, OUT/checkpoints/step-NNNN/ (the
latest 2; evaluate one with `simple_eval_tool.py --adapter DIR`), OUT/eval/ and OUT/summary.json. Rerunning the
same command resumes from the last checkpoint; a changed configuration is refused.
"""

import argparse
import asyncio
import json
import time
from pathlib import Path

import rewards
import training
from engines import EngineError, choose_backend
from evaluation import git_commit, open_run
from models import ModelError, model_name


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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


def train_local(args, out: Path, weights: rewards.Weights) -> dict | None:
    """The local backend: LocalEngine samples from the same in-memory PEFT model that grpo.update trains."""
    import torch

    import grpo
    from engines import LocalEngine
    from episode import template_ignores_tools
    from models import load_tokenizer, resolve_model

    training.seed_everything(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = resolve_model(args.model)
    tokenizer = load_tokenizer(resolved)
    ckpt = training.latest_checkpoint(out)
    lm = training.load_policy(resolved, device, args, ckpt)
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    step = training.load_checkpoint(ckpt, optimizer)["step"] if ckpt else 0
    training.read_metrics(out, up_to=step)  # a step logged but not checkpointed runs again
    engine = LocalEngine(lm, tokenizer, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                         batch_size=args.batch_size)  # fmt: skip
    tools_in_prompt = template_ignores_tools(tokenizer)
    try:
        started = time.time()
        while step < args.steps:
            step, t0, summary = step + 1, time.time(), None
            engine.seed = args.seed * 100_003 + step
            problems = training.train_questions(args, step)
            groups = asyncio.run(
                training.play_groups(engine, problems, args.group_size, args.max_turns, tools_in_prompt)
            )
            scores = [[rewards.reward(ep, weights) for ep in group] for group in groups]
            samples, skipped = grpo.batch_samples(groups, scores, args.scale_rewards)
            stats = grpo.update(
                lm, optimizer, samples, pad_id=tokenizer.pad_token_id, micro_batch=args.micro_batch,
                updates=args.updates_per_batch, clip=args.clip, temperature=args.temperature,
            )  # fmt: skip
            row = {"step": step} | training.step_metrics(groups, weights) | {"skipped_groups": skipped}
            row |= {"loss": stats["loss"], "grad_norm": stats["grad_norm"], "train_tokens": stats["tokens"]}
            final = step == args.steps
            if final or (args.eval_every and step % args.eval_every == 0):
                summary = asyncio.run(training.evaluate(engine, args, tools_in_prompt, out, step))
            row |= {"eval_acc": summary["accuracy"] if summary else None, "step_s": round(time.time() - t0, 1)}
            if torch.cuda.is_available():
                row["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            training.append_metrics(out, row)
            training.plot_curve(out)
            ckpt = training.save_checkpoint(out, step, lm, optimizer, data_pos=step * args.questions_per_step)
            print(json.dumps(row), flush=True)
            if final:
                return {"step": step, "adapter": str(ckpt), "model_sha256": resolved.sha256} | summary
            if args.max_minutes is not None and time.time() - started >= args.max_minutes * 60:
                print(f"stopped after step {step} (--max-minutes); rerun the same command to resume", flush=True)
                return None
    finally:
        engine.close()
    print(f"{out} already holds {step} steps (--steps {args.steps}); nothing to do")
    return None


def main(argv=None) -> dict | None:
    parser = build_parser()
    args = parser.parse_args(argv)
    weights = check_args(parser, args)
    out = Path(args.out or f"runs/train-{model_name(args.model)}")
    try:
        backend = choose_backend(args.backend)
        open_run(out, training.config_of(args))
        if backend == "art":
            import art_backend

            result = art_backend.train(args, out, weights)
        else:
            result = train_local(args, out, weights)
    except (ModelError, EngineError) as e:
        parser.exit(1, f"error: {e}\n")
    if result is None:
        return None
    summary = {"config": training.config_of(args), "git_commit": git_commit(), "model": model_name(args.model),
               "dataset": "synthetic-test", "backend": backend} | result  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"step {result['step']}: test accuracy {result['accuracy']:.1%} on {result['n_episodes']} questions")
    print(f"results in {out}")
    return summary


if __name__ == "__main__":
    main()
