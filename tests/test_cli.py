"""Every script's command line, as a subprocess: --help shows the defaults, and bad input stops with one line,
`error: ...`, on stderr (no usage text, no traceback)."""

import json

import pytest
from conftest import assert_one_line_error, run_script

import dataset
import reproduce
import runs

BENCH = ["-m", "benchmarks.bench"]
SCRIPTS = ["simple_eval.py", "simple_eval_tool.py", "simple_train.py", "reproduce.py"]  # those with --tool-prompt


@pytest.mark.parametrize(
    "command, flag_help",
    [
        (["simple_eval.py"], "--n N questions per seed (default: 100)"),
        (
            ["simple_eval_tool.py"],
            "--model MODEL offline alias, GGUF file, folder or hub id (default: qwen2.5-coder-0.5b)",
        ),
        (["simple_train.py"], "--lr LR AdamW learning rate of the LoRA adapter (default: 5e-05)"),
        (["reproduce.py"], "--group-size GROUP_SIZE sampled episodes per question (default: 8)"),
        (BENCH, "--n N episodes for (b) and (c) (default: 256)"),
    ],
    ids=["simple_eval", "simple_eval_tool", "simple_train", "reproduce", "bench"],
)
def test_help_shows_the_defaults(command, flag_help):
    result = run_script(*command, "--help", timeout=120)
    assert result.returncode == 0 and flag_help in " ".join(result.stdout.split()), result.stdout


@pytest.mark.parametrize(
    "command, message",
    [
        (["simple_eval.py", "--n", "x"], "argument --n: invalid int value: 'x'"),
        (["simple_eval_tool.py", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["simple_train.py", "--steps", "x"], "argument --steps: invalid int value: 'x'"),
        (["reproduce.py", "--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
        ([*BENCH, "--ways", "xyz"], "--ways a subset of 'abc'"),
        (["dataset.py", "--split", "validation", "--n", "1"], "argument --split: invalid choice: 'validation'"),
    ],
    ids=["simple_eval", "simple_eval_tool", "simple_train", "reproduce", "bench", "dataset"],
)
def test_bad_flags_fail_in_one_line(command, message):
    assert_one_line_error(run_script(*command, timeout=120), message)


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_unknown_tool_prompt_fails_in_one_line(script):
    result = run_script(script, "--tool-prompt", "chain", timeout=120)
    assert_one_line_error(result, "argument --tool-prompt: invalid choice: 'chain' (choose from ")
    assert "one-op" in result.stderr and "steps" in result.stderr  # quoted or not, by Python version


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_names_every_tool_prompt(script):
    result = run_script(script, "--help", timeout=120)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0 and "--tool-prompt {one-op,steps,basic,demo}" in text, result.stdout
    assert "one-op (one operation per call" in text and "steps (a call for every arithmetic step" in text
    assert "basic (one-op, enforced: the calculator refuses a call of more than one operation)" in text
    assert "demo (basic, after a worked three-call episode shown as earlier turns of the chat)" in text
    assert f"(default: {reproduce.RECIPE_TOOL_PROMPT if script == 'reproduce.py' else 'one-op'})" in text


def written_config(script: str, argv: list[str], out) -> dict:
    """The config.json a run of `script` with `argv` writes into `out` (as its own main would: reproduce.py's
    check of finished cells relies on the same function)."""
    config = reproduce.planned_config([script, *argv])
    runs.open_run(out, config)
    return config


@pytest.mark.parametrize("script", ["simple_eval_tool.py", "simple_train.py"])
def test_the_tool_prompt_is_part_of_the_run_config_and_a_resume_with_another_is_refused(tmp_path, script):
    argv = ["--model", "smollm2-135m", "--backend", "local", "--out", str(tmp_path)]
    config = written_config(script, argv, tmp_path)
    assert config["tool_prompt"] == "one-op"  # the default, recorded
    result = run_script(script, *argv, "--tool-prompt", "steps", timeout=120)
    assert_one_line_error(result, "holds a run with another configuration (tool_prompt); use a new --out")


def test_a_training_run_records_its_wording_and_is_not_resumed_on_other_templates(tmp_path):
    argv = ["--model", "smollm2-135m", "--backend", "local", "--out", str(tmp_path)]
    config = written_config("simple_train.py", argv, tmp_path)
    assert config["train_words"] == dataset.train_words_digest() and len(config["train_words"]) == 12
    (tmp_path / "config.json").write_text(json.dumps(config | {"train_words": "000000000000"}))  # older templates
    result = run_script("simple_train.py", *argv, timeout=120)
    assert_one_line_error(result, "holds a run with another configuration (train_words); use a new --out")


def test_a_no_tool_eval_does_not_record_the_tool_prompt(tmp_path):
    argv = ["--model", "smollm2-135m", "--max-turns", "2", "--out", str(tmp_path)]
    written_config("simple_eval.py", argv, tmp_path)
    argv[3] = "5"  # another --max-turns: the run is refused, and --tool-prompt is no part of the difference
    result = run_script("simple_eval.py", *argv, "--tool-prompt", "steps", timeout=120)
    assert_one_line_error(result, "holds a run with another configuration (max_turns); use a new --out")


@pytest.mark.parametrize("script", ["simple_eval.py", "simple_eval_tool.py", "simple_train.py"])
def test_out_under_a_file_fails_in_one_line(tmp_path, script):
    (tmp_path / "file").write_text("a regular file\n")
    result = run_script(script, "--model", "smollm2-135m", "--out", tmp_path / "file" / "run", timeout=120)
    assert_one_line_error(result, f"cannot use {tmp_path / 'file' / 'run'} as the run folder: Not a directory")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "holds no problems"),
        ('{"question": "q", "answer": "1"}\n{"question": null, "answer": "1"}\n', "data.jsonl:2: missing or null"),
        ('{"question": "q", "answer": "1"}\n{"question": 7, "answer": "7"}\n', "data.jsonl:2: the question must be"),
    ],
    ids=["empty", "null-question", "number-question"],
)
def test_unusable_dataset_fails_in_one_line(tmp_path, text, message):
    (tmp_path / "data.jsonl").write_text(text)
    result = run_script("simple_eval.py", "--dataset", tmp_path / "data.jsonl", "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(result, message)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a model\n", "is not a GGUF file"),
        (b"GGUF" + bytes(range(256)) * 4, "cannot convert"),  # the magic, then garbage: the converter fails
    ],
    ids=["text", "garbage-after-magic"],
)
def test_bad_gguf_file_fails_in_one_line_and_leaves_nothing_in_the_cache(tmp_path, content, message):
    (tmp_path / "x.gguf").write_bytes(content)
    cache = tmp_path / "cache"
    result = run_script("simple_eval_tool.py", "--model", tmp_path / "x.gguf", "--out", tmp_path / "run",
                        timeout=300, env={"CALC_RL_CACHE": str(cache)})  # fmt: skip
    assert_one_line_error(result, message)
    assert not list(cache.rglob("*.tmp")), list(cache.rglob("*"))


def test_bench_with_a_file_that_is_no_gguf_fails_in_one_line():
    assert_one_line_error(run_script(*BENCH, "--model", "pyproject.toml", timeout=300), "is not a .gguf file")
