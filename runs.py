"""The run folder every script writes: its configuration (a rerun with another one is refused), the git commit,
JSONL records, training metrics and curve, the episodes each step trained on, and the checkpoints that make a
killed training run resumable; `pack` and `unpack` carry a run folder to another machine.

    python runs.py pack RUN PARTS_DIR [--part-mib 15]   a gzipped tar in parts, and manifest.json (sha256 of each)
    python runs.py unpack PARTS_DIR DEST                checks every part, then rebuilds the run folder in DEST

    OUT/config.json              what the run measures or trains (flags that change only speed are left out)
    OUT/episodes.jsonl           evals: one finished episode a line, appended as it finishes
    OUT/metrics.jsonl            training: one line a step (step 0: the untrained policy's evals), with the train
                                 stream's position after the step (`data_pos`, where a resumed run goes on)
    OUT/curve.png                training: reward, train and eval accuracies by step
    OUT/rollouts/step-NNNN.jsonl training: the episodes of a step, with the sampled token ids
    OUT/eval/<set>/step-NNNN.jsonl  training: the periodic evals' episodes, one folder per eval set
    OUT/checkpoints/step-NNNN/   training, local backend: adapter, optimizer moments, RNG states, step, and
                                 manifest.json (each file's size and sha256, checked before resuming from it)
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
import tarfile
from pathlib import Path

import cli

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
    if old is not None and (diff := changed_keys(old, config)):
        raise SystemExit(f"error: {out} holds a run with another configuration ({', '.join(diff)}); use a new --out")


def changed_keys(old: dict, new: dict) -> list[str]:
    """The keys whose values differ between two configurations (a key missing on one side differs, even from
    None), sorted."""
    return sorted(k for k in old.keys() | new.keys() if k not in old or k not in new or old[k] != new[k])


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


def data_position(out: Path, step: int) -> int:
    """The train stream's position after `step` (0 before the first): its metrics row's `data_pos`. The loop keeps
    it there, not in the checkpoint, because both backends write that row and ART's checkpoints are ART's own."""
    rows = [r for r in read_metrics(out) if r["step"] == step]
    if rows:
        return rows[-1]["data_pos"]
    if step == 0:
        return 0
    raise CheckpointError(f"{out / 'metrics.jsonl'} has no row of step {step}, the checkpoint's: its data_pos is lost")


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


EVAL_CURVES = {"eval_acc": "test accuracy (greedy)", "eval_acc_ood": "test-ood accuracy (greedy)",
               "eval_acc_dev": "dev accuracy (greedy)"}  # fmt: skip


def curve_figure(rows: list[dict], title: str):
    """Accuracies (train, and each greedy eval set's) above, the train reward (mean and std) below, by step. The
    step-0 row (the untrained policy's evals) has no train values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc, reward) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    every = [r["step"] for r in rows]
    rows_ = [r for r in rows if "train_acc" in r]
    steps = [r["step"] for r in rows_]
    acc.plot(steps, [r["train_acc"] for r in rows_], ".-", label="train accuracy (sampled)")
    for key, label in EVAL_CURVES.items():
        if evals := [r for r in rows if r.get(key) is not None]:
            acc.plot([r["step"] for r in evals], [r[key] for r in evals], "o-", label=label)
    acc.set(ylabel="accuracy", ylim=(-0.02, 1.02), title=f"GRPO training: {title}")
    mean, std = [r["reward_mean"] for r in rows_], [r["reward_std"] for r in rows_]
    reward.plot(steps, mean, ".-", color="tab:green", label="train reward (mean)")
    low, high = [m - s for m, s in zip(mean, std, strict=True)], [m + s for m, s in zip(mean, std, strict=True)]
    reward.fill_between(steps, low, high, color="tab:green", alpha=0.2, label="± std")
    reward.set(xlabel="step", ylabel="reward", xlim=(min(every, default=0) - 0.5, max(every, default=0) + 0.5))
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


def save_checkpoint(out: Path, step: int, model, optimizer) -> Path:
    """Adapter, optimizer moments (one file per moment, so each file stays small), RNG states, the step and the
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
    (tmp / "state.json").write_text(json.dumps({"step": step}) + "\n")
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


# --- moving a run to another machine -----------------------------------------------------------------------------


class PackError(Exception):
    """A run folder that cannot be packed, or parts that cannot be unpacked; the message is one line."""


class _PartWriter:
    """A write-only stream cut into PARTS_DIR/part-NNNN files of at most `size` bytes, hashing each."""

    def __init__(self, folder: Path, size: int):
        self.folder, self.size, self.parts, self.file, self.hash = folder, size, [], None, None

    def write(self, data) -> int:
        data, done = memoryview(data), 0
        while done < len(data):
            if self.file is None or self.file.tell() >= self.size:
                self.close()
                self.file, self.hash = open(self.folder / f"part-{len(self.parts):04d}", "wb"), hashlib.sha256()
            chunk = data[done : done + self.size - self.file.tell()]
            self.file.write(chunk)
            self.hash.update(chunk)
            done += len(chunk)
        return done

    def close(self) -> None:
        """Close the last part; `parts` lists each part's name, size and sha256."""
        if self.file is not None:
            self.parts.append({"name": Path(self.file.name).name, "size": self.file.tell(),
                               "sha256": self.hash.hexdigest()})  # fmt: skip
            self.file.close()
            self.file = None


class _PartReader:
    """The parts read back as one stream."""

    def __init__(self, files: list[Path]):
        self.files, self.file = list(files), None

    def read(self, n: int = -1) -> bytes:
        out = b""
        while n < 0 or len(out) < n:
            if self.file is None:
                if not self.files:
                    break
                self.file = open(self.files.pop(0), "rb")
            chunk = self.file.read(-1 if n < 0 else n - len(out))
            if not chunk:
                self.file.close()
                self.file = None
            out += chunk
        return out


def _left_out(run: Path) -> set[Path]:
    """The checkpoints a pack leaves out: all but the newest good one (local backend: OUT/checkpoints/step-NNNN;
    art: all but the highest numbered folder of each `checkpoints` folder under OUT/art)."""
    keep = latest_checkpoint(run)
    left = {p for p in _checkpoints(run) if p != keep}
    for folder in [p for p in (run / "art").rglob("checkpoints") if p.is_dir()]:
        steps = [p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
        left |= {p for p in steps if int(p.name) < max(int(q.name) for q in steps)}
    return left


def pack(run: Path, parts_dir: Path, part_mib: int) -> dict:
    """RUN as a gzipped tar in parts of `part_mib` MiB under PARTS_DIR, and PARTS_DIR/manifest.json; returns it."""
    if not (run / "config.json").is_file():
        raise PackError(f"{run} is no run folder (no config.json)")
    if parts_dir.exists() and any(parts_dir.iterdir()):
        raise PackError(f"{parts_dir} is not empty; pack into a new folder")
    left = _left_out(run)
    parts_dir.mkdir(parents=True, exist_ok=True)
    writer = _PartWriter(parts_dir, part_mib << 20)
    files = 0
    with tarfile.open(fileobj=writer, mode="w|gz") as tar:
        for path in sorted(run.rglob("*")):
            if not any(p in left for p in (path, *path.parents)) and (path.is_file() or path.is_dir()):
                tar.add(path, arcname=str(path.relative_to(run)), recursive=False)
                files += path.is_file()
    writer.close()
    manifest = {"run": run.name, "files": files, "parts": writer.parts}
    (parts_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def unpack(parts_dir: Path, dest: Path) -> dict:
    """Check every part against PARTS_DIR/manifest.json, then rebuild the run folder as DEST; returns the manifest."""
    try:
        manifest = json.loads((parts_dir / MANIFEST).read_text())
        parts = [(parts_dir / p["name"], p["size"], p["sha256"]) for p in manifest["parts"]]
    except (OSError, ValueError, KeyError, TypeError):
        raise PackError(f"no readable {MANIFEST} in {parts_dir}") from None
    for path, size, sha in parts:
        if not path.is_file():
            raise PackError(f"{path.name} is missing from {parts_dir}; copy it again")
        if path.stat().st_size != size or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            raise PackError(f"{path.name} in {parts_dir} is damaged (not the manifest's sha256); copy it again")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise PackError(f"{dest} exists and is not empty; unpack into a new folder")
    tmp = dest.with_name(dest.name + ".unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(fileobj=_PartReader([p for p, _, _ in parts]), mode="r|gz") as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackError(f"cannot unpack {parts_dir}: {e}") from None
    if dest.exists():
        dest.rmdir()
    tmp.rename(dest)
    return manifest


def main(argv=None) -> None:
    p = cli.Parser(__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    packing = sub.add_parser("pack", help="pack a run folder into parts", description=pack.__doc__)
    packing.add_argument("run", type=Path, help="the run folder (an --out of simple_train.py or an eval script)")
    packing.add_argument("parts_dir", type=Path, help="where the parts and manifest.json go (new or empty)")
    packing.add_argument("--part-mib", type=int, default=15, help="size of each part in MiB (1 to 15)")
    unpacking = sub.add_parser("unpack", help="rebuild a run folder from its parts", description=unpack.__doc__)
    unpacking.add_argument("parts_dir", type=Path, help="the folder holding the parts and manifest.json")
    unpacking.add_argument("dest", type=Path, help="the run folder to create (new or empty)")
    args = p.parse_args(argv)
    try:
        if args.command == "pack":
            if not 1 <= args.part_mib <= 15:
                p.error("--part-mib must be between 1 and 15 (every part stays under 16 MiB)")
            m = pack(args.run, args.parts_dir, args.part_mib)
            print(f"packed {m['files']} files of {args.run} into {len(m['parts'])} parts in {args.parts_dir}")
        else:
            m = unpack(args.parts_dir, args.dest)
            print(f"unpacked {m['files']} files into {args.dest}")
    except (PackError, CheckpointError) as e:
        p.exit(1, f"error: {e}\n")
    except OSError as e:
        p.exit(1, f"error: {e.strerror or e}: {e.filename or ''}\n")


if __name__ == "__main__":
    main()
