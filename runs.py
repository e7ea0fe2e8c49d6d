"""The run folder every script writes: its configuration (a rerun with another one is refused), the git commit,
JSONL records, training metrics and curve, the episodes each step trained on, and the checkpoints that make a
killed training run resumable.

    OUT/config.json              what the run measures or trains (flags that change only speed are left out)
    OUT/episodes.jsonl           evals: one finished episode a line, appended as it finishes
    OUT/metrics.jsonl            training: one line a step
    OUT/curve.png                training: reward, train and test accuracy by step
    OUT/rollouts/step-NNNN.jsonl training: the episodes of a step, with the sampled token ids
    OUT/eval/step-NNNN.jsonl     training: the periodic eval's episodes
    OUT/checkpoints/step-NNNN/   training, local backend: adapter, optimizer moments, RNG states, data position,
                                 and manifest.json (each file's size and sha256, checked before resuming from it)
"""

import errno
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

KEEP_CHECKPOINTS = 2  # good ones: a damaged checkpoint never counts, so the last good one is never removed
MANIFEST = "manifest.json"
REQUIRED = ("adapter_model.safetensors", "optimizer.pt", "rng.pt", "state.json")  # in every manifest


class CheckpointError(Exception):
    """A checkpoint that cannot be saved, or a run with no good checkpoint left to resume from."""


def git_commit() -> str | None:
    """HEAD, with "+dirty" when tracked files differ from it (the run used code no commit holds)."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True)
    except OSError:
        return None
    return (head + ("+dirty" if dirty.stdout.strip() else "")) if head else None


def config_of(args, script: str, not_config: set[str]) -> dict:
    """What a run measures: the script and its flags, less those that only change speed or where output goes."""
    return {"script": script} | {k: v for k, v in vars(args).items() if k not in not_config}


def open_run(out: Path, config: dict) -> None:
    """Create OUT, or check that the run it holds has this configuration (else one line and exit)."""
    cfg_file = out / "config.json"
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError(errno.EACCES, "Permission denied")
        old = json.loads(cfg_file.read_text()) if cfg_file.exists() else None
        if old is None:
            cfg_file.write_text(json.dumps(config, indent=2) + "\n")
    except (OSError, ValueError) as e:  # a path under a file, no permission, a broken config.json
        raise SystemExit(f"error: cannot use {out} as the run folder: {getattr(e, 'strerror', None) or e}") from None
    if old is not None and old != config:
        diff = sorted(k for k in old.keys() | config.keys() if old.get(k) != config.get(k))
        raise SystemExit(f"error: {out} holds a run with another configuration ({', '.join(diff)}); use a new --out")


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSONL file; a line cut by a kill is skipped. Lines end at "\\n" only: model text may hold
    other line separators (U+2028, U+0085), which `str.splitlines` would split on."""
    records = []
    for line in path.read_bytes().split(b"\n") if path.exists() else []:
        try:
            records.append(json.loads(line))
        except ValueError:  # not JSON, or UTF-8 cut inside a character
            continue
    return records


def repair_jsonl(path: Path) -> None:
    """Drop a last line cut by a kill (it has no "\\n"), so that the next record appended starts a line of its own."""
    data = path.read_bytes() if path.exists() else b""
    if data and not data.endswith(b"\n"):
        os.truncate(path, data.rfind(b"\n") + 1)


def json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json_line(r) for r in records), encoding="utf-8")


def seed_dir(root, model: str, seed: int) -> Path:
    """Where reproduce.py puts the runs of one model (as `--model` names it) for one seed."""
    from engines.models import model_name

    return Path(root) / model_name(model) / f"seed-{seed}"


# --- training -------------------------------------------------------------------------------------------------


def append_metrics(out: Path, row: dict) -> None:
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def read_metrics(out: Path) -> list[dict]:
    return read_jsonl(out / "metrics.jsonl")


def truncate_metrics(out: Path, step: int) -> None:
    """Drop the lines of steps after `step` (logged, but not checkpointed: a resumed run does them again)."""
    rows = [r for r in read_metrics(out) if r["step"] <= step]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_rollouts(out: Path, step: int, groups: list[list]) -> None:
    """The episodes a step trained on, group by group, each with the token ids sampled in its turns (None where
    the engine does not give them)."""
    records = [
        ep.record() | {"group": g, "completion_ids": [t.completion_ids for t in ep.turns]}
        for g, group in enumerate(groups)
        for ep in group
    ]
    write_jsonl(out / "rollouts" / f"step-{step:04d}.jsonl", records)


def plot_curve(out: Path) -> None:
    curve_figure(read_metrics(out), out.name).savefig(out / "curve.png", dpi=100)


