r"""Regenerate the three tables and the training curves: for each model and seed, the no-tool eval, the untrained
tool eval, GRPO training with the tool, and the tool eval of the trained adapter, each eval on every --sets set.

    python reproduce.py --models qwen2.5-coder-0.5b --seeds 0 1 2 --out results/v2 --readme README.md
    python reproduce.py --models smollm2-135m --seeds 0 --sets test dev --n 2 --steps 1 --questions-per-step 1 \
        --group-size 2 --max-new-tokens 8 --no-tool-max-new-tokens 8 --out runs/smoke      # a CPU smoke run

Each cell is one run of the scripts (as a subprocess) in OUT/<model>/seed-<s>/<cell>/<set> (training: .../train);
a cell whose summary.json exists is skipped, so a killed run continues where it stopped (a finished cell run with
other settings than the plan's stops the command, one line, before any cell runs). The defaults are the recipe chosen
on dev (RESULTS.md). Evals use every problem of a set (--n caps that, for smoke runs). The untrained cells (no_tool,
tool) are greedy on every problem, so they do not depend on the seed: they run once, under the first seed (per seed
when --n is smaller than the set or --temperature > 0). --dry-run prints the plan; --tables-only rebuilds
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
from episode import TOOL_PROMPT_HELP, TOOL_PROMPTS

ROOT = Path(__file__).resolve().parent
# The sets, as dataset.SET_FILES and dataset.EXTERNAL_SET name them, under --data-dir; titled as in the tables.
SET_FILES = {"test": "test.jsonl", "test-ood": "test-ood.jsonl", "dev": "dev.jsonl",
             "external": "external/agent-tool-rl-100.jsonl"}  # fmt: skip
SET_TITLES = {"test": "in-template (test)", "test-ood": "out-of-template (test-ood)", "dev": "dev",
              "external": "public project's 100 (external)"}  # fmt: skip
RECIPE_TOOL_PROMPT = "demo"  # the defaults here are the recipe chosen on dev (RESULTS.md), not the scripts' own
UNTRAINED = ("no_tool", "tool")  # seed-independent when greedy on every problem
MARKERS = ("<!-- tables: written by reproduce.py --readme; do not edit -->", "<!-- end of tables -->")
T_975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}  # Student t quantiles for 1..4 degrees of freedom


def set_sizes(args) -> dict[str, int]:
    """Lines (problems) per set file; one line and exit when one is missing."""
    sizes = {}
    for name in args.sets:
        path = set_file(args, name)
        if not path.is_file():
            raise SystemExit(f"error: the {name} set's file {path} does not exist")
        sizes[name] = sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
    return sizes


def set_file(args, name: str) -> Path:
    return Path(args.data_dir or ROOT / "data") / SET_FILES[name]


def once(args, sizes: dict[str, int], name: str) -> bool:
    """Untrained cells of this set run once (under the first seed): greedy on every problem."""
    return args.temperature == 0 and (args.n is None or args.n >= sizes[name])


def cells(args, sizes: dict[str, int], model: str, seed: int) -> list[tuple[str, Path, list[str]]]:
    """(label, folder, command) of the runs of one model and seed, in order."""
    base = runs.seed_dir(args.out, model, seed)
    shared = ["--model", model, "--batch-size", str(args.batch_size)]
    # Evals run on the local engine when training runs through ART (the eval scripts have no art backend).
    backend = "auto" if args.backend == "art" else args.backend
    trained = base / "train" / "summary.json"  # names the final adapter (the art backend keeps its own folders)
    adapter = json.loads(trained.read_text())["adapter"] if trained.exists() else f"{base}/train/checkpoints/step-N"

    def evals(cell: str, script: str, tokens: int, *extra: str):
        for name in args.sets:
            if cell in UNTRAINED and once(args, sizes, name) and seed != args.seeds[0]:
                continue  # the first seed's run stands for every seed
            n = sizes[name] if args.n is None else min(args.n, sizes[name])
            folder = base / cell / name
            yield f"{cell} {name}", folder, [script, *shared, "--max-new-tokens", str(tokens), "--dataset",
                                             str(set_file(args, name)), "--n", str(n), "--seeds",
                                             str(seed), "--temperature", str(args.temperature), "--backend", backend,
                                             *extra, "--out", str(folder)]  # fmt: skip

    prompt = ["--tool-prompt", args.tool_prompt]  # every tool cell: the adapter is evaluated with its training's
    train = [*shared, "--max-new-tokens", str(args.max_new_tokens), "--seed", str(seed), "--steps", str(args.steps),
             "--questions-per-step", str(args.questions_per_step), "--group-size", str(args.group_size), "--lr",
             str(args.lr), "--eval-every", str(args.eval_every), "--backend", args.backend, "--micro-batch",
             str(args.micro_batch), "--refill-rounds", str(args.refill_rounds), "--curriculum", str(args.curriculum),
             "--progress-reward", str(args.progress_reward), *prompt]  # fmt: skip
    if args.n is not None:  # a smoke run: small in-training evals too (else simple_train.py's own default)
        train += ["--eval-n", str(args.n)]
    if args.max_minutes is not None:  # training stops cleanly after this; rerunning reproduce.py continues it
        train += ["--max-minutes", str(args.max_minutes)]
    return [
        *evals("no_tool", "simple_eval.py", args.no_tool_max_new_tokens),
        *evals("tool", "simple_eval_tool.py", args.max_new_tokens, *prompt),
        ("train", base / "train", ["simple_train.py", *train, "--out", str(base / "train")]),
        *evals("trained", "simple_eval_tool.py", args.max_new_tokens, *prompt, "--adapter", str(adapter)),
    ]


def planned_config(command: list[str]) -> dict:
    """The config.json that the cell's script would write for this command (its own flags parsed as it parses them)."""
    script, argv = command[0].removesuffix(".py"), command[1:]
    if script == "simple_train":
        import simple_train

        return simple_train.run_config(simple_train.build_parser().parse_args(argv))
    import evaluation

    return evaluation.run_config(evaluation.build_parser("").parse_args(argv), script, script == "simple_eval_tool")


