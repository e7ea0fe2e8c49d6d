"""reproduce.py: the CPU smoke run end to end on two sets, resume by skipping finished cells, the plan (cells x
sets, untrained cells once), the tables from a results tree, and the errors."""

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, run_script

import reproduce
import runs

SMOKE = ["--models", "smollm2-135m", "--seeds", "0", "--n", "2", "--steps", "1", "--questions-per-step", "1",
         "--group-size", "2", "--max-new-tokens", "8", "--no-tool-max-new-tokens", "8",
         "--batch-size", "8"]  # fmt: skip


@pytest.fixture
def data(tmp_path):
    """A data folder with small test and dev sets (real problems from the frozen test set)."""
    lines = (ROOT / "data" / "test.jsonl").read_text().splitlines(keepends=True)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "test.jsonl").write_text("".join(lines[:20]))
    (folder / "dev.jsonl").write_text("".join(lines[20:30]))
    return folder


def test_smoke_run_on_two_sets_writes_tables_and_curves_then_skips_finished_cells(smollm2, tmp_path, data):
    out = tmp_path / "results"
    smoke = [*SMOKE, "--sets", "test", "dev", "--data-dir", data, "--out", out]
    plan = run_script("reproduce.py", *smoke, "--dry-run", timeout=120)
    assert plan.returncode == 0 and plan.stdout.count("run: python") == 7 and not out.exists(), plan.stderr
    first = run_script("reproduce.py", *smoke)
    assert first.returncode == 0, first.stderr[-3000:]
    cell = out / "smollm2-135m" / "seed-0"
    for name in ("no_tool", "tool", "trained"):
        for s in ("test", "dev"):
            summary = json.loads((cell / name / s / "summary.json").read_text())
            assert summary["n_episodes"] == 2 and summary["config"]["dataset"] == str(data / f"{s}.jsonl")
    assert (cell / "train" / "metrics.jsonl").exists() and not (cell / "train" / "test").exists()
    tables = (out / "tables.md").read_text()
    for title in ("Without tools", "With the calculator, untrained", "With the calculator, after GRPO"):
        assert f"### {title}" in tables
    assert tables.count("| model | in-template (test), n=2 | dev, n=2 |") == 3
    assert "truncated" in tables and (out / "training_curves.png").stat().st_size > 0
    again = run_script("reproduce.py", *smoke)
    assert again.returncode == 0 and again.stdout.count("done: ") == 7 and "run: python" not in again.stdout


def plan(argv, sizes):
    args = reproduce.parse_args(["--models", "m", "--out", "o", *argv])
    return [label for seed in args.seeds for label, _, _ in reproduce.cells(args, sizes, "m", seed)]


@pytest.mark.parametrize(
    "argv, untrained_runs",
    [([], 4), (["--n", "20"], 4), (["--n", "2"], 8), (["--temperature", "0.7"], 8)],
    ids=["all-problems", "n-covers-the-set", "n-below-the-set", "sampled"],
)
def test_plan_runs_every_eval_cell_on_every_set_and_untrained_greedy_cells_once(argv, untrained_runs):
    labels = plan(["--seeds", "0", "1", "--sets", "test", "dev", *argv], {"test": 20, "dev": 10})
    untrained = [x for x in labels if x.split()[0] in reproduce.UNTRAINED]
    assert len(untrained) == untrained_runs and sorted(set(untrained)) == ["no_tool dev", "no_tool test",
                                                                            "tool dev", "tool test"]  # fmt: skip
    assert labels.count("train") == 2 and sorted(x for x in labels if x.startswith("trained")) == [
        "trained dev", "trained dev", "trained test", "trained test"]  # fmt: skip


