"""Train a model to solve the word problems with the calculator tool, by GRPO (grpo.py) on rewards.py's reward.

    python simple_train.py --model qwen2.5-coder-0.5b --steps 50 --questions-per-step 8 --group-size 8

Each step plays --group-size episodes of --questions-per-step questions drawn from the run's train-split stream
with the shared episode loop and scores them; a group whose episodes all scored the same (no signal for GRPO) is
replaced by the group of the next question of the stream (--refill-rounds). Then it updates a LoRA adapter: locally
(engines/lora.py) or through ART (engines/art.py). Greedy evals on --eval-sets before the first step, every
--eval-every steps and at the end. Writes OUT/metrics.jsonl (a step-0 row: the untrained policy's evals),
OUT/curve.png, OUT/rollouts/, OUT/eval/<set>/, OUT/checkpoints/step-NNNN/ (the latest 2 good ones; evaluate one with
`simple_eval_tool.py --adapter DIR`) and OUT/summary.json. Rerunning the same command resumes from the last good
checkpoint at the stream position of its step (a damaged one is passed over with a warning; none good: the run
stops); a changed configuration is refused.
"""

import argparse
import asyncio
import itertools
import json
import time
from pathlib import Path

import torch

import cli
import dataset
import evaluation
import grpo
import rewards
import runs
from dataset import load_problems
from engines import EngineError, choose_backend
from engines.models import ModelError, first_line, model_name
from episode import DEFAULT_TOOL_PROMPT, TOOL_PROMPT_HELP, TOOL_PROMPTS, Sampling, derive_seed, run_episode

# Flags that change how fast or how long a run goes, not what it learns: a resumed run may change them.
NOT_CONFIG = {"out", "batch_size", "micro_batch", "max_minutes", "steps", "report_to", "trainer_gpu_ids",
              "inference_gpu_ids"}  # fmt: skip
DATA = Path(__file__).parent / "data"
SET_FILES = getattr(dataset, "SET_FILES", {name: DATA / f"{name}.jsonl" for name in ("test", "test-ood", "dev")})
set_name = getattr(dataset, "set_name", lambda path: Path(path).stem)
METRIC = {"test": "eval_acc", "test-ood": "eval_acc_ood", "dev": "eval_acc_dev"}  # metrics.jsonl's key of each set


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
    add("--progress-reward", type=float, default=w.progress_reward,
        help="times the share of the problem's step values that tool calls returned (cap + this < 1)")  # fmt: skip
    add("--max-new-tokens", type=int, default=256, help="per assistant turn")
    add("--max-turns", type=int, default=5, help="tool rounds before an episode is cut")
    add("--tool-prompt", choices=list(TOOL_PROMPTS), default=DEFAULT_TOOL_PROMPT,
        help=TOOL_PROMPT_HELP + "; of the training episodes and the evals (evaluate the adapter with it)")  # fmt: skip
    add("--refill-rounds", type=int, default=1, help="rounds replacing groups without signal by fresh questions")
    add("--curriculum", type=int, default=0, metavar="K", help="first K steps: at most 1, 2, 3, then 4 ops (0: off)")
    add("--eval-sets", nargs="+", default=list(SET_FILES), help="greedy evals: set names or JSONL files")
    add("--eval-every", type=int, default=10, help="evals every K steps (0: only before the first and at the end)")
    add("--eval-n", type=int, default=500, help="questions per eval set (the first draw of seed 0)")
    add("--seed", type=int, default=0, help="seeds the questions, the LoRA init and the sampling")
    add("--max-minutes", type=float, help="stop cleanly after the step in progress once this much time has passed")
    add("--out", help="output folder (default: runs/train-<model>)")
    add("--report-to", choices=runs.Reporter.KINDS, default="none", help="also log each step's metrics to a tracker")
    add("--trainer-gpu-ids", type=int, nargs="+", metavar="ID",
        help="art: ART's dedicated mode: training on these GPUs (from 0), vLLM on --inference-gpu-ids")  # fmt: skip
    add("--inference-gpu-ids", type=int, nargs="+", metavar="ID",
        help="art: the GPU of ART's vLLM in dedicated mode (e.g. 1); unset, both share every GPU, vLLM sleeping "
             "while the trainer runs")  # fmt: skip
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
    if min(args.eval_every, args.refill_rounds, args.curriculum) < 0 or (args.max_minutes or 0) < 0:
        p.error("--eval-every, --refill-rounds, --curriculum and --max-minutes must be >= 0")
    weights = rewards.Weights(args.format_reward, args.malformed_penalty, args.malformed_cap, args.progress_reward)
    if complaint := rewards.check_weights(weights):
        p.error(complaint)
    return weights