def ran_on(backend: str, train: bool) -> str:
    """The engine a --backend runs on here: `auto` is local for the evals, art or local for training (as the scripts
    choose it); a backend that cannot run here stays as given."""
    from engines import EngineError, choose_backend

    try:
        return choose_backend(backend, has_art_path=train)
    except EngineError:
        return backend


def changed_settings(folder: Path, command: list[str]) -> list[str]:
    """What a finished cell was run with that the plan would run otherwise: config keys, the engine (`auto` as it
    resolved: a training summary names it), and a training run's last step. The model and set are the folder's
    names, so `model` is not compared, and paths by their last part (runs made on another machine keep other
    paths)."""
    try:
        old = json.loads((folder / "config.json").read_text())
        done = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return ["config.json"]
    new = planned_config(command)
    train = command[0] == "simple_train.py"
    old["backend"] = done.get("backend") or ran_on(old.get("backend", "auto"), train)  # training: its summary's
    new["backend"] = ran_on(new["backend"], train)
    for config in (old, new):
        config.pop("model", None)
        for key in ("dataset", "adapter"):
            if config.get(key):
                config[key] = Path(config[key]).name
    changed = runs.changed_keys(old, new)
    if train and done.get("step") != int(command[command.index("--steps") + 1]):
        changed.append("steps")
    return changed


def check_done_cells(args, sizes: dict[str, int]) -> None:
    """A finished cell is skipped only if the plan would run it the same way; else one line and exit, before any
    cell runs (tables mixing recipes are not what the command says)."""
    for model in args.models:
        for seed in args.seeds:
            for _, folder, command in cells(args, sizes, model, seed):
                if (folder / "summary.json").exists() and (changed := changed_settings(folder, command)):
                    raise SystemExit(
                        f"error: {folder} was run with other settings ({', '.join(changed)}) "
                        "than this command's; move it away, or run with its settings (its config.json)"
                    )


def run_cells(args, sizes: dict[str, int]) -> None:
    check_done_cells(args, sizes)
    for name in args.sets:
        how = "once, under the first seed" if once(args, sizes, name) else "per seed"
        n = sizes[name] if args.n is None else min(args.n, sizes[name])
        print(f"set {name}: {set_file(args, name)}, {n} of {sizes[name]} problems per eval; "
              f"untrained cells {how}")  # fmt: skip
    for model in args.models:
        for seed in args.seeds:
            for i in range(len(cells(args, sizes, model, seed))):  # planned again: trained needs the adapter
                label, folder, command = cells(args, sizes, model, seed)[i]
                if (folder / "summary.json").exists():
                    print(f"done: {folder}")
                    continue
                print("run:", " ".join(["python", *command]), flush=True)
                if args.dry_run:
                    continue
                if (failure := run_cell(command)) is not None:
                    raise SystemExit(f"error: the {label} run of {model} seed {seed} failed: {failure}")
                if not (folder / "summary.json").exists():  # training stopped at --max-minutes
                    print(f"the {label} run of {model} seed {seed} stopped early; rerun the same command to continue")
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


# The tables: one row per model, a column per set; each cell the mean [95% interval] across seeds (per seed).


