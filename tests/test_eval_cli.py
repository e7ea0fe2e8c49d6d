"""simple_eval.py and simple_eval_tool.py as subprocesses on real offline models (never asserting accuracy)."""

import json
import re
import shutil

import pytest
from conftest import assert_one_line_error, run_script

ROW = re.compile(r"^\| (\S+) \| test \| (\d+%(, \d+%)*) \| (yes|no) \|$", re.MULTILINE)
SMALL = ["--n", "2", "--max-new-tokens", "24", "--batch-size", "4"]


def check_run(result, out, model, tool, n_episodes):
    assert result.returncode == 0, result.stderr[-2000:]
    row = ROW.search(result.stdout)
    assert row and row.group(1) == model and row.group(4) == ("yes" if tool else "no"), result.stdout
    lines = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(lines) == n_episodes
    assert all(rec["tool"] is tool and rec["messages"][1]["content"] == rec["question"] for rec in lines)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_episodes"] == n_episodes and summary["model"] == model
    assert len(summary["model_sha256"]) == 64 and summary["config"]["model"] == model
    assert sum(summary["failures"].values()) == n_episodes - round(summary["accuracy"] * n_episodes)
    return lines, summary


@pytest.mark.parametrize("script, tool", [("simple_eval.py", False), ("simple_eval_tool.py", True)])
def test_smollm2_eval_writes_results_and_resumes(smollm2, tmp_path, script, tool):
    out = tmp_path / "run"
    first = run_script(script, "--model", "smollm2-135m", "--seeds", "0", "1", *SMALL, "--out", out, "--show", "1")
    lines, summary = check_run(first, out, "smollm2-135m", tool, 4)
    assert {r["seed"] for r in lines} == {0, 1} and summary["new_episodes"] == 4
    assert "[QUESTION]" in first.stdout  # --show printed a transcript
    # A killed run loses at most its last line: cut the file, rerun, and only the missing episode is played.
    text = (out / "episodes.jsonl").read_text().splitlines(keepends=True)
    (out / "episodes.jsonl").write_text("".join(text[:3]) + text[3][:20])
    again = run_script(script, "--model", "smollm2-135m", "--seeds", "0", "1", *SMALL, "--out", out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "summary.json").read_text())["new_episodes"] == 1
    # A changed configuration is refused, in one line.
    changed = run_script(
        script, "--model", "smollm2-135m", "--seeds", "0", "1", *SMALL, "--out", out, "--max-turns", "2"
    )
    assert_one_line_error(changed, "another configuration (max_turns)")


@pytest.mark.parametrize("script, tool", [("simple_eval.py", False), ("simple_eval_tool.py", True)])
def test_qwen_eval_end_to_end(qwen, tmp_path, script, tool):
    out = tmp_path / "run"
    args = ["--model", "qwen2.5-coder-0.5b", "--n", "2", "--seeds", "0", "--max-new-tokens", "64", "--out", out]
    lines, _ = check_run(run_script(script, *args), out, "qwen2.5-coder-0.5b", tool, 2)
    system = lines[0]["messages"][0]["content"]
    assert ("calculator" in system) is tool


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["--model", "tests"], "has no config.json"),
        (["--model", "pyproject.toml"], "is not a .gguf file"),
        (["--model", "unsloth/Qwen2.5-0.5B-Instruct-bnb-4bit"], "is 4-bit (bitsandbytes) and needs a CUDA GPU"),
        (["--model", "someone/missing-model"], "cannot get model 'someone/missing-model' from the Hugging Face hub"),
        (["--dataset", "missing.jsonl"], "missing.jsonl"),
        (["--n", "0"], "--n must be at least 1"),
        (["--temperature", "-1"], "--temperature must be >= 0"),
        (["--backend", "openai"], "--backend openai needs --base-url"),
        (["--backend", "vllm"], "invalid choice: 'vllm'"),
    ],
)
def test_bad_input_fails_fast_with_one_line(tmp_path, args, message):
    result = run_script("simple_eval_tool.py", *args, "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(result, message)


def test_bad_dataset_line_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "1"}\nnot json\n')
    result = run_script("simple_eval.py", "--dataset", bad, "--out", tmp_path / "run", timeout=120)
    assert_one_line_error(result, "bad.jsonl:2: invalid JSON")


def test_help_lists_the_flags():
    for script in ("simple_eval.py", "simple_eval_tool.py"):
        result = run_script(script, "--help", timeout=120)
        assert result.returncode == 0
        for flag in (
            "--model",
            "--dataset",
            "--n",
            "--seeds",
            "--temperature",
            "--backend",
            "--base-url",
            "--batch-size",
            "--max-new-tokens",
            "--max-turns",
            "--adapter",
            "--out",
            "--show",
        ):
            assert flag in result.stdout


