"""Synthetic arithmetic word problems with exact answers, and loaders for problem files.

Every problem carries the arithmetic expression it was built from; the answer is computed from that
expression with exact fractions, so a problem's label can never disagree with its arithmetic.
A problem's arithmetic split is a pure function of its canonical expression (see `split_of`), so train,
test and dev never share a computation, whatever names and objects dress it up. Wording and vocabulary
live in templates.py, each template in one pool: train (train and test splits), train-only (the train split only:
written after the test set was frozen), dev, or ood (test-ood).

Run:
    python dataset.py --split train --n 20000 --seed 0 --out data/train.jsonl
    python dataset.py --split test --n 1000 --seed 0 --out data/test.jsonl   # the frozen sets: test, test-ood, dev
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import math
import random
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import cli
import templates
from calculator import decimal_text, evaluate, terminates

DATA = Path(__file__).parent / "data"
SET_FILES = {"test": DATA / "test.jsonl", "test-ood": DATA / "test-ood.jsonl", "dev": DATA / "dev.jsonl"}
# The public project's 100 questions: report only, never train or tune on them.
EXTERNAL_SET = DATA / "external" / "agent-tool-rl-100.jsonl"
NAMED_SETS = SET_FILES | {"external": EXTERNAL_SET}  # the names load_problems and set_name know
DEFAULT_TEST_SET = SET_FILES["test"]
# sha256 of the committed sets (python dataset.py --split X --n 1000 --seed 0); regenerate and update on change.
SET_SHA256 = {
    "test": "6676cbeab1c47e609d582b749c1d4e665b1bdec0a0246e9715bd90e70b8d2fc7",
    "test-ood": "d65f80158c88c0295b89d258fb3e716f26a05e4672dcbff3b533a9b3e6d7d2bf",
    "dev": "b2fc43566f037704ce217d5147c8ac7943547787fbd23e371736eafd40a98406",
}

SPLITS = ("train", "test", "dev", "test-ood")
# split -> (template pools, vocabulary pool, arithmetic split)
SPLIT_POOLS = {
    "train": (("train", "train-only"), "in", "train"),
    "test": (("train",), "in", "test"),
    "dev": (("dev",), "in", "dev"),
    "test-ood": (("ood",), "ood", "test"),
}
STEP_WEIGHTS = (25, 30, 25, 20)  # how often 1, 2, 3, 4 steps are drawn
DIGIT_LIMITS = (1, 6)
STEP_LIMITS = (1, 4)
MAX_MISSES = 10_000  # samples in a row without a new problem before generation gives up
CELL_TRIES = 100  # samples of one (family, steps) before train and test draw another (some may not fit the knobs)


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str
    expression: str
    family: str
    steps: int
    template: str = ""

    def to_json(self) -> dict:
        # Field order is the JSONL key order: id, question, answer, expression, family, steps, template.
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, default_id: str = "") -> Problem:
        """Build a problem from a dict that has at least `question` and `answer`.

        The answer may be a sentence ("Ava did 237."); it is reduced to its number.
        Raises ValueError when a required field is missing or null, the question is no text or the answer no number.
        """
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        missing = [key for key in ("question", "answer") if data.get(key) is None]
        if missing:
            raise ValueError(f"missing or null field(s): {', '.join(missing)}")
        if not isinstance(data["question"], str) or not data["question"].strip():
            raise ValueError("the question must be non-empty text")
        return cls(
            id=str(data.get("id") or default_id),
            question=data["question"],
            answer=answer_number(str(data["answer"])),
            expression=str(data.get("expression") or ""),
            family=str(data.get("family") or "unknown"),
            steps=int(data.get("steps") or 0),
            template=str(data.get("template") or ""),
        )


# ---------------------------------------------------------------------------------------------------
# Exact arithmetic


_OPERATIONS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)  # what the generator writes


def _steps(expression: str) -> int:
    """The number of binary operations in an expression of numbers, + - * / // % and parentheses; else ValueError."""
    try:
        ops = [node.op for node in ast.walk(ast.parse(expression.strip(), mode="eval")) if isinstance(node, ast.BinOp)]
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc
    if any(type(op) not in _OPERATIONS for op in ops):
        raise ValueError(f"unsupported operation in {expression!r}: only + - * / // % and parentheses")
    return len(ops)


