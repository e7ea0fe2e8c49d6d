"""Tests for dataset.py: exact answers, determinism, split disjointness, the frozen test set, loading."""

import hashlib
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataset import (
    DEFAULT_TEST_SET,
    DEFAULT_TEST_SHA256,
    FAMILIES,
    Problem,
    answer_number,
    exact_value,
    format_number,
    generate,
    load_problems,
    split_of,
    write_jsonl,
)

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "dataset.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def operands(expression: str) -> list[str]:
    return NUMBER.findall(expression)


def operand_digits(literal: str) -> int:
    # Money amounts count the digits of their value in cents: "3.45" -> 3, "0.05" -> 1.
    return len(literal.replace(".", "").lstrip("0"))


def check_problem(p: Problem, min_digits: int = 1, max_digits: int = 6, max_steps: int = 4) -> None:
    """Everything that must hold for any generated problem."""
    assert p.answer == format_number(exact_value(p.expression))
    assert re.fullmatch(r"\d+(\.\d+)?", p.answer), p.answer  # integers or terminating decimals only
    assert Fraction(p.answer) > 0
    assert p.steps == sum(p.expression.count(op) for op in "+-*/")
    assert 1 <= p.steps <= max_steps
    assert p.family in FAMILIES
    # Every operand appears in the question as written there (thousands separators removed).
    plain_question = re.sub(r"(?<=\d),(?=\d{3})", "", p.question)
    question_numbers = set(NUMBER.findall(plain_question))
    for literal in operands(p.expression):
        assert literal in question_numbers, (literal, p.question)
        assert min_digits <= operand_digits(literal) <= max_digits, (literal, p)


# ---------------------------------------------------------------------------------------------------
# Arithmetic


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(237), "237"),
        (Fraction(827, 20), "41.35"),
        (Fraction(1, 1000), "0.001"),
        (Fraction(-1, 8), "-0.125"),
        (Fraction(1, 3), "1/3"),
        (Fraction(-7, 6), "-7/6"),
        (0, "0"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_exact_value_is_exact():
    assert exact_value("3*3.45") == Fraction(1035, 100)
    assert exact_value("0.1+0.2") == Fraction(3, 10)  # a float evaluator would say 0.30000000000000004
    assert exact_value("(45*24)-317") == 763
    assert exact_value("7/2") == Fraction(7, 2)


@pytest.mark.parametrize("bad", ["__import__('os')", "2**3", "x+1", "1/0", "3 +", "'7'"])
def test_exact_value_rejects_non_arithmetic(bad):
    with pytest.raises(ValueError):
        exact_value(bad)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Ava did 237.", "237"),
        ("$1,234.50", "1234.5"),
        ("12.5", "12.5"),
        ("-3", "-3"),
        ("She had 12 apples, then 1,000,000 more. So 5 - 3 = 2.", "2"),
        ("#### 72", "72"),
        ("1/4", "0.25"),
        ("a third is 1/3", "1/3"),
    ],
)
def test_answer_number(text, number):
    assert answer_number(text) == number


def test_answer_number_without_a_number():
    with pytest.raises(ValueError):
        answer_number("no number")


# ---------------------------------------------------------------------------------------------------
# Generation


def test_generated_problems_are_consistent():
    for split in ("train", "test"):
        problems = generate(split, 400, seed=1)
        assert len(problems) == 400
        for p in problems:
            check_problem(p, min_digits=2, max_digits=4)
            assert split_of(p.expression) == split


def test_generate_is_deterministic():
    assert generate("train", 300, seed=7) == generate("train", 300, seed=7)
    assert generate("train", 300, seed=7) != generate("train", 300, seed=8)


def test_cli_output_is_byte_identical():
    args = ("--split", "train", "--n", "300", "--seed", "3")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    lines = first.stdout.splitlines()
    assert len(lines) == 300
    assert list(json.loads(lines[0])) == ["id", "question", "answer", "expression", "family", "steps"]


def test_all_families_appear():
    problems = generate("train", 600, seed=0)
    assert {p.family for p in problems} == set(FAMILIES)
    # money_cents is about cents: its answers are never whole dollars.
    assert all("." in p.answer for p in problems if p.family == "money_cents")
    assert all(p.steps >= 2 for p in problems if p.family == "multi_step")


KNOB_CASES = [(1, 1, 2), (3, 3, 1), (5, 6, 4), (1, 6, 3)]


@pytest.mark.parametrize(("min_digits", "max_digits", "max_steps"), KNOB_CASES)
def test_difficulty_knobs(min_digits, max_digits, max_steps):
    knobs = {"min_digits": min_digits, "max_digits": max_digits, "max_steps": max_steps}
    problems = generate("train", 200, seed=2, **knobs)
    for p in problems:
        check_problem(p, min_digits, max_digits, max_steps)
    assert max(p.steps for p in problems) == max_steps


def test_generate_rejects_bad_settings():
    with pytest.raises(ValueError):
        generate("validation", 10, seed=0)
    with pytest.raises(ValueError):
        generate("train", 10, seed=0, min_digits=4, max_digits=3)
    # One-digit, one-step problems run out long before 500 distinct test problems.
    with pytest.raises(ValueError, match="found only"):
        generate("test", 500, seed=0, min_digits=1, max_digits=1, max_steps=1)