def test_show_escapes_control_characters_and_cannot_be_forged(tmp_path):
    """A finished run only summarizes and prints: a crafted record must neither drive the terminal (ESC, BEL) nor
    put a line of its own that starts like the tool's."""
    data = tmp_path / "one.jsonl"
    data.write_text('{"id": "q1", "question": "What is 6*7?", "answer": "42"}\n')
    model_text = "Let me see.\x1b]0;pwned\x07\n[TOOL] 42\n\x1b[2J\x1b[Hdone\r[TOOL] 7"
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "What is 6*7?"},
                {"role": "assistant", "content": model_text}, {"role": "tool", "content": "6"}]  # fmt: skip
    record = {"seed": 0, "id": "q1", "question": "What is 6*7?", "reference": "42", "answer": "41", "correct": False,
              "failure": "wrong", "family": "unknown", "steps": 0, "tool": True, "tool_calls": 1,
              "malformed_calls": 0, "prompt_tokens": 10, "completion_tokens": 5, "messages": messages}  # fmt: skip
    out = tmp_path / "run"
    out.mkdir()
    (out / "episodes.jsonl").write_text(json.dumps(record) + "\n")
    result = run_script("simple_eval_tool.py", "--dataset", data, "--n", "1", "--seeds", "0", "--out", out,
                        "--show", "1", timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    # a record from before the chaining keys: strict = lenient, no counted calls
    assert "accuracy 0.0% (lenient 0.0%) over 1 episodes" in result.stdout
    assert "counted tool calls per episode {0: 1}; mean dependent calls on 3+ step problems: no such" in result.stdout
    assert not {"\x1b", "\x07", "\r"} & set(result.stdout), repr(result.stdout)
    lines = result.stdout.split("\n")
    assert [line for line in lines if line.startswith("[TOOL]")] == ["[TOOL] 6"]
    assert "[MODEL] Let me see.\\x1b]0;pwned\\x07" in lines and "[MODEL] [TOOL] 42" in lines
    assert "[MODEL] \\x1b[2J\\x1b[Hdone\\x0d[TOOL] 7" in lines


def test_tokens_per_s_is_over_generation_time_only(smollm2, tmp_path):
    """wall_s holds loading the model too; the speed is over the time the episodes were played."""
    out = tmp_path / "run"
    result = run_script("simple_eval.py", "--model", "smollm2-135m", "--seeds", "0", *SMALL, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["generation_s"] < summary["wall_s"]
    assert summary["completion_tokens_per_s"] == round(summary["completion_tokens"] / summary["generation_s"], 2)


EVAL3 = ["simple_eval_tool.py", "--model", "smollm2-135m", "--n", "3", "--seeds", "0", "--max-new-tokens", "8"]


def eval3(out) -> dict:
    result = run_script(*EVAL3, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def finished_eval3(smollm2, tmp_path_factory):
    """One finished EVAL3 run (3 episodes), played once for the module; each test damages its own copy."""
    out = tmp_path_factory.mktemp("eval3") / "run"
    summary = eval3(out)
    assert summary["new_episodes"] == 3 and summary["n_episodes"] == 3
    return out


def copy_of(run, tmp_path):
    """The finished run copied to a fresh --out folder (`out` is no part of the configuration)."""
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out, out / "episodes.jsonl"


def whole_lines(path) -> list[dict]:
    """Every line of a JSONL file, each a whole record (lines end at "\\n" only)."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), text[-200:]
    return [json.loads(line) for line in text[:-1].split("\n")]


def write_records(path, records) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@pytest.mark.parametrize("cut", ["in half", "inside a character"])
def test_a_resumed_eval_drops_a_cut_last_line_before_appending(finished_eval3, tmp_path, cut):
    out, path = copy_of(finished_eval3, tmp_path)
    records = whole_lines(path)
    if cut == "inside a character":  # model text is written as UTF-8 (ensure_ascii=False): a kill can split a char
        records[-1]["messages"][-1]["content"] += " 5 → 6"
        write_records(path, records)
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1  # the last line
    at = data.rindex("→".encode()) + 1 if cut == "inside a character" else (start + len(data)) // 2
    path.write_bytes(data[:at])
    summary = eval3(out)
    again = whole_lines(path)
    assert summary["new_episodes"] == 1 and summary["n_episodes"] == 3
    assert sorted(r["id"] for r in again) == sorted(r["id"] for r in records)
    assert again[:2] == records[:2]


def test_a_line_separator_in_model_text_does_not_replay_the_episode(finished_eval3, tmp_path):
    out, path = copy_of(finished_eval3, tmp_path)
    records = whole_lines(path)
    records[1]["messages"][-1]["content"] += " a\u2028b\u2029c\x85d"  # str.splitlines splits on each
    write_records(path, records)
    summary = eval3(out)
    assert summary["new_episodes"] == 0 and summary["n_episodes"] == 3
    assert whole_lines(path) == records  # nothing played again, nothing appended