def exact_value(expression: str) -> Fraction:
    """Exact value of an expression made of numbers, + - * / // % and parentheses, by the calculator's evaluator."""
    _steps(expression)
    try:
        return evaluate(expression)
    except ZeroDivisionError as exc:
        raise ValueError(f"division by zero in {expression!r}") from exc


def step_values(expression: str) -> list[Fraction]:
    """The exact value of each operation of an expression, the whole expression's (the answer) last: "(5*12)-7" ->
    [60, 53]. What a chain of one-operation calculator calls computes on the way to the answer."""
    _steps(expression)
    nodes = [n for n in ast.walk(ast.parse(expression.strip(), mode="eval")) if isinstance(n, ast.BinOp)]
    return [exact_value(ast.unparse(n)) for n in reversed(nodes)]


def format_number(value: Fraction | int) -> str:
    """Integers as "237", terminating decimals exactly as "41.35" (no trailing zeros), else "p/q" (exact: unlike
    the calculator, which rounds what does not terminate)."""
    value = Fraction(value)
    return decimal_text(value) if terminates(value) else f"{value.numerator}/{value.denominator}"


# A number: optional minus, digits with optional thousands groups, optional decimals or "/q".
# The lookbehind stops "5-3" from reading as minus three and "1.5" from yielding a stray "5";
# a sentence-final "." is not followed by a digit, so it is never taken as a decimal point.
_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:,\d{3}(?!\d))*(?:\.\d+)?(?:/\d+)?")


def answer_number(text: str) -> str:
    """The last number in `text`, normalized with `format_number` ("$1,234.50" -> "1234.5")."""
    matches = _NUMBER.findall(text)
    if not matches:
        raise ValueError(f"no number in answer {text!r}")
    try:
        return format_number(Fraction(matches[-1].replace(",", "")))
    except ZeroDivisionError as exc:
        raise ValueError(f"bad number {matches[-1]!r} in answer {text!r}") from exc


# ---------------------------------------------------------------------------------------------------
# Splits


def split_of(expression: str) -> str:
    """The arithmetic split of a computation: about 20% of canonical expressions are test, 10% dev, 70% train."""
    bucket = int(hashlib.sha256(expression.encode()).hexdigest(), 16) % 10
    return "test" if bucket < 2 else "dev" if bucket == 2 else "train"


# ---------------------------------------------------------------------------------------------------
# Sampling helpers


class _Miss(Exception):
    """These numbers do not make a problem under the knobs: draw again."""


def _fmt(n: int) -> str:
    """An integer as written in a question, with thousands separators."""
    return f"{n:,}"


def _cents(cents: int) -> tuple[str, str]:
    """A price in cents, as (question text "$1,234.50", expression literal "1234.50")."""
    dollars, rest = divmod(cents, 100)
    return f"${dollars:,}.{rest:02d}", f"{dollars}.{rest:02d}"


def _dollars(n: int) -> str:
    """Whole dollars as written in a question: "$1,200"."""
    return f"${n:,}"


def _is_compound(expr: str) -> bool:
    return not expr.replace(".", "").isdigit()


def _op(left: int | str, op: str, right: int | str) -> str:
    """Join two sub-expressions; compound operands get parentheses.

    + and * operands are put in a fixed order (compound parts first, then shorter numbers first) so
    that 12*345 and 345*12 are one canonical computation and therefore land in the same split.
    """
    left, right = str(left), str(right)
    if op in "+*":
        left, right = sorted((left, right), key=lambda e: (not _is_compound(e), len(e), e))
    wrap = [f"({e})" if _is_compound(e) else e for e in (left, right)]
    return f"{wrap[0]}{op}{wrap[1]}"


def _a(phrase: str) -> str:
    """The phrase with its article: "an apple", "a pencil", "an hour", "a unit"."""
    word = phrase.split()[0].lower()
    vowel = word[0] in "aeiou" and word not in templates.A_WORDS or word in templates.AN_WORDS
    return f"{'an' if vowel else 'a'} {phrase}"


