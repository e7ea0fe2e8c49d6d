"""The evaluation both eval scripts (and training's periodic eval) share: pick questions per seed, play the
episodes, append each to OUT/episodes.jsonl as it finishes, then summarize.

A rerun with the same --out skips finished episodes and refuses a changed configuration.
"""

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from tqdm import tqdm

import cli
import runs
from dataset import DEFAULT_TEST_SET, load_problems, set_name
from engines import EngineError, choose_backend
from engines.models import ModelError, load_model, load_tokenizer, model_name, resolve_model
from episode import (
    DEFAULT_TOOL_PROMPT,
    FAILURES,
    TOOL_PROMPT_HELP,
    TOOL_PROMPTS,
    Sampling,
    run_episode,
    template_ignores_tools,
)

# Flags that change how fast a run goes, not what it measures: a resumed run may change them.
NOT_CONFIG = {"out", "show", "batch_size"}


def build_parser(doc: str) -> argparse.ArgumentParser:
    p = cli.Parser(doc)
    p.add_argument("--model", default="qwen2.5-coder-0.5b", help="offline alias, GGUF file, folder or hub id")
    p.add_argument(
        "--dataset",
        default=str(DEFAULT_TEST_SET),
        help="JSONL file, set name (test, test-ood, dev, external) or hub dataset",
    )
    p.add_argument("--n", type=int, default=100, help="questions per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="each seed draws its own questions")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--backend", choices=["auto", "local", "openai", "art"], default="auto")
    p.add_argument("--base-url", help="OpenAI-compatible server for --backend openai, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--batch-size", type=int, default=16, help="turns generated at once (openai: requests in flight)")
    p.add_argument("--max-new-tokens", type=int, default=512, help="per assistant turn")
    p.add_argument("--max-turns", type=int, default=5, help="tool rounds before the episode is cut")
    p.add_argument("--tool-prompt", choices=list(TOOL_PROMPTS), default=DEFAULT_TOOL_PROMPT,
                   help=TOOL_PROMPT_HELP + "; an adapter is evaluated with the one it was trained with")  # fmt: skip
    p.add_argument("--adapter", help="PEFT LoRA adapter folder (from simple_train.py)")
    p.add_argument("--out", help="output folder (default: runs/<script>-<model>)")
    p.add_argument("--show", type=int, default=0, metavar="K", help="print K failed transcripts")
    return p