def load_eval_sets(p: argparse.ArgumentParser, args) -> dict[str, list]:
    """The first --eval-n questions of seed 0's draw of each --eval-sets entry (a set name or a JSONL file), by set
    name; a missing or unreadable file stops the run here, before any model is loaded."""
    sets = {}
    for entry in args.eval_sets:
        path = Path(SET_FILES.get(entry, entry))
        if entry in SET_FILES and not path.is_file():
            p.error(f"--eval-sets: the {entry} set's file {path} is missing")
        if not path.is_file():
            p.error(f"--eval-sets: {entry} is neither a set name ({', '.join(SET_FILES)}) nor a file")
        try:
            sets[set_name(path)] = evaluation.select(load_problems(str(path)), args.eval_n, seed=0)
        except ValueError as e:
            p.error(f"--eval-sets: {e}")
    return sets


def train_stream(seed: int, pos: int):
    """The run's train-split questions from position `pos` on, without end: the stream `generate` draws from."""
    return itertools.islice(dataset.iter_problems("train", seed), pos, None)


async def play_groups(engine, problems, args, tools_in_prompt: bool, sampling: Sampling) -> list[list]:
    """--group-size episodes of every problem, all in flight at once (the engine batches their turns)."""
    episodes = await asyncio.gather(*[run_episode(engine, p, True, args.max_turns, tools_in_prompt, sampling,
                                                  args.tool_prompt)
                                      for p in problems for _ in range(args.group_size)])  # fmt: skip
    return [episodes[i : i + args.group_size] for i in range(0, len(episodes), args.group_size)]


def max_steps_at(step: int, curriculum: int) -> int:
    """The most operations a train question of `step` (1-based) may have under --curriculum."""
    most = dataset.STEP_LIMITS[1]
    return most if not curriculum or step > curriculum else 1 + (most * (step - 1)) // curriculum


def take(stream, n: int, max_steps: int) -> tuple[list, int]:
    """The next `n` questions of the stream with at most `max_steps` operations, and how many were read to find them
    (the others are passed over, so the stream position still says where a resumed run goes on)."""
    picked, read = [], 0
    for problem in stream:
        read += 1
        if problem.steps <= max_steps:
            picked.append(problem)
            if len(picked) == n:
                break
    return picked, read


async def play_step(engine, args, step: int, stream, weights: rewards.Weights, tools_in_prompt: bool):
    """The groups of `step`: those of the next --questions-per-step questions of the train stream; then, for up to
    --refill-rounds rounds, each group whose episodes all scored the same replaced by the group of the next question.
    Each round samples with its own seed, so a resumed run plays what the uninterrupted one did. Returns the groups,
    their scores, every episode played (replaced groups too) and how many questions of the stream were read."""
    groups, scores, played = [None] * args.questions_per_step, [None] * args.questions_per_step, []
    todo, drawn = list(range(args.questions_per_step)), 0
    for round_ in range(args.refill_rounds + 1):
        sampling = Sampling(args.temperature, derive_seed(args.seed, "train", step, round_), args.max_new_tokens)
        questions, read = take(stream, len(todo), max_steps_at(step, args.curriculum))
        fresh = await play_groups(engine, questions, args, tools_in_prompt, sampling)
        drawn += read
        for i, group in zip(todo, fresh, strict=True):
            groups[i], scores[i] = group, [rewards.reward(ep, weights) for ep in group]
        played += [ep for group in fresh for ep in group]
        todo = [i for i in todo if grpo.group_advantages(scores[i], False) is None]  # None: no signal
        if not todo:
            break
    return groups, scores, played, drawn


async def evaluate(engine, eval_sets: dict, args, step: int, out: Path, tools_in_prompt: bool) -> dict[str, dict]:
    """Greedy evals of every set at once (the engine batches their turns), to OUT/eval/<set>/step-NNNN.jsonl."""
    greedy = Sampling(0.0, derive_seed(args.seed, "eval", step), args.max_new_tokens)
    summaries = await asyncio.gather(*[
        evaluation.evaluate(engine, problems, greedy, args.max_turns, tools_in_prompt,
                            out / "eval" / name / f"step-{step:04d}.jsonl", prompt=args.tool_prompt)
        for name, problems in eval_sets.items()
    ])  # fmt: skip
    return dict(zip(eval_sets, summaries, strict=True))


def eval_columns(eval_sets: dict, summaries: dict | None) -> dict:
    return {METRIC.get(name, f"eval_acc_{name}"): summaries[name]["accuracy"] if summaries else None
            for name in eval_sets}  # fmt: skip