def curve_figure(rows: list[dict], title: str):
    """Accuracies (train, and the greedy test-set eval) above, the train reward (mean and std) below, by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc, reward) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    steps = [r["step"] for r in rows]
    acc.plot(steps, [r["train_acc"] for r in rows], ".-", label="train accuracy (sampled)")
    evals = [r for r in rows if r.get("eval_acc") is not None]
    acc.plot([r["step"] for r in evals], [r["eval_acc"] for r in evals], "o-", label="test accuracy (greedy)")
    acc.set(ylabel="accuracy", ylim=(-0.02, 1.02), title=f"GRPO training: {title}")
    mean, std = [r["reward_mean"] for r in rows], [r["reward_std"] for r in rows]
    reward.plot(steps, mean, ".-", color="tab:green", label="train reward (mean)")
    low, high = [m - s for m, s in zip(mean, std, strict=True)], [m + s for m, s in zip(mean, std, strict=True)]
    reward.fill_between(steps, low, high, color="tab:green", alpha=0.2, label="± std")
    reward.set(xlabel="step", ylabel="reward", xlim=(min(steps, default=0) - 0.5, max(steps, default=0) + 0.5))
    for ax in (acc, reward):
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _checkpoints(out: Path) -> list[Path]:
    """OUT's checkpoint folders, `step-NNNN.tmp` ones (saves cut by a kill) included, oldest first."""
    folders = [
        p for p in (out / "checkpoints").glob("step-*") if p.is_dir() and re.fullmatch(r"step-\d+(\.tmp)?", p.name)
    ]
    return sorted(folders, key=lambda p: (int(p.name[5:].removesuffix(".tmp")), p.suffix))


def _manifest(folder: Path) -> dict:
    return {p.name: {"size": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}  # fmt: skip


def write_manifest(folder: Path) -> None:
    (folder / MANIFEST).write_text(json.dumps(_manifest(folder), indent=1) + "\n")


def checkpoint_problem(folder: Path) -> str | None:
    """Why `folder` is no good checkpoint (None: it is one)."""
    if folder.suffix == ".tmp":
        return "an unfinished save"
    try:
        listed = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return f"no readable {MANIFEST}"
    found = _manifest(folder)
    if changed := [name for name in sorted(listed.keys() | set(REQUIRED)) if found.get(name) != listed.get(name)]:
        return f"{changed[0]} is {'changed' if changed[0] in found else 'missing'}"
    import torch
    from safetensors.torch import load_file

    if not all(torch.isfinite(t).all() for t in load_file(folder / "adapter_model.safetensors").values()):
        return "NaN or inf in the adapter"
    return None


def latest_checkpoint(out: Path) -> Path | None:
    """The newest good checkpoint, None when none was saved. Passes over damaged ones (and unfinished saves) with
    one warning line on stderr; CheckpointError when none is good (the run stops rather than start over)."""
    skipped, found = [], None
    for folder in reversed(_checkpoints(out)):
        if not (problem := checkpoint_problem(folder)):
            found = folder
            break
        skipped.append((folder, problem))
    listing = "; ".join(f"{f.name} ({problem})" for f, problem in skipped)
    if found is None and any(f.suffix != ".tmp" for f, _ in skipped):
        raise CheckpointError(f"no good checkpoint in {out / 'checkpoints'}: {listing}; move it away to start over")
    if skipped:
        then = f"resuming from {found.name}" if found else "starting at step 1"
        print(f"warning: skipped {listing}; {then}", file=sys.stderr, flush=True)
    return found


def save_checkpoint(out: Path, step: int, model, optimizer, data_pos: int) -> Path:
    """Adapter, optimizer moments (one file per moment, so each file stays small), RNG states, data position and the
    manifest, written to `step-NNNN.tmp` and renamed. Refuses an adapter with NaN or inf (CheckpointError)."""
    import torch

    if not all(torch.isfinite(p).all() for p in model.parameters() if p.requires_grad):
        raise CheckpointError(f"step {step} left NaN or inf in the adapter; not saved (a lower --lr may help)")
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
    write_manifest(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    # Rotation: keep the newest KEEP_CHECKPOINTS good checkpoints (and anything newer); drop older ones and leftovers.
    folders = _checkpoints(out)
    good = [p for p in folders if checkpoint_problem(p) is None][-KEEP_CHECKPOINTS:]
    for old in folders:
        if old.suffix == ".tmp" or (good and folders.index(old) < folders.index(good[0])):
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


class Reporter:
    """The per-step metrics lines, also sent to a tracker (`--report-to`): TensorBoard event files in
    OUT/tensorboard, or a Weights & Biases run in OUT/wandb (without network: WANDB_MODE=offline, then
    `wandb sync`). The tracker's library is imported only when asked for; "none" sends nothing."""

    KINDS = ("none", "tensorboard", "wandb")

    def __init__(self, kind: str, out: Path, config: dict):
        self.kind, self.writer, self.run = kind, None, None
        if kind == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tensorboard"))
        elif kind == "wandb":
            import wandb

            (out / "wandb").mkdir(parents=True, exist_ok=True)
            self.run = wandb.init(project="calc-rl", name=out.name, dir=str(out / "wandb"), config=config)

    def log(self, row: dict) -> None:
        numbers = {k: v for k, v in row.items() if k != "step" and isinstance(v, int | float)}
        if self.writer is not None:
            for key, value in numbers.items():
                self.writer.add_scalar(key, value, row["step"])
            self.writer.flush()
        if self.run is not None:
            self.run.log(numbers, step=row["step"])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.run is not None:
            self.run.finish()