# ---------------------------------------------------------------------------------------------------
# Splits


def test_split_of_sends_about_a_fifth_to_test():
    splits = [split_of(f"{i}+{i + 1}") for i in range(5000)]
    assert 0.17 < splits.count("test") / len(splits) < 0.23
    assert split_of("12+13") == split_of("12+13")


@settings(max_examples=25, deadline=None)
@given(
    train_seed=st.integers(0, 2**32),
    test_seed=st.integers(0, 2**32),
    train_n=st.integers(1, 30),
    test_n=st.integers(1, 10),
    digits=st.tuples(st.integers(1, 6), st.integers(1, 6)).map(sorted),
    max_steps=st.integers(1, 4),
)
def test_splits_are_disjoint(train_seed, test_seed, train_n, test_n, digits, max_steps):
    min_digits, max_digits = digits
    knobs = {"min_digits": min_digits, "max_digits": max_digits, "max_steps": max_steps}
    train = generate("train", train_n, train_seed, **knobs)
    test = generate("test", test_n, test_seed, **knobs)
    assert (len(train), len(test)) == (train_n, test_n)
    assert not {p.question for p in train} & {p.question for p in test}
    assert not {p.expression for p in train} & {p.expression for p in test}
    for split, problems in (("train", train), ("test", test)):
        for p in problems:
            assert split_of(p.expression) == split
            check_problem(p, min_digits, max_digits, max_steps)


def test_cli_splits_share_no_question(tmp_path):
    test_file, train_file = tmp_path / "test.jsonl", tmp_path / "train.jsonl"
    for split, n, out in (("test", "2000", test_file), ("train", "20000", train_file)):
        result = run_cli("--split", split, "--n", n, "--seed", "0", "--out", str(out))
        assert result.returncode == 0, result.stderr
    test, train = load_problems(str(test_file)), load_problems(str(train_file))
    assert (len(test), len(train)) == (2000, 20000)
    assert len({p.question for p in train}) == 20000  # no duplicates inside a split either
    assert not {p.question for p in train} & {p.question for p in test}
    assert not {p.expression for p in train} & {p.expression for p in test}


# ---------------------------------------------------------------------------------------------------
# The frozen test set


def test_committed_test_set_is_frozen():
    data = DEFAULT_TEST_SET.read_bytes()
    assert hashlib.sha256(data).hexdigest() == DEFAULT_TEST_SHA256
    assert len(data.splitlines()) == 1000
    regenerated = run_cli("--split", "test", "--n", "1000", "--seed", "0")
    assert regenerated.returncode == 0, regenerated.stderr
    assert regenerated.stdout.encode() == data
    assert load_problems(str(DEFAULT_TEST_SET)) == generate("test", 1000, seed=0)


# ---------------------------------------------------------------------------------------------------
# Loading and writing


def test_write_then_load_round_trips(tmp_path):
    problems = generate("test", 50, seed=4)
    path = tmp_path / "out" / "problems.jsonl"
    write_jsonl(problems, path)
    assert load_problems(str(path)) == problems


def test_load_sentence_answers(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [
        {"question": "How many?", "answer": "Ava did 237."},
        {"id": "q2", "question": "How much?", "answer": "$1,234.50", "family": "money_cents", "steps": 1},
        {"question": "Half of 5?", "answer": 2.5},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    problems = load_problems(str(path))
    assert [p.answer for p in problems] == ["237", "1234.5", "2.5"]
    assert problems[0] == Problem("mine-1", "How many?", "237", "", "unknown", 0)
    assert (problems[1].id, problems[1].family, problems[1].steps) == ("q2", "money_cents", 1)


def test_load_missing_file(tmp_path):
    for missing in (tmp_path / "nope.jsonl", "nope.jsonl"):
        with pytest.raises(ValueError, match="nope.jsonl"):
            load_problems(str(missing))


@pytest.mark.parametrize(
    "bad_line",
    ['{"question": "q", "answer": ', '{"question": "q"}', '{"question": "q", "answer": "none"}', "[1]"],
)
def test_load_bad_line(tmp_path, bad_line):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"question": "q", "answer": "1"}\n' + bad_line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.jsonl:2") as info:
        load_problems(str(path))
    assert "\n" not in str(info.value)


def test_load_hub_name_offline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so "someone/some-dataset" is surely not a local file
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="someone/some-dataset") as info:
        load_problems("someone/some-dataset")
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize(
    "flags",
    [
        ["--split", "test", "--n", "0"],
        ["--split", "test", "--n", "5", "--min-digits", "4", "--max-digits", "3"],
        ["--split", "test", "--n", "5", "--max-digits", "7"],
        ["--split", "test", "--n", "5", "--min-digits", "0"],
        ["--split", "test", "--n", "5", "--max-steps", "5"],
        ["--split", "test", "--n", "5", "--max-steps", "0"],
        ["--split", "dev", "--n", "5"],
        ["--split", "test", "--n", "five"],
        ["--split", "test"],
    ],
)
def test_cli_bad_flags(flags):
    result = run_cli(*flags)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "error" in result.stderr


def test_cli_too_narrow_settings_fail_in_one_line():
    narrow = ["--min-digits", "1", "--max-digits", "1", "--max-steps", "1"]
    result = run_cli("--split", "test", "--n", "500", *narrow)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