def interval(values: list[float]) -> str:
    """Mean and a 95% interval across seeds (Student t), in percent; the mean alone for one seed."""
    mean = statistics.fmean(values)
    if len(values) < 2 or len(values) > 5:
        return f"{mean:.1%}"
    half = T_975[len(values)] * statistics.stdev(values) / math.sqrt(len(values))
    return f"{mean:.1%} [{max(mean - half, 0) * 100:.1f}, {min(mean + half, 1) * 100:.1f}]"


def summaries(args, sizes, model: str, cell: str, name: str) -> list[dict | None]:
    """The summary of each seed (None: not there); an untrained cell run once stands for every seed."""
    seeds = [args.seeds[0]] * len(args.seeds) if cell in UNTRAINED and once(args, sizes, name) else args.seeds
    paths = [runs.seed_dir(args.out, model, s) / cell / name / "summary.json" for s in seeds]
    loaded = {p: json.loads(p.read_text()) for p in set(paths) if p.exists()}  # a run shown twice is one dict
    return [loaded.get(p) for p in paths]


def accuracy_text(found: list[dict | None], key: str, single: bool) -> str:
    values = [s.get(key) if s else None for s in found]
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    if single:  # one run shown for every seed
        return f"{known[0]:.1%}†"
    if len(values) == 1:
        return f"{known[0]:.1%}"
    per_seed = ", ".join("-" if v is None else f"{v * 100:.0f}" for v in values)
    return f"{interval(known)} ({per_seed})"


def truncated_text(found: list[dict | None]) -> str:
    """Episodes still cut by the token limit, of all episodes played (a run shown for every seed counts once)."""
    runs_ = list({id(s): s for s in found if s}.values())  # summaries() gives a shared run as one dict
    cut = sum(s.get("truncated", s.get("failures", {}).get("truncated", 0)) for s in runs_)
    return f"{cut}/{sum(s['n_episodes'] for s in runs_)}" if runs_ else "-"


def dependent_calls(found: list[dict | None]) -> str:
    """Mean dependent tool calls on problems of 3 or more steps, across seeds ("-" when the summaries do not say)."""
    means = []
    for summary in filter(None, found):
        rows = [r for k, r in (summary.get("by_steps") or {}).items()
                if int(k) >= 3 and r.get("n") and r.get("mean_dependent_calls") is not None]  # fmt: skip
        if rows:
            means.append(sum(r["n"] * r["mean_dependent_calls"] for r in rows) / sum(r["n"] for r in rows))
    return f"{statistics.fmean(means):.2f}" if means else "-"


def table(args, sizes, cell: str) -> tuple[list[str], list[list[str]]]:
    """The header and the rows (one per model) of one table: a column per set, then the extra columns."""
    found = {m: {n: summaries(args, sizes, m, cell, n) for n in args.sets} for m in args.models}
    single = {n: cell in UNTRAINED and once(args, sizes, n) for n in args.sets}

    def per_set(text):  # one column naming each set: "test 1.2%, test-ood 0.4%"
        return lambda m: ", ".join(f"{n} {text(found[m][n], n)}" for n in args.sets)

    columns = {}
    for n in args.sets:
        first = next((s for m in args.models for s in found[m][n] if s), None)
        size = f", n={first['n_episodes'] // max(len(first.get('accuracy_per_seed') or [0]), 1)}" if first else ""
        columns[SET_TITLES[n] + size] = lambda m, n=n: accuracy_text(found[m][n], "accuracy", single[n])
    if cell in UNTRAINED:
        columns["lenient"] = per_set(lambda f, n: accuracy_text(f, "accuracy_lenient", single[n]))
    if cell == "no_tool":
        columns["truncated"] = per_set(lambda f, n: truncated_text(f))
    if cell == "trained" and any(dependent_calls(f) != "-" for m in args.models for f in found[m].values()):
        columns["dependent calls, 3+ steps"] = per_set(lambda f, n: dependent_calls(f))
    return ["model", *columns], [[models.model_name(m), *(c(m) for c in columns.values())] for m in args.models]


TABLES = [("no_tool", "Without tools"), ("tool", "With the calculator, untrained"),
          ("trained", "With the calculator, after GRPO")]  # fmt: skip