class _Sampler:
    """Random choices that respect the difficulty knobs: every operand written as a numeral has min..max digits
    (prices count their cents: $3.45 has 3). Constants written as words (twice, half, a dozen, %) are exempt."""

    def __init__(self, rng: random.Random, min_digits: int, max_digits: int):
        self.rng = rng
        self.min_digits, self.max_digits = min_digits, max_digits
        # Operands are never 0 or 1: "1 times as many" or "shares among 1 friend" are not problems.
        self.lo, self.hi = max(2, 10 ** (min_digits - 1)), 10**max_digits - 1

    def num(self, small: bool = False) -> int:
        """An operand; digit count uniform in range (small: only the lowest one or two counts)."""
        top = min(self.max_digits, self.min_digits + 1) if small else self.max_digits
        digits = self.rng.randint(self.min_digits, top)
        return self.rng.randint(max(2, 10 ** (digits - 1)), 10**digits - 1)

    def between(self, low: int, high: int) -> int:
        """An operand within [low, high]; _Miss if no allowed operand is there."""
        low, high = max(low, self.lo), min(high, self.hi)
        if low > high:
            raise _Miss
        return self.rng.randint(low, high)

    def ok(self, *values: int) -> None:
        """_Miss unless every value is an allowed operand (used after adjusting a drawn number)."""
        if not all(self.lo <= v <= self.hi for v in values):
            raise _Miss

    def multiple(self, step: int, low: int = 2) -> int:
        """An operand that is a multiple of `step` and at least `low`."""
        x = self.num()
        x -= x % step
        self.ok(x)
        if x < low:
            raise _Miss
        return x

    def note(self, cost: Fraction) -> tuple[str, int]:
        """The smallest bill that covers `cost` dollars, as (text, value)."""
        note = next((n for n in templates.NOTES if n > cost), None)
        if note is None:
            raise _Miss
        self.ok(note)
        return _dollars(note), note


Built = tuple[dict, str]  # (numbers for the template, expression)


# ---------------------------------------------------------------------------------------------------
# Families: each builder draws the numbers of one of its shapes and builds the expression; templates.py words it.
# Builders raise _Miss when the draw does not fit (a subtraction would go negative, a number leaves its range).


def _times(s: _Sampler, shape: str) -> Built:
    a, n, m, k = s.num(), s.num(small=True), s.num(), s.num(small=True)
    if shape == "three" and n == k:
        raise _Miss
    product = _op(a, "*", n)
    return {"a": a, "n": n, "m": m, "k": k}, {
        "product": product,
        "twice": _op(a, "*", 2),
        "triple": _op(a, "*", 3),
        "together": _op(product, "+", a),
        "plus": _op(_op(product, "+", m), "+", a),
        "three": _op(_op(product, "+", a), "+", _op(a, "*", k)),
    }[shape]


def _compare(s: _Sampler, shape: str) -> Built:
    a, m = s.num(), s.num()
    if shape == "fewer":
        m = s.between(2, a - 2)
    k = s.between(2, a + m - 2) if shape == "then_fewer" else 0
    return {"a": a, "m": m, "k": k}, {
        "more": _op(a, "+", m),
        "fewer": _op(a, "-", m),
        "total": _op(_op(a, "+", m), "+", a),
        "then_fewer": _op(_op(a, "+", m), "-", k),
    }[shape]


def _rate(s: _Sampler, shape: str) -> Built:
    r, t, r2, t2, c = s.num(), s.num(small=True), s.num(), s.num(small=True), s.num()
    two = _op(_op(r, "*", t), "+", _op(r2, "*", t2))
    if shape == "two_less":
        c = s.between(2, r * t + r2 * t2 - 2)
    return {"r": r, "t": t, "r2": r2, "t2": t2, "c": c}, {
        "product": _op(r, "*", t),
        "plus": _op(_op(r, "*", t), "+", c),
        "two": two,
        "two_less": _op(two, "-", c),
    }[shape]


def _cost(s: _Sampler, shape: str) -> Built:
    # Prices are drawn in cents, so a price's "digits" are those of its value in cents ($3.45 -> 3).
    q, cents, q2, cents2 = s.num(small=True), s.num(), s.num(small=True), s.num()
    (p, price), (p2, price2) = _cents(cents), _cents(cents2)
    bill, bill_cents = _op(q, "*", price), q * cents
    if shape.startswith("two"):
        bill, bill_cents = _op(bill, "+", _op(q2, "*", price2)), bill_cents + q2 * cents2
    fields = {"q": q, "p": p, "q2": q2, "p2": p2}
    if shape in ("change", "two_change"):
        fields["note"], note = s.note(Fraction(bill_cents, 100))
        bill = _op(note, "-", bill)
    return fields, _op(12, "*", price) if shape == "dozen" else bill