def test_plan_commands_use_the_whole_set_and_the_no_tool_token_limit(tmp_path, data):
    args = reproduce.parse_args(["--models", "m", "--seeds", "3", "4", "--sets", "dev", "--data-dir", str(data),
                                 "--out", str(tmp_path)])  # fmt: skip
    sizes = reproduce.set_sizes(args)
    assert sizes == {"dev": 10}
    (label, folder, command), *_ = reproduce.cells(args, sizes, "m", 3)
    assert label == "no_tool dev" and folder == runs.seed_dir(tmp_path, "m", 3) / "no_tool" / "dev"
    flags = dict(zip(command[1::2], command[2::2], strict=False))
    assert flags["--dataset"] == str(data / "dev.jsonl") and flags["--n"] == "10" and flags["--seeds"] == "3"
    assert flags["--max-new-tokens"] == "1024" and command[-1] == str(folder)
    later = [label for label, _, _ in reproduce.cells(args, sizes, "m", 4)]
    assert later == ["train", "trained dev"]  # the untrained cells ran under seed 3 for both seeds
    train = reproduce.cells(args, sizes, "m", 4)[0][2]
    assert "--eval-n" not in train and "--dataset" not in train
    knobs = ["--curriculum", "12", "--refill-rounds", "2", "--progress-reward", "0.3"]
    recipe = reproduce.parse_args(["--models", "m", "--seeds", "3", "--sets", "dev", "--data-dir", str(data), *knobs])
    train = next(c for label, _, c in reproduce.cells(recipe, sizes, "m", 3) if label == "train")
    flags = dict(zip(train[1::2], train[2::2], strict=False))
    assert flags["--curriculum"] == "12" and flags["--refill-rounds"] == "2" and flags["--progress-reward"] == "0.3"


@pytest.mark.parametrize("prompt", [None, "one-op", "steps"])
def test_the_tool_prompt_goes_to_every_tool_eval_and_to_training(tmp_path, data, prompt):
    argv = ["--models", "m", "--seeds", "3", "--sets", "test", "dev", "--data-dir", str(data), "--out", str(tmp_path)]
    args = reproduce.parse_args(argv + (["--tool-prompt", prompt] if prompt else []))
    commands = {label: command for label, _, command in reproduce.cells(args, reproduce.set_sizes(args), "m", 3)}
    assert len(commands) == 7
    for label, command in commands.items():
        if label.startswith("no_tool"):
            assert "--tool-prompt" not in command
        else:  # tool, train and trained: one and the same prompt, the default when not given
            assert command.count("--tool-prompt") == 1
            assert command[command.index("--tool-prompt") + 1] == (prompt or reproduce.RECIPE_TOOL_PROMPT), label


