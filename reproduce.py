"""Regenerate the three tables and the training curves: for each model and seed, the no-tool eval, the untrained
tool eval, GRPO training with the tool, and the tool eval of the trained adapter, all on held-out questions.

    python reproduce.py --models qwen2.5-coder-0.5b --seeds 0 1 2
    python reproduce.py --models smollm2-135m --seeds 0 --n 4 --steps 1 --questions-per-step 2 --group-size 2 \
        --max-new-tokens 16 --out runs/smoke        # a CPU smoke run

Each cell is one run of the scripts (as a subprocess) in OUT/<model>/seed-<s>/<cell>; a cell whose summary.json
exists is skipped, so a killed run continues where it stopped. --dry-run prints the plan; --tables-only rebuilds
OUT/tables.md and OUT/training_curves.png from what is there.
"""

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import cli
import runs
from engines import models

ROOT = Path(__file__).resolve().parent
TABLES = [("no_tool", "Without tools", "no"), ("tool", "With the calculator, untrained", "yes"),
          ("trained", "With the calculator, after GRPO", "yes")]  # fmt: skip
MARKERS = ("<!-- tables: written by reproduce.py --readme; do not edit -->", "<!-- end of tables -->")
T_975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}  # Student t quantiles for 1..4 degrees of freedom


def cells(args, model: str, seed: int) -> list[tuple[str, Path, list[str]]]:
    """(name, folder, command) of the four runs of one model and seed, in order."""
    base = runs.seed_dir(args.out, model, seed)
    shared = ["--model", model, "--max-new-tokens", str(args.max_new_tokens), "--batch-size", str(args.batch_size)]
    # Evals run on the local engine when training runs through ART (the eval scripts have no art backend).
    evals = [
        *shared,
        "--n",
        str(args.n),
        "--seeds",
        str(seed),
        "--backend",
        "auto" if args.backend == "art" else args.backend,
    ]
    train = [*shared, "--seed", str(seed), "--steps", str(args.steps), "--questions-per-step",
             str(args.questions_per_step), "--group-size", str(args.group_size), "--lr", str(args.lr),
             "--eval-every", str(args.eval_every), "--eval-n", str(args.n), "--backend", args.backend,
             "--micro-batch", str(args.micro_batch)]  # fmt: skip
    if args.max_minutes is not None:  # training stops cleanly after this; rerunning reproduce.py continues it
        train += ["--max-minutes", str(args.max_minutes)]
    trained = base / "train" / "summary.json"  # names the final adapter (the art backend keeps its own folders)
    adapter = json.loads(trained.read_text())["adapter"] if trained.exists() else f"{base}/train/checkpoints/step-N"
    return [
        ("no_tool", base / "no_tool", ["simple_eval.py", *evals, "--out", str(base / "no_tool")]),
        ("tool", base / "tool", ["simple_eval_tool.py", *evals, "--out", str(base / "tool")]),
        ("train", base / "train", ["simple_train.py", *train, "--out", str(base / "train")]),
        (
            "trained",
            base / "trained",
            ["simple_eval_tool.py", *evals, "--adapter", str(adapter), "--out", str(base / "trained")],
        ),  # fmt: skip
    ]


def run_cells(args) -> None:
    for model in args.models:  # a typo fails here, not hours later in its first cell
        try:
            models.check_model(model)
        except models.ModelError as e:
            raise SystemExit(f"error: {e}") from None
    for model in args.models:
        for seed in args.seeds:
            for i in range(4):  # the plan is made again before each cell: the last one needs training's adapter
                name, folder, command = cells(args, model, seed)[i]
                if (folder / "summary.json").exists():
                    print(f"done: {folder}")
                    continue
                print("run:", " ".join(["python", *command]), flush=True)
                if args.dry_run:
                    continue
                if (failure := run_cell(command)) is not None:
                    raise SystemExit(f"error: the {name} run of {model} seed {seed} failed: {failure}")
                if not (folder / "summary.json").exists():  # training stopped at --max-minutes
                    print(f"the {name} run of {model} seed {seed} stopped early; rerun the same command to continue")
                    raise SystemExit(3)


def run_cell(command: list[str]) -> str | None:
    """Run one cell's script, its output passed through; None when it succeeds, else what failed: its own last
    stderr line `error: ...` (held back, not printed twice) or its exit status."""
    proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, stderr=subprocess.PIPE)
    held = b""  # the last line seen so far (or a progress bar's last state), until more output follows it
    while chunk := proc.stderr.read1(1 << 16):
        held += chunk
        cut = max(held.rfind(b"\n", 0, -1), held.rfind(b"\r", 0, -1)) + 1
        sys.stderr.buffer.write(held[:cut])
        sys.stderr.flush()
        held = held[cut:]
    if proc.wait() != 0 and held.startswith(b"error: "):
        return held.decode(errors="replace").strip().removeprefix("error: ")
    sys.stderr.buffer.write(held)
    sys.stderr.flush()
    return None if proc.returncode == 0 else f"exit status {proc.returncode} (its output is above)"