def _share(s: _Sampler, shape: str) -> Built:
    """Equal shares that come out whole: the last number drawn is lowered or raised so the total divides by d."""
    d, p, t, h = s.num(small=True), s.num(small=True), s.num(), s.num()
    k = s.num(small=True) if shape == "keep" else s.num()
    g = s.between(2, p * k + h - 2 * d) if shape == "packs_give" else 0
    if shape == "each":
        t -= t % d
        total, value = str(t), t
    elif shape == "keep":
        t -= (t - k) % d
        total, value = _op(t, "-", k), t - k
    else:
        h += -(p * k + h - g) % d
        total, value = _op(_op(p, "*", k), "+", h), p * k + h - g
        total = _op(total, "-", g) if g else total
    s.ok(t, h)
    if value < 2 * d:
        raise _Miss
    return {"t": t, "d": d, "p": p, "k": k, "h": h, "g": g}, _op(total, "/", d)


def _remainder(s: _Sampler, shape: str) -> Built:
    """What is left over (%) or how many full groups (//); never a zero remainder or fewer than one group."""
    t, d, k, p, h = s.num(), s.num(small=True), s.num(small=True), s.num(small=True), s.num()
    total, value = {
        "keep_left": (_op(t, "-", k), t - k),
        "packs_left": (_op(_op(p, "*", k), "+", h), p * k + h),
    }.get(shape, (str(t), t))
    if value <= d or value % d == 0:
        raise _Miss
    return {"t": t, "d": d, "k": k, "p": p, "h": h}, _op(total, "//" if shape == "full" else "%", d)