def tables(args, sizes: dict[str, int]) -> str:
    lines = []
    for cell, title in TABLES:
        head, rows = table(args, sizes, cell)
        lines += [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        notes = ["Accuracy (strict grading): mean [95% interval] across seeds, then each seed's value."]
        if cell in UNTRAINED:
            if any(once(args, sizes, n) for n in args.sets):
                seeds = ", ".join(map(str, args.seeds))
                notes.append(f"† greedy on every problem of the set, so the same for every seed: run once (under "
                             f"seed-{args.seeds[0]}) and shown for seeds {seeds}.")  # fmt: skip
            notes.append("lenient: the summaries' `accuracy_lenient`, beside the strict headline.")
        if cell == "no_tool":
            notes.append("truncated: no-tool episodes still cut by the token limit (--no-tool-max-new-tokens), "
                         "of all played.")  # fmt: skip
        if "dependent calls, 3+ steps" in head:
            notes.append("dependent calls: mean tool calls that use an earlier call's result, on 3+-step problems.")
        lines += ["", *notes, ""]
    return "\n".join(lines)


CURVES = [("eval_acc", "test", "o-"), ("eval_acc_ood", "test-ood", "s--"), ("eval_acc_dev", "dev", "^:")]


def curves(args) -> Path:
    path = Path(args.out) / "training_curves.png"
    curve_figure(args).savefig(path, dpi=100)
    return path


def curve_figure(args):
    """Per model and seed (one colour each): the in-training greedy evals by step, step 0 (untrained) included,
    on the in-template test set, the out-of-template one and dev where training logged them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colour = 0
    for model in args.models:
        for seed in args.seeds:
            rows = runs.read_jsonl(runs.seed_dir(args.out, model, seed) / "train" / "metrics.jsonl")
            drawn = False
            for key, name, style in CURVES:
                points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
                if points:
                    ax.plot(*zip(*points, strict=True), style, color=f"C{colour}",
                            label=f"{models.model_name(model)} seed {seed}: {name}")  # fmt: skip
                    drawn = True
            colour += drawn
    ax.set(xlabel="GRPO step", ylabel="accuracy with the tool (greedy)", ylim=(-0.02, 1.02))
    ax.set_title("In-training evals: test (in-template), test-ood (out-of-template), dev")
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
    p.add_argument("--sets", nargs="+", choices=list(SET_FILES), default=["test", "test-ood", "external"],
                   help="the eval sets; every eval cell runs on each")  # fmt: skip
    p.add_argument("--data-dir", help="folder of the sets' files (default: data/ next to reproduce.py)")
    p.add_argument("--n", type=int, help="at most this many problems per set and eval (default: all; smoke runs)")
    p.add_argument("--temperature", type=float, default=0.0, help="of the evals (0 = greedy)")
    p.add_argument("--steps", type=int, default=80, help="GRPO steps per seed")
    p.add_argument("--questions-per-step", type=int, default=32, help="train-split questions per GRPO step")
    p.add_argument("--group-size", type=int, default=8, help="sampled episodes per question")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the LoRA adapter")
    p.add_argument("--refill-rounds", type=int, default=1, help="of training: rounds replacing groups without signal")
    p.add_argument("--curriculum", type=int, default=0, metavar="K", help="of training: short questions first K steps")
    p.add_argument("--progress-reward", type=float, default=0.5, help="of training: see simple_train.py --help")
    p.add_argument("--eval-every", type=int, default=20, help="in-training eval every K training steps")
    p.add_argument("--max-new-tokens", type=int, default=256, help="per assistant turn (tool evals, training)")
    p.add_argument("--no-tool-max-new-tokens", type=int, default=1024, help="per turn of the no-tool eval")
    p.add_argument("--batch-size", type=int, default=256, help="turns generated at once")
    p.add_argument("--micro-batch", type=int, default=16, help="sequences per forward/backward pass in training")
    p.add_argument("--backend", choices=["auto", "local", "art"], default="auto", help="of training (evals: local)")
    p.add_argument("--tool-prompt", choices=list(TOOL_PROMPTS), default=RECIPE_TOOL_PROMPT,
                   help=TOOL_PROMPT_HELP + "; of every tool eval and of training")  # fmt: skip
    p.add_argument("--max-minutes", type=float, help="stop each training run after this many minutes (resumable)")
    p.add_argument("--out", default="runs/reproduce", help="where the runs, tables.md and training_curves.png go")
    p.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    p.add_argument("--tables-only", action="store_true", help="only rebuild the tables and the curves")
    p.add_argument("--readme", help="also put the tables into this file, between its two table markers")
    args = p.parse_args(argv)
    if min(args.steps, args.questions_per_step, args.group_size, args.batch_size, args.micro_batch) < 1 or (
        args.n is not None and args.n < 1
    ):
        p.error("--n, --steps, --questions-per-step, --group-size, --batch-size and --micro-batch must be at least 1")
    if args.temperature < 0:
        p.error("--temperature must be >= 0")
    args.sets = list(dict.fromkeys(args.sets))  # a set named twice runs once
    return args


def main(args) -> None:
    if not args.tables_only:
        for model in args.models:  # a typo fails here, not hours later in its first cell
            try:
                models.check_model(model)
            except models.ModelError as e:
                raise SystemExit(f"error: {e}") from None
    sizes = set_sizes(args)
    if not args.tables_only:
        run_cells(args, sizes)
    if args.dry_run:
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    text = tables(args, sizes)
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
