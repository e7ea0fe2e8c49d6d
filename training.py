"""What both training backends share: questions, playing groups and evals with the one episode loop, per-step
metrics, the curve, and (local backend) checkpoints that make a killed run resumable.
"""

import asyncio
import json
import random
import shutil
from pathlib import Path

import evaluation
import rewards
from dataset import DEFAULT_TEST_SET, generate, load_problems
from episode import Episode, run_episode
from evaluation import select, summarize

# Flags that change how fast or how long a run goes, not what it learns: a resumed run may change them.
NOT_CONFIG = {"out", "batch_size", "micro_batch", "max_minutes", "steps"}
KEEP_CHECKPOINTS = 2


def config_of(args) -> dict:
    return evaluation.config_of(args, "simple_train", NOT_CONFIG)


def train_questions(args, step: int) -> list:
    """The questions of `step` (1-based): the next slice of the run's own train-split draw."""
    pos = (step - 1) * args.questions_per_step
    return generate("train", pos + args.questions_per_step, args.seed)[pos:]


def eval_questions(n: int) -> list:
    return select(load_problems(str(DEFAULT_TEST_SET)), n, seed=0)


async def play_groups(engine, problems, group_size: int, max_turns: int, tools_in_prompt: bool) -> list[list[Episode]]:
    """`group_size` episodes of every problem, all in flight at once (the engine batches their turns)."""
    tasks = [run_episode(engine, p, True, max_turns, tools_in_prompt) for p in problems for _ in range(group_size)]
    episodes = await asyncio.gather(*tasks)
    return [episodes[i : i + group_size] for i in range(0, len(episodes), group_size)]


async def evaluate(engine, args, tools_in_prompt: bool, out: Path, step: int) -> dict:
    """Greedy episodes on the frozen test set, written to OUT/eval/step-NNNN.jsonl; returns evaluation's summary."""
    saved = engine.temperature
    engine.temperature = 0.0
    try:
        groups = await play_groups(engine, eval_questions(args.eval_n), 1, args.max_turns, tools_in_prompt)
    finally:
        engine.temperature = saved
    records = [{"seed": 0} | g[0].record() for g in groups]
    (out / "eval").mkdir(exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (out / "eval" / f"step-{step:04d}.jsonl").write_text(lines)
    return summarize(records, [0])


def step_metrics(groups: list[list[Episode]], weights: rewards.Weights) -> dict:
    episodes = [ep for g in groups for ep in g]
    comps = [rewards.components(ep, weights) for ep in episodes]
    values = [sum(c.values()) for c in comps]
    mean = sum(values) / len(values)
    row = {
        "reward_mean": round(mean, 4),
        "reward_std": round((sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5, 4),
        "train_acc": round(sum(ep.correct for ep in episodes) / len(episodes), 4),
        "tokens": sum(t.completion_tokens for ep in episodes for t in ep.turns),  # generated this step
    }
    for key in ("tool_used", "malformed", "truncated"):
        rate = sum(rewards.metrics(ep)[key] for ep in episodes) / len(episodes)
        row[{"tool_used": "tool_rate", "malformed": "malformed_rate", "truncated": "truncated_rate"}[key]] = rate
    for key in comps[0]:
        row[f"reward_{key}"] = round(sum(c[key] for c in comps) / len(comps), 4)
    return row


def load_policy(resolved, device: str, args, checkpoint: Path | None):
    """The PEFT model that both samples (LocalEngine) and trains: a fresh LoRA, or the checkpoint's adapter."""
    from peft import LoraConfig, get_peft_model

    from models import load_model

    if checkpoint:
        return load_model(resolved, device, adapter=str(checkpoint), trainable=True)
    lora = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, target_modules=args.lora_targets,
                      lora_dropout=0.0, task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(load_model(resolved, device), lora)


def append_metrics(out: Path, row: dict) -> None:
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def read_metrics(out: Path, up_to: int | None = None) -> list[dict]:
    """The logged steps; with `up_to`, also drops (from the file) lines of steps a resumed run will redo."""
    path = out / "metrics.jsonl"
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a kill
    if up_to is not None:
        rows = [r for r in rows if r["step"] <= up_to]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def plot_curve(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(out)
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["reward_mean"] for r in rows], label="train reward")
    ax.plot(steps, [r["train_acc"] for r in rows], label="train accuracy")
    evals = [r for r in rows if r.get("eval_acc") is not None]
    ax.plot([r["step"] for r in evals], [r["eval_acc"] for r in evals], "o-", label="test accuracy (greedy)")
    ax.set_xlabel("step")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=100)
    plt.close(fig)


def latest_checkpoint(out: Path) -> Path | None:
    done = sorted(p for p in (out / "checkpoints").glob("step-*") if (p / "state.json").exists())
    return done[-1] if done else None


def save_checkpoint(out: Path, step: int, model, optimizer, data_pos: int) -> Path:
    """Adapter, optimizer moments (one file per moment, so each file stays small), RNG states, data position."""
    import torch

    final = out / "checkpoints" / f"step-{step:04d}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    state = optimizer.state_dict()
    moments = {k for s in state["state"].values() for k, v in s.items() if torch.is_tensor(v) and v.numel() > 1}
    for key in sorted(moments):
        torch.save({i: s[key] for i, s in state["state"].items()}, tmp / f"optimizer-{key}.pt")
    rest = {i: {k: v for k, v in s.items() if k not in moments} for i, s in state["state"].items()}
    torch.save({"state": rest, "param_groups": state["param_groups"]}, tmp / "optimizer.pt")
    rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, "data_pos": data_pos}) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted((out / "checkpoints").glob("step-*"))[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old)
    return final


def load_checkpoint(folder: Path, optimizer) -> dict:
    """Restores the optimizer and RNG states (the adapter is loaded with the model); returns state.json."""
    import torch

    saved = torch.load(folder / "optimizer.pt")
    for moment in folder.glob("optimizer-*.pt"):
        key = moment.stem.removeprefix("optimizer-")
        for i, tensor in torch.load(moment).items():
            saved["state"][i][key] = tensor
    optimizer.load_state_dict(saved)
    rng = torch.load(folder / "rng.pt", weights_only=False)  # holds Python's random state (a tuple)
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return json.loads((folder / "state.json").read_text())


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