async def train(args, updater, out: Path, weights: rewards.Weights, eval_sets: dict, reporter=None) -> dict | None:
    """The GRPO loop over an updater (engines/lora.py or engines/art.py): play, score, update, evaluate, log, save.
    Returns the final summary, or None when stopped early by --max-minutes or already done."""
    engine, tools_in_prompt, step, started = updater.engine, updater.tools_in_prompt, updater.step, time.time()
    reporter = reporter or runs.Reporter("none", out, {})
    runs.truncate_metrics(out, step)  # steps logged after the last checkpoint run again
    pos = runs.data_position(out, step)  # where the checkpoint's step left the train stream
    stream = train_stream(args.seed, pos)
    if step == 0 and not runs.read_metrics(out):  # the untrained policy, where the curves start
        summaries = await evaluate(engine, eval_sets, args, 0, out, tools_in_prompt)
        row = {"step": 0, "data_pos": 0} | eval_columns(eval_sets, summaries)
        runs.append_metrics(out, row)
        reporter.log(row)
        print(json.dumps(row), flush=True)
    while step < args.steps:
        t0 = time.time()
        groups, scores, played, drawn = await play_step(engine, args, step + 1, stream, weights, tools_in_prompt)
        pos += drawn
        t1 = time.time()
        result = await updater.update(groups, scores)
        step = result["step"]  # the backend's own count (ART keeps its own)
        times = {"rollout_s": round(t1 - t0, 1), "update_s": round(time.time() - t1, 1)}
        runs.write_rollouts(out, step, groups)
        summaries, final = None, step >= args.steps
        if final or (args.eval_every and step % args.eval_every == 0):
            t2 = time.time()
            summaries = await evaluate(engine, eval_sets, args, step, out, tools_in_prompt)
            times["eval_s"] = round(time.time() - t2, 1)
        row = {"step": step} | rewards.batch_metrics(played, weights)  # over every question drawn
        row["skipped_groups"] = sum(grpo.group_advantages(s, False) is None for s in scores)
        row |= {"refilled": len(played) // args.group_size - args.questions_per_step, "data_pos": pos}
        row |= {k: result[k] for k in ("loss", "grad_norm", "train_tokens")}
        row |= eval_columns(eval_sets, summaries) | times | {"step_s": round(time.time() - t0, 1)} | peak_gpu_memory()
        runs.append_metrics(out, row)
        reporter.log(row)
        runs.plot_curve(out)
        adapter = updater.save(step)
        print(json.dumps(row), flush=True)
        if final:
            first = summaries[next(iter(eval_sets))]  # the summary's top-level numbers: the first --eval-sets entry's
            return {"step": step, "adapter": adapter, "model_sha256": updater.model_sha256, "evals": summaries} | first
        if args.max_minutes is not None and time.time() - started >= args.max_minutes * 60:
            print(f"stopped after step {step} (--max-minutes); rerun the same command to resume", flush=True)
            return None
    print(f"{out} already holds {step} steps (--steps {args.steps}); nothing to do")
    return None


def peak_gpu_memory() -> dict:
    import torch

    return {"peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)} if torch.cuda.is_available() else {}


async def start_and_train(backend: str, args, out: Path, weights: rewards.Weights, eval_sets: dict, config: dict):
    if backend == "art":
        from engines.art import ARTUpdater

        updater = await ARTUpdater.start(args, out, weights)
    else:
        from engines.lora import LocalUpdater

        updater = LocalUpdater(args, out)
    reporter = runs.Reporter(args.report_to, out, config)
    try:
        return await train(args, updater, out, weights, eval_sets, reporter)
    finally:
        reporter.close()
        await updater.close()


def run_config(args) -> dict:
    """What the run learns from: its flags less NOT_CONFIG, and the digest of the train split's wording."""
    return runs.config_of(args, "simple_train", NOT_CONFIG) | {"train_words": dataset.train_words_digest()}


def main(argv=None) -> dict | None:
    parser = build_parser()
    args = parser.parse_args(argv)
    weights = check_args(parser, args)
    eval_sets = load_eval_sets(parser, args)
    out = Path(args.out or f"runs/train-{model_name(args.model)}")
    config = run_config(args)
    try:
        backend = choose_backend(args.backend)
        if backend != "art" and (args.trainer_gpu_ids or args.inference_gpu_ids):
            parser.error("--trainer-gpu-ids and --inference-gpu-ids place ART's trainer and vLLM: use --backend art")
        runs.open_run(out, config)
        result = asyncio.run(start_and_train(backend, args, out, weights, eval_sets, config))
    except (ModelError, EngineError, runs.CheckpointError) as e:
        parser.exit(1, f"error: {e}\n")
    except torch.OutOfMemoryError as e:  # e.g. two runs sharing one GPU: one line, and how to go on
        parser.exit(1, f"error: GPU out of memory ({first_line(e)}); rerun with a smaller --micro-batch (now "
                       f"{args.micro_batch}) or --batch-size (now {args.batch_size}): it resumes from the last "
                       "checkpoint\n")  # fmt: skip
    if result is None:
        return None
    summary = {"config": config, "git_commit": runs.git_commit(), "model": model_name(args.model),
               "dataset": list(result["evals"]), "backend": backend} | result  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for name, s in result["evals"].items():
        print(f"step {result['step']}: {name} accuracy {s['accuracy']:.1%} on {s['n_episodes']} questions")
    print(f"results in {out}")
    return summary


if __name__ == "__main__":
    main()
