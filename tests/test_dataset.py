"""Tests for dataset.py and templates.py: exact answers, determinism, splits and pools, grammar of every template,
the frozen sets, loading."""

import ast
import hashlib
import itertools
import json
import random
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import templates
from dataset import (
    CELLS,
    DEFAULT_TEST_SET,
    EXTERNAL_SET,
    FAMILIES,
    SET_FILES,
    SET_SHA256,
    SHAPES,
    TEMPLATES,
    Problem,
    _Sampler,
    answer_number,
    exact_value,
    format_number,
    generate,
    iter_problems,
    load_problems,
    render,
    set_name,
    split_of,
    write_jsonl,
)

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"\d+(?:\.\d+)?")
WORD_CONSTANTS = {"2", "3", "4", "12", "100"}  # twice/half/two, a third/triple/three, four, a dozen, percent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "dataset.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def op_count(expression: str) -> int:
    return sum(isinstance(node, ast.BinOp) for node in ast.walk(ast.parse(expression, mode="eval")))


def operand_digits(literal: str) -> int:
    # Money amounts count the digits of their value in cents: "3.45" -> 3, "0.05" -> 1.
    return len(literal.replace(".", "").lstrip("0"))


def check_problem(p: Problem, min_digits: int = 1, max_digits: int = 6, max_steps: int = 4) -> None:
    """Everything that must hold for any generated problem."""
    assert p.answer == format_number(exact_value(p.expression))
    assert re.fullmatch(r"\d+(\.\d+)?|\d+/\d+", p.answer), p.answer
    assert Fraction(p.answer) > 0
    assert p.steps == op_count(p.expression) == SHAPES[p.template.rsplit("/", 1)[0]]
    assert 1 <= p.steps <= max_steps
    assert p.family in FAMILIES and p.template.startswith(p.family + "/")
    # Every operand appears in the question as written there (thousands separators removed), or is a constant
    # written as a word; numerals have the digits asked for.
    plain_question = re.sub(r"(?<=\d),(?=\d{3})", "", p.question)
    question_numbers = set(NUMBER.findall(plain_question))
    for literal in NUMBER.findall(p.expression):
        if literal in question_numbers:
            assert min_digits <= operand_digits(literal) <= max_digits, (literal, p)
        else:
            assert literal in WORD_CONSTANTS, (literal, p.question)


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
    assert exact_value("(100-7)%8") == 5
    assert exact_value("93//8") == 11


@pytest.mark.parametrize("bad", ["__import__('os')", "2**3", "x+1", "1/0", "3 +", "'7'", "5%0"])
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
# Templates


def fillings(template, n=50):
    """n renderings of one template with its pool's vocabulary (default knobs)."""
    vocabulary = "ood" if template.pool == "ood" else "in"
    sampler, out = _Sampler(random.Random(template.id), 2, 4), []
    while len(out) < n:
        built = render(template, sampler, vocabulary)
        if built is not None:
            out.append(built)
    return out


NOUNS = {}  # every item and container word of the vocabulary -> whether it is plural
for _pool in templates.ITEMS.values():
    for _singular, _plural, _container, _containers in _pool:
        NOUNS.update({_singular: False, _plural: True, _container: False, _containers: True})
NOUNS.update(dict.fromkeys(templates.GROUPS, True))


def grammar_errors(text: str) -> list[str]:
    errors = []
    for article, word in re.findall(r"\b([Aa]n?) (\S+)", text):
        word = word.lower().strip(".,?!;:()")
        if not word[:1].isalpha():
            errors.append(f"article before a number: {article} {word}")  # "a $80" reads "an eighty": not allowed
            continue
        vowel = word[0] in "aeiou" and word not in templates.A_WORDS or word in templates.AN_WORDS
        if article.lower() != ("an" if vowel else "a"):
            errors.append(f"{article} {word}")
    for number, rest in re.findall(r"(?<![\d,.$])(\d+(?:,\d{3})*)(?:\.\d+)? ([a-z]+(?: [a-z]+){0,2})", text):
        words = rest.split()
        noun = next((" ".join(words[:k]) for k in (3, 2, 1) if " ".join(words[:k]) in NOUNS), None)
        if noun is not None and NOUNS[noun] != (number != "1"):
            errors.append(f"{number} {noun}")
    if "{" in text or "}" in text:
        errors.append("leftover brace")
    if "  " in text:
        errors.append("doubled space")
    if not text.endswith("?"):
        errors.append("no question mark at the end")
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        if not (sentence[:1].isupper() or sentence[:1].isdigit()):
            errors.append(f"sentence starts in lower case: {sentence[:20]!r}")
    return errors