def _percent(s: _Sampler, shape: str) -> Built:
    p = s.between(2, 95)
    # Counts are multiples of what makes p% of them whole; prices are whole dollars (p% off gives cents).
    x = s.num() if shape.startswith("discount") else s.multiple(100 // math.gcd(p, 100))
    part = _op(_op(x, "*", p), "/", 100)
    fields = {"x": _dollars(x) if shape.startswith("discount") else x, "p": p}
    expression = {"of": part, "increase": _op(x, "+", part)}.get(shape, _op(x, "-", part))
    if shape == "discount_change":
        fields["note"], note = s.note(Fraction(x * (100 - p), 100))
        expression = _op(note, "-", expression)
    return fields, expression


def _average(s: _Sampler, shape: str) -> Built:
    if shape == "total":
        m, n = s.num(), s.num(small=True)
        return {"m": m, "n": n}, _op(m, "*", n)
    count = {"two": 2, "three": 3, "four": 4}[shape]
    values = [s.num() for _ in range(count)]
    values[-1] -= sum(values) % count  # so the mean is whole
    s.ok(values[-1])
    total = str(values[0])
    for v in values[1:]:
        total = _op(total, "+", v)
    return dict(zip("abcd", values, strict=False)), _op(total, "/", count)


def _fraction(s: _Sampler, shape: str) -> Built:
    d = 3 if "third" in shape else 2
    x, y = s.multiple(d, low=2 * d), s.num()
    return {"x": x, "y": y}, {
        "half": _op(x, "/", 2),
        "third": _op(x, "/", 3),
        "third_left": _op(x, "-", _op(x, "/", 3)),
        "half_left_buy": _op(_op(x, "-", _op(x, "/", 2)), "+", y),
    }[shape]


def _chain(s: _Sampler, shape: str) -> Built:
    a, p, k = s.num(), s.num(small=True), s.num()
    if shape == "give_buy":
        b, c = s.between(2, a - 2), s.num()
        return {"a": a, "b": b, "c": c}, _op(_op(a, "-", b), "+", c)
    g = s.between(2, a + p * k - 4)
    e = s.between(2, a + p * k - g - 2) if shape == "four" else 0
    left = _op(_op(_op(p, "*", k), "+", a), "-", g)
    return {"a": a, "p": p, "k": k, "g": g, "e": e}, _op(left, "-", e) if e else left


def _savings(s: _Sampler, shape: str) -> Built:
    """Weeks to save up: (goal - have) / weekly, where weekly is r, w*h, or w*h - e."""
    # Weekly savings of at most a quarter of the largest operand leave room for a goal of two weeks or more.
    if shape in ("hours", "spend"):
        h = s.between(2, 60)  # hours a week
        w = s.between(2, s.hi // (4 * h))
        weekly, per_week, fields = w * h, _op(w, "*", h), {"h": h, "w": _dollars(w)}
    else:
        weekly = s.between(2, s.hi // 4)
        per_week, fields = str(weekly), {"r": _dollars(weekly)}
    if shape == "spend":
        e = s.between(2, weekly - 2)
        weekly, per_week, fields["e"] = weekly - e, _op(per_week, "-", e), _dollars(e)
    have = 0 if shape == "weeks" else s.between(2, s.hi - 2 * weekly)
    most_weeks = (s.hi - have) // weekly  # the answer, not an operand: any count from 2 up
    if most_weeks < 2:
        raise _Miss
    goal = have + weekly * s.rng.randint(2, most_weeks)
    s.ok(goal)
    fields.update(goal=_dollars(goal), have=_dollars(have))
    return fields, _op(_op(goal, "-", have) if have else goal, "/", per_week)


FAMILY_BUILDERS: dict[str, Callable[[_Sampler, str], Built]] = {
    "times": _times, "compare": _compare, "rate": _rate, "cost": _cost, "share": _share, "remainder": _remainder,
    "percent": _percent, "average": _average, "fraction": _fraction, "chain": _chain, "savings": _savings,
}  # fmt: skip

# "family/shape" -> steps (binary operations). A template's id is "family/shape/tN".
SHAPES = {
    "times/product": 1, "times/twice": 1, "times/triple": 1, "times/together": 2, "times/plus": 3, "times/three": 4,
    "compare/more": 1, "compare/fewer": 1, "compare/total": 2, "compare/then_fewer": 2,
    "rate/product": 1, "rate/plus": 2, "rate/two": 3, "rate/two_less": 4,
    "cost/total": 1, "cost/dozen": 1, "cost/change": 2, "cost/two": 3, "cost/two_change": 4,
    "share/each": 1, "share/keep": 2, "share/packs": 3, "share/packs_give": 4,
    "remainder/left": 1, "remainder/full": 1, "remainder/keep_left": 2, "remainder/packs_left": 3,
    "percent/of": 2, "percent/discount": 3, "percent/increase": 3, "percent/discount_change": 4,
    "average/total": 1, "average/two": 2, "average/three": 3, "average/four": 4,
    "fraction/half": 1, "fraction/third": 1, "fraction/third_left": 2, "fraction/half_left_buy": 3,
    "chain/give_buy": 2, "chain/buy_give": 3, "chain/four": 4,
    "savings/weeks": 1, "savings/weeks_have": 2, "savings/hours": 3, "savings/spend": 4,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Generation


class Template(NamedTuple):
    id: str  # "family/shape/tN"
    pool: str  # "train", "train-only", "dev" or "ood"
    text: str

    @property
    def shape(self) -> str:
        return self.id.rsplit("/", 1)[0]

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def steps(self) -> int:
        return SHAPES[self.shape]


TEMPLATES = tuple(Template(*t) for t in templates.TEMPLATES)
FAMILIES = tuple(dict.fromkeys(t.family for t in TEMPLATES))
# pool -> (family, steps) -> its templates
CELLS: dict[str, dict[tuple[str, int], list[Template]]] = {}
for _t in TEMPLATES:
    CELLS.setdefault(_t.pool, {}).setdefault((_t.family, _t.steps), []).append(_t)


def train_words_digest() -> str:
    """12 hex digits of the sha256 of the train split's templates and vocabulary: a training run records it, so it
    is not resumed on other templates or words (the builders' code is not in it)."""
    pools, vocabulary = SPLIT_POOLS["train"][:2]
    words = [f"{t.id}\t{t.text}" for t in TEMPLATES if t.pool in pools]
    words += [f"{p.name} {p.he} {p.him} {p.his}" for p in templates.PEOPLE[vocabulary]]
    words += ["/".join(i) for i in templates.ITEMS[vocabulary]] + list(templates.GROUPS)
    return hashlib.sha256("\n".join(words).encode()).hexdigest()[:12]


def render(template: Template, s: _Sampler, vocabulary: str) -> tuple[str, str] | None:
    """(question, expression) for one filling of `template` with words of `vocabulary`, or None to draw again."""
    try:
        numbers, expression = FAMILY_BUILDERS[template.family](s, template.shape.split("/")[1])
    except _Miss:
        return None
    a, b, c = s.rng.sample(templates.PEOPLE[vocabulary], 3)
    (item, items, container, containers), (item2, items2, _, _), (_, others, _, _) = s.rng.sample(
        templates.ITEMS[vocabulary], 3
    )
    words = {
        "A": a, "B": b, "C": c, "item": item, "items": items, "a_item": _a(item), "container": container,
        "containers": containers, "a_container": _a(container), "item2": item2, "items2": items2, "others": others,
        "noise": _fmt(s.num()), "group": s.rng.choice(templates.GROUPS),
    }  # fmt: skip
    numbers = {k: _fmt(v) if isinstance(v, int) else v for k, v in numbers.items()}
    return template.text.format(**words, **numbers), expression


def check_knobs(n: int, min_digits: int, max_digits: int, max_steps: int) -> str | None:
    """A one-line complaint about bad generation settings, or None if they are fine."""
    if n < 1:
        return f"the number of problems must be at least 1, got {n}"
    low, high = DIGIT_LIMITS
    if not (low <= min_digits <= high and low <= max_digits <= high):
        return f"operand digit counts must be within {low}..{high}, got {min_digits}..{max_digits}"
    if min_digits > max_digits:
        return f"min digits ({min_digits}) must not exceed max digits ({max_digits})"
    if not STEP_LIMITS[0] <= max_steps <= STEP_LIMITS[1]:
        return f"max steps must be within {STEP_LIMITS[0]}..{STEP_LIMITS[1]}, got {max_steps}"
    return None


def iter_problems(
    split: str, seed: int, min_digits: int = 2, max_digits: int = 4, max_steps: int = 4
) -> Iterator[Problem]:
    """The endless stream of distinct problems of `split` that `generate` takes its first n from.

    train and test draw a step count (STEP_WEIGHTS), then a family, then a train template. dev and test-ood
    follow the (family, steps) of the test stream with the same arguments one for one, so the sets match cell
    for cell. Raises ValueError when MAX_MISSES draws in a row bring no new problem.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    complaint = check_knobs(1, min_digits, max_digits, max_steps)
    if complaint:
        raise ValueError(complaint)
    return _stream(split, seed, min_digits, max_digits, max_steps)


def _stream(split: str, seed: int, min_digits: int, max_digits: int, max_steps: int) -> Iterator[Problem]:
    pools, vocabulary, arithmetic = SPLIT_POOLS[split]
    knobs = (min_digits, max_digits, max_steps)
    rng = random.Random(f"{split}:{seed}:{min_digits}:{max_digits}:{max_steps}")
    sampler = _Sampler(rng, min_digits, max_digits)
    cells = {cell: [t for pool in pools for t in CELLS[pool].get(cell, [])] for cell in CELLS[pools[0]]}
    quotas = None if pools[0] == "train" else ((p.family, p.steps) for p in iter_problems("test", seed, *knobs))
    step_counts = list(range(1, max_steps + 1))
    families = {k: [f for f in FAMILIES if (f, k) in cells] for k in step_counts}
    seen_questions: set[str] = set()
    seen_expressions: set[str] = set()
    for index in itertools.count():
        cell = next(quotas) if quotas else None
        for attempt in range(MAX_MISSES):
            if quotas is None and attempt % CELL_TRIES == 0:
                steps = rng.choices(step_counts, STEP_WEIGHTS[:max_steps])[0]
                cell = (rng.choice(families[steps]), steps)
            template = rng.choice(cells[cell])
            built = render(template, sampler, vocabulary)
            if built is None or split_of(built[1]) != arithmetic:
                continue
            if built[0] not in seen_questions and built[1] not in seen_expressions:
                break
        else:
            # Narrow settings (say, one-digit operands) have few distinct problems: give up instead of looping.
            raise ValueError(
                f"found only {index} distinct {split} problems with digits {min_digits}..{max_digits} and "
                f"max_steps {max_steps}; widen the settings"
            )
        question, expression = built
        seen_questions.add(question)
        seen_expressions.add(expression)
        answer = format_number(evaluate(expression))  # exact_value without its op check: ours are + - * / // %
        yield Problem(f"{split}-{seed}-{index:05d}", question, answer, expression, *cell, template.id)


def generate(
    split: str, n: int, seed: int, min_digits: int = 2, max_digits: int = 4, max_steps: int = 4
) -> list[Problem]:
    """The first `n` problems of `iter_problems`; the same arguments always give the same list, and a shorter
    list is a prefix of a longer one."""
    complaint = check_knobs(n, min_digits, max_digits, max_steps)
    if complaint:
        raise ValueError(complaint)
    return list(itertools.islice(iter_problems(split, seed, min_digits, max_digits, max_steps), n))


# ---------------------------------------------------------------------------------------------------
# Loading and writing


def _looks_like_hub_name(source: str) -> bool:
    return bool(re.fullmatch(r"[\w.-]+/[\w.-]+", source)) and not source.endswith((".json", ".jsonl"))


def _load_jsonl(path: Path) -> list[Problem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read problem file {path}: {exc}") from exc
    problems = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            problems.append(Problem.from_json(json.loads(line), default_id=f"{path.stem}-{lineno}"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from exc
    return problems


def _load_hub(name: str) -> list[Problem]:
    reason = "the Hugging Face hub is unreachable or `datasets` is not installed"
    try:
        import datasets  # optional: only needed for hub names
    except ImportError:
        raise ValueError(f"cannot load dataset {name!r}: not a file, and {reason}") from None
    try:
        rows = datasets.load_dataset(name, split="test")
    except Exception as exc:  # network, auth and format errors all mean the same thing to the caller
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot load dataset {name!r}: not a file, and {reason} ({first_line})") from exc
    stem = name.rsplit("/", 1)[-1]
    try:
        return [Problem.from_json(dict(row), default_id=f"{stem}-{i}") for i, row in enumerate(rows, 1)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot use dataset {name!r}: {exc}") from exc


def load_problems(source: str) -> list[Problem]:
    """Problems from a JSONL file, a committed set's name (test, test-ood, dev, external) or else a Hugging Face
    dataset name like "owner/name". An existing file of that name comes first.

    Raises ValueError, with one line naming the file (and line), when nothing usable can be loaded.
    """
    path = Path(source)
    if not path.exists() and source in NAMED_SETS:
        path = NAMED_SETS[source]
    if path.exists():
        if not (problems := _load_jsonl(path)):
            raise ValueError(f"{path} holds no problems")
        return problems
    if _looks_like_hub_name(source):
        return _load_hub(source)
    raise ValueError(f"cannot load problems from {source!r}: no such file")


def set_name(path: str | Path) -> str:
    """ "test", "test-ood", "dev" or "external" for the committed sets, else the file's stem."""
    names = {p.resolve(): name for name, p in NAMED_SETS.items()}
    return names.get(Path(path).resolve(), Path(path).stem)


def write_jsonl(problems: Iterable[Problem], path: str | Path) -> None:
    """Write problems as JSONL, one object per line, keys in field order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(_json_line(p) for p in problems)


def _json_line(problem: Problem) -> str:
    return json.dumps(problem.to_json(), ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser("Generate synthetic arithmetic word problems as JSONL.")
    parser.add_argument("--split", required=True, choices=SPLITS, help="which split to generate")
    parser.add_argument("--n", type=int, required=True, help="number of problems")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", help="output JSONL file (default: standard output)")
    parser.add_argument("--min-digits", type=int, default=2, help="fewest digits per operand")
    parser.add_argument("--max-digits", type=int, default=4, help="most digits per operand")
    parser.add_argument("--max-steps", type=int, default=4, help="most operations per problem (1..4)")
    args = parser.parse_args(argv)
    complaint = check_knobs(args.n, args.min_digits, args.max_digits, args.max_steps)
    if complaint:
        parser.error(complaint)
    try:
        problems = generate(args.split, args.n, args.seed, args.min_digits, args.max_digits, args.max_steps)
    except ValueError as exc:
        parser.exit(1, f"error: {exc}\n")
    if args.out:
        write_jsonl(problems, args.out)
    else:
        sys.stdout.writelines(_json_line(p) for p in problems)
    return 0


if __name__ == "__main__":
    sys.exit(main())
