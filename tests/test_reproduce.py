"""reproduce.py: the CPU smoke run end to end, resume by skipping finished cells, the plan and the tables."""

import subprocess

import pytest
from conftest import ROOT, assert_one_line_error, run_script

import reproduce

SMOKE = ["--models", "smollm2-135m", "--seeds", "0", "--n", "2", "--steps", "1", "--questions-per-step", "1",
         "--group-size", "2", "--max-new-tokens", "8", "--batch-size", "8"]  # fmt: skip


def test_smoke_run_writes_tables_and_curves_then_skips_finished_cells(smollm2, tmp_path):
    out = tmp_path / "results"
    plan = run_script("reproduce.py", *SMOKE, "--out", out, "--dry-run", timeout=120)
    assert plan.returncode == 0 and plan.stdout.count("run: python") == 4 and not out.exists()
    first = run_script("reproduce.py", *SMOKE, "--out", out)
    assert first.returncode == 0, first.stderr[-3000:]
    tables = (out / "tables.md").read_text()
    for title in ("Without tools", "With the calculator, untrained", "With the calculator, after GRPO"):
        assert f"### {title}" in tables
    assert tables.count("| smollm2-135m | synthetic-test (n=2) |") == 3
    assert (out / "training_curves.png").stat().st_size > 0
    cell = out / "smollm2-135m" / "seed-0"
    assert (cell / "trained" / "summary.json").exists() and (cell / "train" / "metrics.jsonl").exists()
    again = run_script("reproduce.py", *SMOKE, "--out", out)
    assert again.returncode == 0 and again.stdout.count("done: ") == 4 and "run: python" not in again.stdout


def test_interval_across_seeds():
    assert reproduce.interval([0.5]) == "50.0%"
    assert reproduce.interval([0.4, 0.5, 0.6]) == "50.0% [25.2%, 74.8%]"  # mean +- 4.303 * 0.1 / sqrt(3)


@pytest.mark.parametrize("flag", ["--n", "--steps"])
def test_bad_values_fail_fast(flag):
    result = run_script("reproduce.py", flag, "0", timeout=60)
    assert_one_line_error(result, "must be at least 1")


def test_readme_tables_are_generated_from_the_committed_results():
    """The README's tables are reproduce.py's output for results/, not typed by hand."""
    args = reproduce.parse_args(["--out", str(ROOT / "results")])
    start, end = reproduce.MARKERS
    block = (ROOT / "README.md").read_text().split(start, 1)[1].split(end, 1)[0]
    assert block == "\n" + reproduce.tables(args)
    assert "| qwen2.5-coder-0.5b | synthetic-test (n=100) |" in block


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
                        "--out", tmp_path / "out", "--dry-run", timeout=60)  # fmt: skip
    assert result.returncode == 0 and result.stdout.count("run: python") == 8, result.stderr


def test_a_failed_cell_says_what_failed(tmp_path):
    result = run_script("reproduce.py", *SMOKE, "--max-new-tokens", "0", "--out", tmp_path / "out", timeout=120)
    assert_one_line_error(result, "the no_tool run of smollm2-135m seed 0 failed: --max-new-tokens must be at least 1")