def test_grammar_checker_catches_mistakes():
    assert grammar_errors("Ava has 5 apple. How many?")
    assert grammar_errors("Ava has 1 apples. How many?")
    assert grammar_errors("Ava has a apple. How many?") and grammar_errors("Ava has an pencil. How many?")
    assert grammar_errors("Ava pays with a $80 note. How many?")
    assert grammar_errors("Ava has 5 apples. how many?") and grammar_errors("Ava has 5 apples.")
    assert grammar_errors("Ava has {a} apples. How  many?")
    assert not grammar_errors("Ava works an hour and has a unit of 12 bottles of water, 1 apple and an egg. Why?")


def test_every_template_renders_grammatically():
    for template in TEMPLATES:
        for question, expression in fillings(template):
            assert not grammar_errors(question), (template.id, question, grammar_errors(question))
            plain = set(NUMBER.findall(re.sub(r"(?<=\d),(?=\d{3})", "", question)))
            assert set(NUMBER.findall(expression)) <= plain | WORD_CONSTANTS, (template.id, question, expression)
            assert op_count(expression) == template.steps


def ngrams(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", re.sub(r"\{[^}]*\}", " slot ", text).lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


PAIRS = [("ood", "train"), ("dev", "train"), ("ood", "train-only"), ("dev", "train-only"), ("ood", "dev")]


@pytest.mark.parametrize(("pool", "other"), PAIRS)
def test_pools_share_no_six_words(pool, other):
    seen = {}
    for t in TEMPLATES:
        if t.pool == other:
            seen.update(dict.fromkeys(ngrams(t.text), t.id))
    for t in TEMPLATES:
        if t.pool == pool:
            shared = ngrams(t.text) & seen.keys()
            assert not shared, (t.id, [(" ".join(g), seen[g]) for g in shared])


def test_templates_are_well_formed():
    ids = [t.id for t in TEMPLATES]
    assert len(ids) == len(set(ids))
    assert {t.pool for t in TEMPLATES} == {"train", "train-only", "dev", "ood"}
    assert all(t.shape in SHAPES for t in TEMPLATES)
    # Every cell train templates make can be made by at least 2 dev and 2 ood templates.
    for cell in CELLS["train"]:
        assert len(CELLS["dev"].get(cell, [])) >= 2 and len(CELLS["ood"].get(cell, [])) >= 2, cell
    assert set(CELLS["dev"]) == set(CELLS["ood"]) == set(CELLS["train"])
    assert {t.shape for t in TEMPLATES if t.pool == "train-only"} <= {t.shape for t in TEMPLATES if t.pool == "train"}


def test_families_and_phrasing():
    assert len(FAMILIES) >= 10
    train = [t for t in TEMPLATES if t.pool == "train"]
    for family in FAMILIES:
        assert sum(t.family == family for t in train) >= 8, family
    text = " ".join(t.text for t in train)
    phrases = ["times as many", "times more than", "twice", "triple", "half", "a third", "a dozen", "fewer than",
               "more than", "per hour", "each", "left over", "%", "average", "change"]  # fmt: skip
    for phrase in phrases:
        assert phrase in text, phrase
    assert any(t.text.startswith("How many") for t in train)  # the question before the facts
    assert any("{noise}" in t.text for t in train)  # a distractor number


def test_vocabulary_pools_are_disjoint():
    names = {pool: {p.name for p in people} for pool, people in templates.PEOPLE.items()}
    items = {pool: {i[0] for i in rows} | {i[1] for i in rows} for pool, rows in templates.ITEMS.items()}
    assert not names["in"] & names["ood"] and not items["in"] & items["ood"]
    words = "|".join(re.escape(w) for w in sorted(names["ood"] | items["ood"], key=len, reverse=True))
    ood_word = re.compile(rf"\b({words})\b")
    for problems in [generate("train", 2000, seed=0)] + [load_problems(str(SET_FILES[s])) for s in ("test", "dev")]:
        for p in problems:
            assert not ood_word.search(p.question), p.question
    words = "|".join(re.escape(w) for w in sorted(names["in"] | items["in"], key=len, reverse=True))
    in_word, ood = re.compile(rf"\b({words})\b"), load_problems(str(SET_FILES["test-ood"]))
    assert not any(in_word.search(p.question) for p in ood)
    assert sum(bool(ood_word.search(p.question)) for p in ood) > 0.9 * len(ood)