def test_dry_run_prints_the_plan_of_the_new_layout(tmp_path, data):
    result = run_script("reproduce.py", "--models", "smollm2-135m", "--seeds", "0", "1", "--sets", "test", "dev",
                        "--data-dir", data, "--out", tmp_path / "out", "--dry-run", timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "set dev: " in result.stdout and "10 of 10 problems per eval; untrained cells once" in result.stdout
    runs_ = [line for line in result.stdout.splitlines() if line.startswith("run: python")]
    assert len(runs_) == 4 + 2 + 4 and not (tmp_path / "out").exists()
    assert sum(f"seed-1/{c}/" in line for line in runs_ for c in ("no_tool", "tool/")) == 0
    assert any(line.endswith("seed-1/trained/dev") for line in runs_)


def write_summary(path, accuracy, lenient=None, n=10, seeds=("0",), **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {"n_episodes": n * len(seeds), "accuracy": accuracy, "accuracy_per_seed": dict.fromkeys(seeds, accuracy)}
    summary |= {"accuracy_lenient": lenient} if lenient is not None else {}
    path.write_text(json.dumps(summary | extra))


def test_tables_from_a_results_tree(tmp_path):
    """Untrained cells once under seed 0 (shown for every seed), trained per seed; strict, then lenient, truncated
    episodes and dependent calls where the summaries hold them."""
    args = reproduce.parse_args(["--models", "smollm2-135m", "--seeds", "0", "1", "2", "--sets", "test", "external",
                                 "--out", str(tmp_path)])  # fmt: skip
    sizes = {"test": 10, "external": 100}
    base = {s: runs.seed_dir(tmp_path, "smollm2-135m", s) for s in (0, 1, 2)}
    write_summary(base[0] / "no_tool" / "test" / "summary.json", 0.1, 0.3, truncated=2)
    write_summary(base[0] / "no_tool" / "external" / "summary.json", 0.2, 0.25, n=100,
                  failures={"truncated": 7})  # fmt: skip
    write_summary(base[0] / "tool" / "test" / "summary.json", 0.0, 0.1)
    steps = {"1": {"n": 6, "mean_dependent_calls": 0.0}, "3": {"n": 3, "mean_dependent_calls": 1.0},
             "4": {"n": 1, "mean_dependent_calls": 2.0}}  # fmt: skip
    for seed, acc in enumerate([0.4, 0.5, 0.6]):
        write_summary(base[seed] / "trained" / "test" / "summary.json", acc, by_steps=steps)
        write_summary(base[seed] / "trained" / "external" / "summary.json", acc / 2, n=100)
    text = reproduce.tables(args, sizes)
    no_tool, tool, trained = text.split("### ")[1:]
    assert (
        "| model | in-template (test), n=10 | public project's 100 (external), n=100 | lenient | truncated |\n"
        "|---|---|---|---|---|\n"
        "| smollm2-135m | 10.0%† | 20.0%† | test 30.0%†, external 25.0%† | test 2/10, external 7/100 |"
    ) in no_tool
    assert "run once (under seed-0) and shown for seeds 0, 1, 2" in no_tool
    assert "| smollm2-135m | 0.0%† | - | test 10.0%†, external - |" in tool and "truncated" not in tool
    assert "| public project's 100 (external), n=100 | dependent calls, 3+ steps |\n|---|---|---|---|\n" in trained
    assert ("| smollm2-135m | 50.0% [25.2, 74.8] (40, 50, 60) | 25.0% [12.6, 37.4] (20, 25, 30) "
            "| test 1.25, external - |") in trained  # fmt: skip
    assert "†" not in trained and "lenient" not in trained


def test_tables_skip_the_dependent_calls_without_them_and_mark_missing_seeds(tmp_path):
    args = reproduce.parse_args(["--models", "smollm2-135m", "--seeds", "0", "1", "--sets", "test", "--n", "5",
                                 "--out", str(tmp_path)])  # fmt: skip
    write_summary(runs.seed_dir(tmp_path, "smollm2-135m", 1) / "trained" / "test" / "summary.json", 0.8, n=5,
                  by_steps={"3": {"n": 5, "accuracy": 0.8}})  # fmt: skip
    write_summary(runs.seed_dir(tmp_path, "smollm2-135m", 1) / "tool" / "test" / "summary.json", 0.2, n=5)
    text = reproduce.tables(args, {"test": 20})
    assert "| smollm2-135m | 80.0% (-, 80) |" in text and "dependent calls" not in text
    assert "| smollm2-135m | 20.0% (-, 20) | test - |" in text and "†" not in text  # --n 5 < 20: per seed


def test_truncated_counts_prefer_the_summary_key_and_count_a_shared_run_once():
    shared = {"n_episodes": 10, "truncated": 3, "failures": {"truncated": 1}}
    assert reproduce.truncated_text([shared, shared, shared]) == "3/10"
    assert reproduce.truncated_text([{"n_episodes": 4, "failures": {"truncated": 1}}, None]) == "1/4"
    assert reproduce.truncated_text([None]) == "-"


def test_interval_across_seeds():
    assert reproduce.interval([0.5]) == "50.0%"
    assert reproduce.interval([0.4, 0.5, 0.6]) == "50.0% [25.2, 74.8]"  # mean +- 4.303 * 0.1 / sqrt(3)


@pytest.mark.parametrize("flag", ["--n", "--steps"])
def test_bad_values_fail_fast(flag):
    result = run_script("reproduce.py", flag, "0", timeout=60)
    assert_one_line_error(result, "must be at least 1")


def test_a_bad_set_name_fails_in_one_line():
    result = run_script("reproduce.py", "--sets", "test", "train", "--dry-run", timeout=60)
    assert_one_line_error(result, "argument --sets: invalid choice: 'train'")


def test_a_missing_set_file_fails_before_anything_runs(tmp_path, data):
    result = run_script("reproduce.py", "--models", "smollm2-135m", "--sets", "test", "external", "--data-dir", data,
                        "--out", tmp_path / "out", timeout=60)  # fmt: skip
    assert_one_line_error(result, f"the external set's file {data / 'external' / 'agent-tool-rl-100.jsonl'} does not")
    assert result.stdout == "" and not (tmp_path / "out").exists()


def test_readme_tables_are_what_reproduce_writes_from_the_committed_results_and_v1_is_kept():
    """Between the markers only what reproduce.py writes from results/v2 (seeds 0 1 2, the default sets); the
    superseded v1 tables are results/v1/tables.md as it was written, not typed by hand."""
    readme = (ROOT / "README.md").read_text()
    start, end = reproduce.MARKERS
    block = readme.split(start, 1)[1].split(end, 1)[0]
    args = reproduce.parse_args(["--models", "qwen2.5-coder-0.5b", "--seeds", "0", "1", "2",
                                 "--out", str(ROOT / "results" / "v2")])  # fmt: skip
    text = reproduce.tables(args, reproduce.set_sizes(args))
    assert block == f"\n{text}" and (ROOT / "results" / "v2" / "tables.md").read_text() == text
    v1 = readme.split("## v1 results", 1)[1]
    assert (ROOT / "results" / "v1" / "tables.md").read_text() in v1
    assert "| qwen2.5-coder-0.5b | synthetic-test (n=100) | 77%, 85%, 80% | yes | 80.7% [70.6%, 90.7%] |" in v1


def plant_finished_cell(tmp_path, data, label, **changes):
    """A finished cell of the plan under tmp_path/out, as its script would have written it on another machine
    (other model, data and adapter paths), with `changes` to its config; returns its folder. A trained cell's
    training is planted first (its summary names the adapter)."""
    if label.startswith("trained") and not (tmp_path / "out").exists():
        plant_finished_cell(tmp_path, data, "train")
    args = reproduce.parse_args(["--models", "smollm2-135m", "--seeds", "0", "--sets", "test", "--data-dir", str(data),
                                 "--steps", "2", "--out", str(tmp_path / "out")])  # fmt: skip
    _, folder, command = next(c for c in reproduce.cells(args, reproduce.set_sizes(args), "smollm2-135m", 0)
                              if c[0] == label)  # fmt: skip
    config = reproduce.planned_config(command) | {"model": "/elsewhere/m.gguf"}
    for key in ("dataset", "adapter"):
        if config.get(key):
            config[key] = f"/elsewhere/{Path(config[key]).name}"
    step = changes.pop("step", 2)  # a training run's last step, in its summary
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config | changes))
    adapter = str(folder / "checkpoints" / f"step-{step:04d}")  # a training run's summary names its adapter
    (folder / "summary.json").write_text(json.dumps({"step": step, "n_episodes": 1, "adapter": adapter}))
    return folder