def check_args(p: argparse.ArgumentParser, args) -> None:
    for name in ("n", "batch_size", "max_new_tokens", "max_turns"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.temperature < 0:
        p.error("--temperature must be >= 0")
    if args.backend == "openai" and not args.base_url:
        p.error("--backend openai needs --base-url")


def select(problems: list, n: int, seed: int) -> list:
    """Seed s draws its own n questions (all of them, shuffled, if the dataset is smaller)."""
    return random.Random(seed).sample(problems, min(n, len(problems)))


def build_engine(args):
    """The engine --backend names (local: the model, with --adapter), the resolved model and whether the chat
    template ignores `tools=` (then the tool is described in the system prompt)."""
    backend = choose_backend(args.backend, has_art_path=False)
    model = resolve_model(args.model)
    tokenizer = load_tokenizer(model)
    if backend == "local":
        import torch

        from engines.local import LocalEngine

        lm = load_model(model, "cuda" if torch.cuda.is_available() else "cpu", adapter=args.adapter)
        engine = LocalEngine(lm, tokenizer, batch_size=args.batch_size)
    else:
        from engines.server import OpenAIEngine

        engine = OpenAIEngine(args.base_url, model.path, concurrency=args.batch_size)
        engine.check()  # an unreachable server stops the run here, before any episode
    return engine, model, template_ignores_tools(tokenizer)


async def play(
    engine, problems, sampling: Sampling, use_tool, max_turns, tools_in_prompt, on_done, desc="", *, prompt: str
) -> None:
    """All episodes at once (the engine batches their turns); `on_done(episode)` as each finishes. `prompt`: the tool
    prompt (episode.TOOL_PROMPTS)."""
    tasks = [run_episode(engine, p, use_tool, max_turns, tools_in_prompt, sampling, prompt) for p in problems]
    for fut in tqdm(asyncio.as_completed(tasks), total=len(tasks), desc=desc, unit="ep", file=sys.stderr):
        on_done(await fut)


async def evaluate(
    engine, problems, sampling: Sampling, max_turns: int, tools_in_prompt: bool, path: Path, *, prompt: str
) -> dict:
    """simple_train.py's periodic eval: tool episodes of `problems` with the tool prompt `prompt`, written to `path`;
    returns `summarize`'s."""
    records = []
    add = lambda ep: records.append(ep.record())  # noqa: E731
    await play(engine, problems, sampling, True, max_turns, tools_in_prompt, add, prompt=prompt)
    order = {p.id: i for i, p in enumerate(problems)}
    records = [{"seed": 0} | r for r in sorted(records, key=lambda r: order[r["id"]])]
    runs.write_jsonl(path, records)
    return summarize(records, [0])


def rate(records: list[dict], key: str = "correct") -> float | None:
    """The share of records whose `key` is true (a record without it: its "correct")."""
    return round(sum(bool(r.get(key, r["correct"])) for r in records) / len(records), 4) if records else None


def mean(records: list[dict], key: str) -> float | None:
    return round(sum(r.get(key, 0) for r in records) / len(records), 4) if records else None


def step_stats(records: list[dict]) -> dict:
    """The by_steps entry of a group of records; mean_calls counts counted calls (episode.chain)."""
    return {
        "n": len(records),
        "accuracy": rate(records),
        "accuracy_lenient": rate(records, "correct_lenient"),
        "mean_calls": mean(records, "counted_calls"),
        "mean_dependent_calls": mean(records, "dependent_calls"),
    }


def summarize(records: list[dict], seeds: list[int]) -> dict:
    """Accuracy (strict: the headline; lenient: grading.lenient_answer), by seed, family, steps and template shape,
    failures, and the chaining metrics over counted calls (episode.chain). Records written before those keys existed
    count as strict = lenient and no counted calls."""
    by_seed = {s: [r for r in records if r["seed"] == s] for s in seeds}
    groups = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups["family"][r["family"]].append(r)
        groups["steps"][str(r["steps"])].append(r)
        if r.get("template"):  # "family/shape/tN": a shape is worded differently in train, dev and ood templates
            groups["shape"][r["template"].rsplit("/", 1)[0]].append(r)
    counted = Counter(r.get("counted_calls", 0) for r in records)
    return {
        "n_episodes": len(records),
        "accuracy": rate(records),
        "accuracy_lenient": rate(records, "correct_lenient"),
        "accuracy_per_seed": {str(s): rate(rs) for s, rs in by_seed.items()},
        "accuracy_by_family": {k: rate(v) for k, v in sorted(groups["family"].items())},
        "accuracy_by_steps": {k: rate(v) for k, v in sorted(groups["steps"].items())},
        "accuracy_by_shape": {k: rate(v) for k, v in sorted(groups["shape"].items())},
        "failures": {f: sum(r["failure"] == f for r in records) for f in FAILURES},
        "truncated": sum(r["failure"] == "truncated" for r in records),
        "tool_call_rate": rate([{"correct": r["tool_calls"] > 0} for r in records]),
        "tool_calls": sum(r["tool_calls"] for r in records),
        "malformed_calls": sum(r["malformed_calls"] for r in records),
        "tool_calls_histogram": {str(k): counted[k] for k in range(max(counted, default=-1) + 1)},
        "by_steps": {k: step_stats(v) for k, v in sorted(groups["steps"].items(), key=lambda kv: int(kv[0]))},
        "prompt_tokens": sum(r["prompt_tokens"] for r in records),
        "completion_tokens": sum(r["completion_tokens"] for r in records),
    }


def chaining_line(summary: dict) -> str:
    """One line: counted calls per episode, and the mean dependent calls on problems of 3 or more steps."""
    histogram = ", ".join(f"{k}: {v}" for k, v in summary["tool_calls_histogram"].items()) or "none"
    deep = [v for k, v in summary["by_steps"].items() if int(k) >= 3]
    n = sum(v["n"] for v in deep)
    dependent = sum(v["n"] * v["mean_dependent_calls"] for v in deep) / n if n else None
    tail = f"{dependent:.2f} over {n} episodes" if n else "no such episodes"
    return f"counted tool calls per episode {{{histogram}}}; mean dependent calls on 3+ step problems: {tail}"


def gpu_usage(t0: float) -> dict:
    """This process's peak GPU memory and the seconds it held the GPU (None on the CPU)."""
    import torch

    if not torch.cuda.is_available():
        return {"peak_gpu_gib": None, "gpu_s": None}
    return {"peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "gpu_s": round(time.time() - t0, 1)}


def table_row(model: str, dataset: str, summary: dict, use_tool: bool) -> str:
    cells = ", ".join("-" if a is None else f"{a:.0%}" for a in summary["accuracy_per_seed"].values())
    return f"| {model} | {dataset} | {cells} | {'yes' if use_tool else 'no'} |"


def printable(text: str) -> str:
    """`text` with every character a terminal would act on (but tab) escaped: ESC as \\x1b, a newline as \\x0a,
    U+2028 as \\u2028."""
    return "".join(
        c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" if ord(c) < 256 else ascii(c)[1:-1] for c in text
    )


def transcript(rec: dict) -> str:
    """A failed episode for the terminal: every line of a message starts with its label (model text cannot forge a
    [TOOL] line) and control characters are escaped (nor drive the terminal)."""
    header = f"{rec['id']} (seed {rec['seed']}): {rec['failure']}; reference {rec['reference']}, answer {rec['answer']}"
    lines = [f"--- {printable(header)}"]
    for m in rec["messages"][1:]:
        label = {"user": "QUESTION", "assistant": "MODEL", "tool": "TOOL"}.get(m["role"], str(m["role"]).upper())
        body = str(m.get("content") or "")
        if m.get("tool_calls"):
            body += " " + json.dumps([tc.get("function") for tc in m["tool_calls"]])
        lines += [printable(f"[{label}] {line}") for line in body.strip().split("\n")]
    return "\n".join(lines)


def run_config(args, script: str, use_tool: bool) -> dict:
    """What the eval measures: its flags less NOT_CONFIG (a no-tool eval plays no tool prompt: --tool-prompt changes
    nothing it measures)."""
    return runs.config_of(args, script, NOT_CONFIG | (set() if use_tool else {"tool_prompt"}))


def main(args, use_tool: bool, script: str, parser: argparse.ArgumentParser) -> dict:
    check_args(parser, args)
    try:
        problems = load_problems(args.dataset)
    except ValueError as e:
        parser.exit(2, f"error: {e}\n")
    dataset_name = set_name(args.dataset)
    out = Path(args.out or f"runs/{script}-{model_name(args.model)}")
    config = run_config(args, script, use_tool)
    runs.open_run(out, config)
    runs.repair_jsonl(out / "episodes.jsonl")  # a line cut by a kill: that episode is played again
    done = {(r["seed"], r["id"]): r for r in runs.read_jsonl(out / "episodes.jsonl")}
    todo = {s: [p for p in select(problems, args.n, s) if (s, p.id) not in done] for s in args.seeds}
    t0, new_tokens, generation = time.time(), [], []  # generation: when play started, then when each episode ended
    if any(todo.values()):
        try:
            engine, model, tools_in_prompt = build_engine(args)
        except (ModelError, EngineError) as e:
            parser.exit(1, f"error: {e}\n")
        with open(out / "episodes.jsonl", "a", encoding="utf-8") as f:

            async def play_seeds():  # seed s draws its questions and seeds the sampling
                for seed, todo_seed in todo.items():

                    def write(ep, seed=seed):
                        rec = {"seed": seed} | ep.record()
                        done[(seed, rec["id"])] = rec
                        new_tokens.append(rec["completion_tokens"])
                        generation.append(time.time())
                        f.write(runs.json_line(rec))
                        f.flush()

                    sampling = Sampling(args.temperature, seed, args.max_new_tokens)
                    await play(engine, todo_seed, sampling, use_tool, args.max_turns, tools_in_prompt, write,
                               desc=f"seed {seed}", prompt=args.tool_prompt)  # fmt: skip

            generation.append(time.time())
            try:
                asyncio.run(play_seeds())
            except EngineError as e:  # the server went away mid-run: what finished is kept, a rerun resumes
                parser.exit(1, f"\nerror: {e}\n")
            finally:
                getattr(engine, "close", lambda: None)()
        name, model_sha = model.name, model.sha256
    else:  # nothing left to play: the model was described by the run that played it
        previous = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
        name, model_sha = previous.get("model", model_name(args.model)), previous.get("model_sha256")
    wanted = {(s, p.id) for s in args.seeds for p in select(problems, args.n, s)}
    records = [r for k, r in done.items() if k in wanted]
    summary = (
        {
            "config": config,
            "git_commit": runs.git_commit(),
            "model": name,
            "model_sha256": model_sha,
            "dataset": dataset_name,
            "wall_s": round(time.time() - t0, 1),
        }
        | summarize(records, args.seeds)
        | gpu_usage(t0)
    )
    # Speed of this invocation alone (a resumed run only played what was missing), over the time episodes were
    # played: wall_s also holds loading (and, the first time, converting) the model.
    summary["new_episodes"] = len(new_tokens)
    gen_s = summary["generation_s"] = round(generation[-1] - generation[0], 3) if new_tokens else None
    summary["completion_tokens_per_s"] = round(sum(new_tokens) / max(gen_s, 1e-3), 2) if new_tokens else None
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(table_row(summary["model"], dataset_name, summary, use_tool))
    fails = ", ".join(f"{k} {v}" for k, v in summary["failures"].items() if v)
    print(f"accuracy {summary['accuracy']:.1%} (lenient {summary['accuracy_lenient']:.1%}) over {len(records)} "
          f"episodes; failures: {fails or 'none'}")  # fmt: skip
    if use_tool:
        print(chaining_line(summary))
    print(f"results in {out}")
    for rec in [r for r in records if not r["correct"]][: args.show]:
        print(transcript(rec))
    return summary