# ---------------------------------------------------------------------------------------------------
# Generation


def test_generated_problems_are_consistent():
    pool_of = {t.id: t.pool for t in TEMPLATES}
    for split in ("train", "test", "dev", "test-ood"):
        problems = generate(split, 300, seed=1)
        assert len(problems) == 300
        pools = {"train": {"train", "train-only"}, "test": {"train"}, "dev": {"dev"}, "test-ood": {"ood"}}[split]
        for p in problems:
            check_problem(p, min_digits=2, max_digits=4)
            assert split_of(p.expression) == ("test" if split == "test-ood" else split)
            assert pool_of[p.template] in pools
        if split == "train":  # both pools are drawn
            assert len({pool_of[p.template] for p in problems}) == 2


def test_generate_is_deterministic_and_a_prefix():
    assert generate("train", 300, seed=7) == generate("train", 300, seed=7)
    assert generate("train", 300, seed=7) != generate("train", 300, seed=8)
    for split in ("train", "dev", "test-ood"):
        long = generate(split, 200, seed=5)
        assert generate(split, 50, seed=5) == long[:50]
        stream = iter_problems(split, seed=5)
        assert [next(stream) for _ in range(200)] == long


def test_cli_output_is_byte_identical():
    args = ("--split", "train", "--n", "300", "--seed", "3")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    lines = first.stdout.splitlines()
    assert len(lines) == 300
    assert list(json.loads(lines[0])) == ["id", "question", "answer", "expression", "family", "steps", "template"]


def test_families_and_step_mix():
    problems = generate("train", 4000, seed=0)
    assert {p.family for p in problems} == set(FAMILIES)
    share = Counter(p.steps for p in problems)
    for steps, expected in zip((1, 2, 3, 4), (0.25, 0.30, 0.25, 0.20), strict=True):
        assert abs(share[steps] / len(problems) - expected) < 0.06, share
    assert all("%" in p.question for p in problems if p.family == "percent")
    assert any("//" in p.expression for p in problems) and any("%" in p.expression for p in problems)


KNOB_CASES = [(1, 1, 2), (3, 3, 1), (5, 6, 4), (1, 6, 3)]


@pytest.mark.parametrize(("min_digits", "max_digits", "max_steps"), KNOB_CASES)
def test_difficulty_knobs(min_digits, max_digits, max_steps):
    knobs = {"min_digits": min_digits, "max_digits": max_digits, "max_steps": max_steps}
    problems = generate("train", 200, seed=2, **knobs)
    for p in problems:
        check_problem(p, min_digits, max_digits, max_steps)
    assert max(p.steps for p in problems) == max_steps
    if max_digits == 1:
        return  # one-digit operands leave some (family, steps) cells with no dev computation at all
    # dev follows test's (family, steps) one for one under the knobs.
    test, dev = generate("test", 50, seed=2, **knobs), generate("dev", 50, seed=2, **knobs)
    assert [(p.family, p.steps) for p in dev] == [(p.family, p.steps) for p in test]
    for p in dev:
        check_problem(p, min_digits, max_digits, max_steps)


def test_generate_rejects_bad_settings():
    with pytest.raises(ValueError):
        generate("validation", 10, seed=0)
    with pytest.raises(ValueError):
        iter_problems("validation", seed=0)  # at the call, not at the first problem
    with pytest.raises(ValueError):
        generate("train", 10, seed=0, min_digits=4, max_digits=3)
    # One-digit, one-step problems run out long before 500 distinct test problems.
    with pytest.raises(ValueError, match="found only"):
        generate("test", 500, seed=0, min_digits=1, max_digits=1, max_steps=1)


# ---------------------------------------------------------------------------------------------------
# Splits


def test_split_of_proportions():
    splits = Counter(split_of(f"{i}+{i + 1}") for i in range(10000))
    assert 0.18 < splits["test"] / 10000 < 0.22 and 0.08 < splits["dev"] / 10000 < 0.12
    assert split_of("12+13") == split_of("12+13")