def dry_run(tmp_path, data, *argv):
    return run_script("reproduce.py", "--models", "smollm2-135m", "--seeds", "0", "--sets", "test", "--data-dir", data,
                      "--steps", "2", "--out", tmp_path / "out", "--dry-run", *argv, timeout=60)  # fmt: skip


@pytest.mark.parametrize("backend", [[], ["--backend", "local"]], ids=["auto", "local"])
@pytest.mark.parametrize("label", ["no_tool test", "tool test", "train", "trained test"])
def test_a_finished_cell_made_elsewhere_with_the_same_settings_is_skipped(tmp_path, data, label, backend):
    """Planted with `--backend auto` (what the plan writes by default): `local` is what auto ran on here."""
    folder = plant_finished_cell(tmp_path, data, label)
    result = dry_run(tmp_path, data, *backend)
    assert result.returncode == 0 and f"done: {folder}\n" in result.stdout, result.stderr
    assert result.stdout.count("run: python") == 3 - label.startswith("trained")  # of the plan's 4 cells


@pytest.mark.parametrize(
    "label, change, named",
    [("no_tool test", {"max_new_tokens": 99}, "max_new_tokens"), ("tool test", {"tool_prompt": "basic"}, "tool_prompt"),
     ("train", {"lr": 0.5}, "lr"), ("train", {"step": 1}, "steps"),
     ("train", {"train_words": "0123456789ab"}, "train_words"),
     ("trained test", {"adapter": "/elsewhere/step-0001"}, "adapter")],
    ids=["no-tool-tokens", "tool-prompt", "train-lr", "train-steps", "train-wording", "trained-other-adapter"],
)  # fmt: skip
def test_a_finished_cell_with_other_settings_stops_the_command_before_any_cell(tmp_path, data, label, change, named):
    folder = plant_finished_cell(tmp_path, data, label, **change)
    result = dry_run(tmp_path, data)
    assert_one_line_error(result, f"{folder} was run with other settings ({named}) than this command's")
    assert result.stdout == ""