def interval(values: list[float]) -> str:
    """Mean and a 95% interval across seeds (Student t); the mean alone for one seed."""
    mean = statistics.fmean(values)
    if len(values) < 2 or len(values) > 5:
        return f"{mean:.1%}"
    half = T_975[len(values)] * statistics.stdev(values) / math.sqrt(len(values))
    return f"{mean:.1%} [{max(mean - half, 0):.1%}, {min(mean + half, 1):.1%}]"


def tables(args) -> str:
    lines = []
    for cell, title, tool in TABLES:
        lines += [f"### {title}", "", "| model | dataset | accuracy per seed | tool | mean [95% interval] |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for model in args.models:
            accs = []
            for seed in args.seeds:
                summary = runs.seed_dir(args.out, model, seed) / cell / "summary.json"
                if summary.exists():
                    accs.append(json.loads(summary.read_text())["accuracy"])
            if accs:
                per_seed = ", ".join(f"{a:.0%}" for a in accs)
                name = models.model_name(model)
                lines.append(f"| {name} | synthetic-test (n={args.n}) | {per_seed} | {tool} | {interval(accs)} |")
        lines.append("")
    return "\n".join(lines)


def curves(args) -> Path:
    path = Path(args.out) / "training_curves.png"
    curve_figure(args).savefig(path, dpi=100)
    return path


def curve_figure(args):
    """Per model and seed: the in-training greedy eval by step (the same first --n questions of seed 0's draw for
    every seed), and, as squares, what the tables report for that seed (its own draw of --n questions): the
    untrained tool cell at step 0 and the trained cell at the last step. The two differ by the questions alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model in args.models:
        for seed in args.seeds:
            base, name = runs.seed_dir(args.out, model, seed), f"{models.model_name(model)} seed {seed}"
            rows = runs.read_jsonl(base / "train" / "metrics.jsonl")
            points = [(r["step"], r["eval_acc"]) for r in rows if r.get("eval_acc") is not None]
            if not points:
                continue
            (line,) = ax.plot(*zip(*points, strict=True), "o-", label=f"{name}: in-training eval")
            table = [(0, base / "tool"), (points[-1][0], base / "trained")]
            cells = [(x, json.loads((d / "summary.json").read_text())["accuracy"]) for x, d in table
                     if (d / "summary.json").exists()]  # fmt: skip
            if cells:
                ax.plot(*zip(*cells, strict=True), "s", color=line.get_color(), mfc="none", ms=9,
                        label=f"{name}: table (its own draw)")  # fmt: skip
    ax.set(xlabel="GRPO step", ylabel="held-out accuracy with the tool (greedy)", ylim=(-0.02, 1.02))
    ax.set_title(f"Training curves ({args.n} held-out questions per eval)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)
    return fig


def parse_args(argv=None):
    p = cli.Parser(__doc__)
    p.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b"], help="aliases, GGUF files or folders")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training and eval seeds")
    p.add_argument("--n", type=int, default=100, help="held-out questions per seed and eval")
    p.add_argument("--steps", type=int, default=30, help="GRPO steps per seed")
    p.add_argument("--questions-per-step", type=int, default=16, help="train-split questions per GRPO step")
    p.add_argument("--group-size", type=int, default=8, help="sampled episodes per question")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the LoRA adapter")
    p.add_argument("--eval-every", type=int, default=10, help="test-set eval every K training steps")
    p.add_argument("--max-new-tokens", type=int, default=256, help="per assistant turn")
    p.add_argument("--batch-size", type=int, default=256, help="turns generated at once")
    p.add_argument("--micro-batch", type=int, default=16, help="sequences per forward/backward pass in training")
    p.add_argument("--backend", choices=["auto", "local", "art"], default="auto", help="of training (evals: local)")
    p.add_argument("--max-minutes", type=float, help="stop each training run after this many minutes (resumable)")
    p.add_argument("--out", default="runs/reproduce", help="where the runs, tables.md and training_curves.png go")
    p.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    p.add_argument("--tables-only", action="store_true", help="only rebuild the tables and the curves")
    p.add_argument("--readme", help="also put the tables into this file, between its two table markers")
    args = p.parse_args(argv)
    if min(args.n, args.steps, args.questions_per_step, args.group_size, args.batch_size, args.micro_batch) < 1:
        p.error("--n, --steps, --questions-per-step, --group-size, --batch-size and --micro-batch must be at least 1")
    return args


def main(args) -> None:
    if not args.tables_only:
        run_cells(args)
    if args.dry_run:
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    text = tables(args)
    (Path(args.out) / "tables.md").write_text(text)
    if args.readme:
        put_tables(Path(args.readme), text)
    print(text)
    print(f"curves: {curves(args)}")


def put_tables(readme: Path, text: str) -> None:
    """Replace what stands between the markers in `readme` with the tables."""
    start, end = MARKERS
    page = readme.read_text()
    if start not in page or end not in page:
        raise SystemExit(f"error: {readme} has no table markers ({start} ... {end})")
    head, rest = page.split(start, 1)
    readme.write_text(f"{head}{start}\n{text}{end}{rest.split(end, 1)[1]}")


if __name__ == "__main__":
    main(parse_args())