@settings(max_examples=25, deadline=None)
@given(
    seeds=st.tuples(st.integers(0, 2**32), st.integers(0, 2**32), st.integers(0, 2**32)),
    train_n=st.integers(1, 30),
    test_n=st.integers(1, 10),
    digits=st.tuples(st.integers(1, 6), st.integers(1, 6)).map(sorted),
    max_steps=st.integers(1, 4),
)
def test_splits_are_disjoint(seeds, train_n, test_n, digits, max_steps):
    min_digits, max_digits = digits
    knobs = {"min_digits": min_digits, "max_digits": max_digits, "max_steps": max_steps}
    sets = {
        "train": generate("train", train_n, seeds[0], **knobs),
        "test": generate("test", test_n, seeds[1], **knobs),
    }
    if max_digits > 1:  # with one-digit operands some (family, steps) cells have no dev computation at all
        sets["dev"] = generate("dev", test_n, seeds[2], **knobs)
    for split, problems in sets.items():
        for p in problems:
            assert split_of(p.expression) == split
            check_problem(p, min_digits, max_digits, max_steps)
    for a, b in itertools.combinations(sets, 2):
        assert not {p.expression for p in sets[a]} & {p.expression for p in sets[b]}
        assert not {p.question for p in sets[a]} & {p.question for p in sets[b]}


def test_cli_splits_share_no_question(tmp_path):
    files = {split: tmp_path / f"{split}.jsonl" for split in ("test", "train")}
    for split, n in (("test", "2000"), ("train", "20000")):
        result = run_cli("--split", split, "--n", n, "--seed", "0", "--out", str(files[split]))
        assert result.returncode == 0, result.stderr
    test, train = load_problems(str(files["test"])), load_problems(str(files["train"]))
    assert (len(test), len(train)) == (2000, 20000)
    assert len({p.question for p in train}) == 20000  # no duplicates inside a split either
    assert not {p.question for p in train} & {p.question for p in test}
    assert not {p.expression for p in train} & {p.expression for p in test}


# ---------------------------------------------------------------------------------------------------
# The frozen sets


@pytest.mark.parametrize("name", ["test", "test-ood", "dev"])
def test_committed_sets_are_frozen(name, tmp_path):
    data = SET_FILES[name].read_bytes()
    assert hashlib.sha256(data).hexdigest() == SET_SHA256[name]
    assert len(data.splitlines()) == 1000
    out = tmp_path / f"{name}.jsonl"
    regenerated = run_cli("--split", name, "--n", "1000", "--seed", "0", "--out", str(out))
    assert regenerated.returncode == 0, regenerated.stderr
    assert out.read_bytes() == data
    assert load_problems(str(SET_FILES[name])) == generate(name, 1000, seed=0)
    assert set_name(SET_FILES[name]) == name
    assert DEFAULT_TEST_SET == SET_FILES["test"]


def test_committed_sets_match_cell_for_cell():
    sets = {name: load_problems(str(path)) for name, path in SET_FILES.items()}
    cells = {name: Counter((p.family, p.steps) for p in problems) for name, problems in sets.items()}
    assert cells["test-ood"] == cells["dev"] == cells["test"]
    assert {split_of(p.expression) for p in sets["test-ood"]} == {"test"}
    assert {split_of(p.expression) for p in sets["dev"]} == {"dev"}
    assert {t.rsplit("/", 1)[0] for t in Counter(p.template for p in sets["test-ood"])} <= set(SHAPES)
    steps = Counter(p.steps for p in sets["test"])
    assert steps[3] + steps[4] >= 400  # plenty of 3- and 4-step problems


def test_external_set_loads():
    problems = load_problems(str(EXTERNAL_SET))
    assert len(problems) == 100
    assert all(Fraction(p.answer) for p in problems)
    assert set_name(EXTERNAL_SET) == "external"
    assert set_name("somewhere/mine.jsonl") == "mine"


def test_committed_sets_load_by_name_and_a_file_of_that_name_comes_first(tmp_path, monkeypatch):
    for name, path in SET_FILES.items() | {("external", EXTERNAL_SET)}:
        assert load_problems(name) == load_problems(str(path)) and set_name(name) == name
    write_jsonl(generate("train", 3, seed=0), tmp_path / "dev")
    monkeypatch.chdir(tmp_path)
    assert load_problems("dev") == generate("train", 3, seed=0)


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
    assert problems[0] == Problem("mine-1", "How many?", "237", "", "unknown", 0, "")
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
        ["--split", "validation", "--n", "5"],
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