def test_put_tables_replaces_only_the_marked_block(tmp_path):
    start, end = reproduce.MARKERS
    page = tmp_path / "README.md"
    page.write_text(f"intro\n{start}\nold\n{end}\noutro\n")
    reproduce.put_tables(page, "new\n")
    assert page.read_text() == f"intro\n{start}\nnew\n{end}\noutro\n"
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no table markers"):
        reproduce.put_tables(page, "new\n")


def test_default_out_is_an_ignored_folder_not_the_tracked_results():
    out = reproduce.parse_args([]).out
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{out}/seed-0/summary.json"], cwd=ROOT)
    assert ignored.returncode == 0, f"{out} would write into tracked files"


@pytest.mark.parametrize(
    "model, message",
    [
        ("smollm2-13m", "unknown model 'smollm2-13m'"),
        ("tests", "model folder 'tests' has no config.json"),
        ("pyproject.toml", "is not a .gguf file"),
        ("{text_gguf}", "is not a GGUF file"),
    ],
    ids=["typo-alias", "folder-without-config", "not-gguf-suffix", "text-gguf"],
)
def test_dry_run_checks_every_model(tmp_path, model, message):
    (tmp_path / "x.gguf").write_text("not a model\n")
    model = model.format(text_gguf=tmp_path / "x.gguf")
    result = run_script("reproduce.py", "--models", "smollm2-135m", model, "--out", tmp_path / "out", "--dry-run",
                        timeout=60)  # fmt: skip
    assert_one_line_error(result, message)
    assert result.stdout == ""  # nothing planned before the check


def test_dry_run_accepts_an_alias_and_a_hub_id_without_fetching(tmp_path):
    result = run_script("reproduce.py", "--models", "smollm2-135m", "someone/some-model", "--seeds", "0",
                        "--sets", "test", "--out", tmp_path / "out", "--dry-run", timeout=60)  # fmt: skip
    assert result.returncode == 0 and result.stdout.count("run: python") == 8, result.stderr


def test_a_failed_cell_says_what_failed(tmp_path, data):
    result = run_script("reproduce.py", *SMOKE, "--no-tool-max-new-tokens", "0", "--sets", "test", "--data-dir", data,
                        "--out", tmp_path / "out", timeout=120)  # fmt: skip
    assert_one_line_error(result, "the no_tool test run of smollm2-135m seed 0 failed: --max-new-tokens must be at")
