"""Synthetic arithmetic word problems with exact answers, and loaders for problem files.

Every problem carries the arithmetic expression it was built from; the answer is computed from that
expression with exact fractions, so a problem's label can never disagree with its arithmetic.
A problem's split is a pure function of its canonical expression (see `split_of`), which makes the
train and test splits disjoint by construction: the same computation cannot land in both, whatever
names and objects dress it up.

Run:
    python dataset.py --split train --n 20000 --seed 0 --out data/train.jsonl
    python dataset.py --split test --n 1000 --seed 0 --out data/test.jsonl   # the frozen test set
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import random
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import cli
from calculator import decimal_text, evaluate, terminates

DEFAULT_TEST_SET = Path(__file__).parent / "data" / "test.jsonl"
# sha256 of the committed test set; if the generator changes, regenerate the file and update this.
DEFAULT_TEST_SHA256 = "5f97d8c1474fb5cfa5cf3ec168afe8ac3a0f56326786318144d14acd0169f309"

FAMILIES = ("times_as_many", "total_over_days", "equal_sharing", "buy_then_use", "multi_step", "money_cents")
SPLITS = ("train", "test")
DIGIT_LIMITS = (1, 6)
STEP_LIMITS = (1, 4)
MAX_MISSES = 10_000  # samples in a row without a new problem before generate() gives up


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str
    expression: str
    family: str
    steps: int

    def to_json(self) -> dict:
        # Field order is the JSONL key order: id, question, answer, expression, family, steps.
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
        )


# ---------------------------------------------------------------------------------------------------
# Exact arithmetic


_OPERATIONS = (ast.Add, ast.Sub, ast.Mult, ast.Div)  # what the generator writes


def _steps(expression: str) -> int:
    """The number of binary operations in an expression of numbers, + - * / and parentheses; else ValueError."""
    try:
        ops = [node.op for node in ast.walk(ast.parse(expression.strip(), mode="eval")) if isinstance(node, ast.BinOp)]
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc
    if any(type(op) not in _OPERATIONS for op in ops):
        raise ValueError(f"unsupported operation in {expression!r}: only + - * / and parentheses")
    return len(ops)


def exact_value(expression: str) -> Fraction:
    """Exact value of an expression made of numbers, + - * / and parentheses, by the calculator's evaluator."""
    _steps(expression)
    try:
        return evaluate(expression)
    except ZeroDivisionError as exc:
        raise ValueError(f"division by zero in {expression!r}") from exc


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
    """The split a computation belongs to: about 20% of canonical expressions go to test, whatever the story."""
    digest = hashlib.sha256(expression.encode()).hexdigest()
    return "test" if int(digest, 16) % 10 < 2 else "train"


# ---------------------------------------------------------------------------------------------------
# Vocabulary

NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gabriel", "Hana", "Ivan", "Jamal",
    "Keiko", "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiden", "Bianca", "Carlos", "Dalia",
    "Elijah", "Fatima", "George", "Ingrid", "Jonas", "Kofi", "Leila", "Mateo", "Nadia", "Oscar",
    "Pablo", "Rahul", "Sofia", "Tomas", "Uma", "Victor", "Willow", "Yara",
)  # fmt: skip

# (singular, plural, container, containers): each object comes with a container it is sold or kept in,
# so "crates of apples" and "cartons of eggs" read naturally.
OBJECTS = (
    ("apple", "apples", "crate", "crates"),
    ("orange", "oranges", "crate", "crates"),
    ("peach", "peaches", "crate", "crates"),
    ("egg", "eggs", "carton", "cartons"),
    ("light bulb", "light bulbs", "carton", "cartons"),
    ("pencil", "pencils", "box", "boxes"),
    ("crayon", "crayons", "box", "boxes"),
    ("nail", "nails", "box", "boxes"),
    ("screw", "screws", "box", "boxes"),
    ("candle", "candles", "box", "boxes"),
    ("tea bag", "tea bags", "box", "boxes"),
    ("cupcake", "cupcakes", "box", "boxes"),
    ("marble", "marbles", "bag", "bags"),
    ("balloon", "balloons", "bag", "bags"),
    ("lemon", "lemons", "bag", "bags"),
    ("rubber band", "rubber bands", "bag", "bags"),
    ("sticker", "stickers", "sheet", "sheets"),
    ("trading card", "trading cards", "pack", "packs"),
    ("battery", "batteries", "pack", "packs"),
    ("napkin", "napkins", "pack", "packs"),
    ("bead", "beads", "jar", "jars"),
    ("button", "buttons", "jar", "jars"),
    ("cookie", "cookies", "tray", "trays"),
    ("muffin", "muffins", "tray", "trays"),
    ("seedling", "seedlings", "tray", "trays"),
    ("brick", "bricks", "pallet", "pallets"),
    ("tile", "tiles", "pallet", "pallets"),
    ("book", "books", "shelf", "shelves"),
    ("bottle of water", "bottles of water", "case", "cases"),
    ("potato", "potatoes", "sack", "sacks"),
    ("tomato", "tomatoes", "basket", "baskets"),
    ("strawberry", "strawberries", "basket", "baskets"),
    ("paper cup", "paper cups", "stack", "stacks"),
    ("sheet of paper", "sheets of paper", "ream", "reams"),
    ("bolt", "bolts", "bin", "bins"),
    ("stamp", "stamps", "album", "albums"),
)

# (third person, base form) of verbs that fit any of the objects above.
RATE_VERBS = (("collects", "collect"), ("makes", "make"), ("packs", "pack"), ("sorts", "sort"),
              ("sells", "sell"), ("delivers", "deliver"))  # fmt: skip
PERIODS = (("day", "days"), ("week", "weeks"), ("hour", "hours"), ("shift", "shifts"))
GROUPS = ("friends", "classes", "teams", "neighbors", "classmates", "cousins")
NOTES = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000)


# ---------------------------------------------------------------------------------------------------
# Sampling helpers


def _fmt(n: int) -> str:
    """An integer as written in a question, with thousands separators."""
    return f"{n:,}"


def _fmt_expr(n: int) -> str:
    """An integer as written in an expression (no separators)."""
    return str(n)


def _money(cents: int) -> tuple[str, str]:
    """A money amount in cents, as (question text "$1,234.50", expression literal "1234.50")."""
    dollars, rest = divmod(cents, 100)
    return f"${dollars:,}.{rest:02d}", f"{dollars}.{rest:02d}"


def _is_compound(expr: str) -> bool:
    return not re.fullmatch(r"[\d.]+", expr)


def _op(left: str, op: str, right: str) -> str:
    """Join two sub-expressions; compound operands get parentheses.

    + and * operands are put in a fixed order (compound parts first, then shorter numbers first) so
    that 12*345 and 345*12 are one canonical computation and therefore land in the same split.
    """
    if op in "+*":
        left, right = sorted((left, right), key=lambda e: (not _is_compound(e), len(e), e))
    wrap = [f"({e})" if _is_compound(e) else e for e in (left, right)]
    return f"{wrap[0]}{op}{wrap[1]}"


class _Sampler:
    """Random choices that respect the difficulty knobs: every operand has min..max digits."""

    def __init__(self, rng: random.Random, min_digits: int, max_digits: int, max_steps: int):
        self.rng = rng
        self.min_digits, self.max_digits, self.max_steps = min_digits, max_digits, max_steps
        # Operands are never 0 or 1: "1 times as many" or "shares among 1 friend" are not problems.
        self.lo, self.hi = max(2, 10 ** (min_digits - 1)), 10**max_digits - 1
        # Cap on intermediate results of multi_step chains, so answers stay readable.
        self.cap = 10 ** max(7, max_digits + 2)

    def num(self, small: bool = False) -> int:
        """An operand; digit count uniform in range (small: only the lowest one or two counts)."""
        top = min(self.max_digits, self.min_digits + 1) if small else self.max_digits
        digits = self.rng.randint(self.min_digits, top)
        return self.rng.randint(max(2, 10 ** (digits - 1)), 10**digits - 1)

    def num_between(self, low: int, high: int) -> int | None:
        """An operand within [low, high], or None if no allowed operand is there."""
        low, high = max(low, self.lo), min(high, self.hi)
        return self.rng.randint(low, high) if low <= high else None

    def names(self, k: int) -> list[str]:
        return self.rng.sample(NAMES, k)

    def objects(self, k: int = 1) -> list[tuple[str, str, str, str]]:
        return self.rng.sample(OBJECTS, k)

    def shape(self, shapes: dict[str, tuple[int, tuple[str, ...]]]) -> tuple[str, str] | None:
        """Pick a shape whose step count fits max_steps, then one of its phrasings."""
        allowed = [name for name, (steps, _) in shapes.items() if steps <= self.max_steps]
        if not allowed:
            return None
        name = self.rng.choice(allowed)
        return name, self.rng.choice(shapes[name][1])


Built = tuple[str, str] | None  # (question, expression), or None to ask for another sample


# ---------------------------------------------------------------------------------------------------
# Families. Each returns (question, expression); templates use {A}, {B} for names and {items} etc.

_TIMES_AS_MANY = {
    "product": (1, (
        "{A} has {a} {items}. {B} has {n} times as many {items} as {A}. How many {items} does {B} have?",
        ("{B} collected {n} times as many {items} as {A}. If {A} collected {a} {items}, how many {items} "
         "did {B} collect?"),
        ("A shop sold {a} {items} on Monday and {n} times as many on Saturday. How many {items} did it "
         "sell on Saturday?"),
    )),
    "together": (2, (
        "{A} has {a} {items}, and {B} has {n} times as many. How many {items} do they have together?",
        ("{B} owns {n} times as many {items} as {A}, who owns {a}. How many {items} do {A} and {B} own "
         "altogether?"),
        ("On Monday a farm stand sold {a} {items}. On Tuesday it sold {n} times as many. How many {items} "
         "did it sell on the two days together?"),
    )),
    "difference": (2, (
        ("{A} has {a} {items}. {B} has {n} times as many {items} as {A}. How many more {items} does {B} "
         "have than {A}?"),
        "{B} packed {n} times as many {items} as {A}, who packed {a}. How many more {items} did {B} pack?",
    )),
}  # fmt: skip


def _times_as_many(s: _Sampler) -> Built:
    picked = s.shape(_TIMES_AS_MANY)
    if picked is None:
        return None
    shape, template = picked
    a, n = s.num(), s.num(small=True)
    (A, B), (_, items, _, _) = s.names(2), s.objects()[0]
    product = _op(_fmt_expr(a), "*", _fmt_expr(n))
    expression = {
        "product": product,
        "together": _op(product, "+", _fmt_expr(a)),
        "difference": _op(product, "-", _fmt_expr(a)),
    }[shape]
    return template.format(A=A, B=B, a=_fmt(a), n=_fmt(n), items=items), expression


_TOTAL_OVER_DAYS = {
    "product": (1, (
        "{A} {verb} {a} {items} every {period}. How many {items} does {A} {verb_base} in {b} {periods}?",
        "Each {container} holds {a} {items}. How many {items} are in {b} {containers}?",
        "A machine makes {a} {items} per {period}. How many {items} does it make in {b} {periods}?",
        ("A warehouse receives {b} {containers} with {a} {items} in each. How many {items} does it "
         "receive?"),
    )),
    "plus": (2, (
        ("{A} already had {c} {items} and then {verb} {a} more every {period} for {b} {periods}. How many "
         "{items} does {A} have now?"),
        ("A store has {c} {items} on its shelves. A delivery brings {b} {containers} with {a} {items} in "
         "each. How many {items} does the store have now?"),
    )),
    "minus": (2, (
        ("A warehouse receives {b} {containers} with {a} {items} in each. {c} of the {items} are damaged. "
         "How many undamaged {items} are there?"),
        ("{A} {verb} {a} {items} every {period} for {b} {periods}, but {c} of them are returned. How many "
         "{items} are not returned?"),
    )),
}  # fmt: skip


def _total_over_days(s: _Sampler) -> Built:
    picked = s.shape(_TOTAL_OVER_DAYS)
    if picked is None:
        return None
    shape, template = picked
    a, b = s.num(), s.num(small=True)
    c = s.num() if shape == "plus" else s.num_between(2, a * b - 1) if shape == "minus" else 0
    if c is None:
        return None
    product = _op(_fmt_expr(a), "*", _fmt_expr(b))
    expression = {
        "product": product,
        "plus": _op(product, "+", _fmt_expr(c)),
        "minus": _op(product, "-", _fmt_expr(c)),
    }[shape]
    (A,), (_, items, container, containers) = s.names(1), s.objects()[0]
    verb, verb_base = s.rng.choice(RATE_VERBS)
    period, periods = s.rng.choice(PERIODS)
    question = template.format(
        A=A, a=_fmt(a), b=_fmt(b), c=_fmt(c), items=items, container=container, containers=containers,
        verb=verb, verb_base=verb_base, period=period, periods=periods,
    )  # fmt: skip
    return question, expression


_EQUAL_SHARING = {
    "share": (1, (
        "{A} has {t} {items} and shares them equally among {d} {group}. How many {items} does each get?",
        "{t} {items} are packed equally into {d} {containers}. How many {items} go into each {container}?",
        "A school divides {t} {items} evenly between {d} {group}. How many {items} does each receive?",
    )),
    "keep_then_share": (2, (
        ("{A} has {t} {items}, keeps {k} of them, and shares the rest equally among {d} {group}. How many "
         "{items} does each get?"),
        ("A shop has {t} {items}. After setting aside {k}, the rest are packed equally into {d} "
         "{containers}. How many {items} are in each {container}?"),
    )),
}  # fmt: skip


def _equal_sharing(s: _Sampler) -> Built:
    picked = s.shape(_EQUAL_SHARING)
    if picked is None:
        return None
    shape, template = picked
    d = s.num(small=True)
    k = s.num(small=True) if shape == "keep_then_share" else 0
    # Build the dividend as quotient*divisor (+ the part kept back) so the division is exact. The
    # dividend is an operand too, so first pick one of its digit counts that leaves room for a quotient
    # of at least 2, then a quotient that keeps it there.
    quotient_ranges = []
    for digits in range(s.min_digits, s.max_digits + 1):
        low, high = max(s.lo, 10 ** (digits - 1)), 10**digits - 1
        q_low, q_high = max(2, -(-(low - k) // d)), (high - k) // d
        if q_low <= q_high:
            quotient_ranges.append((q_low, q_high))
    if not quotient_ranges:
        return None
    q_low, q_high = s.rng.choice(quotient_ranges)
    t = s.rng.randint(q_low, q_high) * d + k
    dividend = _op(_fmt_expr(t), "-", _fmt_expr(k)) if k else _fmt_expr(t)
    expression = _op(dividend, "/", _fmt_expr(d))
    (A,), (_, items, container, containers) = s.names(1), s.objects()[0]
    question = template.format(
        A=A, t=_fmt(t), k=_fmt(k), d=_fmt(d), items=items, container=container, containers=containers,
        group=s.rng.choice(GROUPS),
    )  # fmt: skip
    return question, expression


_BUY_THEN_USE = {
    "use": (2, (
        ("{A} buys {p} {containers} of {items}. Each {container} holds {k} {items}. {A} uses {u} of them "
         "for a project. How many {items} are left?"),
        ("{A} buys {p} {containers} with {k} {items} in each and gives {u} {items} to {B}. How many "
         "{items} does {A} keep?"),
        ("A club orders {p} {containers} of {k} {items}. {u} of the {items} turn out to be broken and are "
         "thrown away. How many good {items} remain?"),
    )),
    "had_then_use": (3, (
        ("{A} already has {h} {items} and buys {p} {containers} with {k} {items} in each. After using {u} "
         "{items}, how many {items} does {A} have?"),
        ("{A} had {h} {items}, then bought {p} more {containers} of {k} {items} each, and gave {u} {items} "
         "to {B}. How many {items} does {A} have now?"),
    )),
}  # fmt: skip


def _buy_then_use(s: _Sampler) -> Built:
    picked = s.shape(_BUY_THEN_USE)
    if picked is None:
        return None
    shape, template = picked
    p, k = s.num(small=True), s.num()
    h = s.num() if shape == "had_then_use" else 0
    u = s.num_between(2, p * k + h - 1)
    if u is None:
        return None
    bought = _op(_fmt_expr(k), "*", _fmt_expr(p))
    total = _op(bought, "+", _fmt_expr(h)) if h else bought
    expression = _op(total, "-", _fmt_expr(u))
    (A, B), (_, items, container, containers) = s.names(2), s.objects()[0]
    question = template.format(
        A=A, B=B, p=_fmt(p), k=_fmt(k), h=_fmt(h), u=_fmt(u), items=items, container=container,
        containers=containers,
    )  # fmt: skip
    return question, expression


_CHAIN_START = (
    "{A} has {x} {items}.",
    "{A} starts the week with {x} {items}.",
    "There are {x} {items} in {A}'s storeroom.",
)
_CHAIN_START_PRODUCT = (
    "{A} buys {p} {containers} of {items} with {x} {items} in each.",
    "{A} receives {p} {containers}, each holding {x} {items}.",
)
_CHAIN_STEP = {
    "+": (
        "{B} gives {A} {x} more {items}.",
        "Then {A} buys another {x} {items}.",
        "Later, {A} finds {x} more {items}.",
    ),
    "-": (
        "{A} gives {x} {items} to {B}.",
        "Then {A} sells {x} of the {items}.",
        "Sadly, {x} of the {items} get lost.",
    ),
    "*": (
        "Over the next month, {A}'s stock of {items} grows to {x} times its size.",
        "{A} then ends up with {x} times as many {items} as that.",
    ),
    "/": (
        "{A} splits the {items} equally into {x} {containers} and keeps only one {container}.",
        "{A} shares the {items} equally among {x} people and keeps one share.",
    ),
}
_CHAIN_END = ("How many {items} does {A} have now?", "How many {items} does {A} end up with?")


def _divisors_in(value: int, low: int, high: int) -> list[int]:
    """Divisors of value within [low, high], in increasing order (trial division up to sqrt)."""
    found = set()
    for i in range(1, math.isqrt(value) + 1):
        if value % i == 0:
            found.update((i, value // i))
    return sorted(x for x in found if low <= x <= high)


def _multi_step(s: _Sampler) -> Built:
    if s.max_steps < 2:
        return None
    steps = s.rng.randint(2, s.max_steps)
    (A, B), (_, items, container, containers) = s.names(2), s.objects()[0]
    fields = {"A": A, "B": B, "items": items, "container": container, "containers": containers}
    x, p = s.num(), s.num(small=True)
    if s.rng.random() < 0.5 and x * p <= s.cap:
        # Start from a product ("buys p boxes of x"), which is the first of the steps.
        value, expression = x * p, _op(_fmt_expr(x), "*", _fmt_expr(p))
        sentences = [s.rng.choice(_CHAIN_START_PRODUCT).format(x=_fmt(x), p=_fmt(p), **fields)]
        steps -= 1
    else:
        value, expression = x, _fmt_expr(x)
        sentences = [s.rng.choice(_CHAIN_START).format(x=_fmt(x), **fields)]
    used: set[str] = set()
    for _ in range(steps):
        # Try the operators in random order and take the first that keeps the running value a positive
        # integer no larger than the cap, with every operand in range; "-" and "/" may not always fit.
        ops = ["+", "-", "*", "/"]
        s.rng.shuffle(ops)
        for op in ops:
            if op == "+":
                x = s.num()
                new = value + x
            elif op == "-":
                x = s.num_between(2, value - 1)
                new = value - x if x is not None else 0
            elif op == "*":
                x = s.num(small=True)
                new = value * x
            else:
                divisors = _divisors_in(value, s.lo, min(s.hi, value // 2))
                x = s.rng.choice(divisors) if divisors else None
                new = value // x if x is not None else 0
            if x is not None and 0 < new <= s.cap:
                break
        else:
            return None
        value, expression = new, _op(expression, op, _fmt_expr(x))
        # Prefer a phrasing not used yet in this story, so "gives 12 more" is not said twice verbatim.
        template = s.rng.choice([t for t in _CHAIN_STEP[op] if t not in used] or _CHAIN_STEP[op])
        used.add(template)
        sentences.append(template.format(x=_fmt(x), **fields))
    sentences.append(s.rng.choice(_CHAIN_END).format(**fields))
    return " ".join(sentences), expression


_MONEY = {
    "cost": (1, (
        "{A} buys {q} {items} at {p} each. How much does {A} spend, in dollars?",
        "One {item} costs {p}. How many dollars do {q} {items} cost?",
    )),
    "change": (2, (
        "{A} buys {q} {items} at {p} each and pays with {note}. How much change, in dollars, does {A} get?",
        "{A} has {note} and buys {q} {items} that cost {p} each. How many dollars are left?",
    )),
    "two_items": (3, (
        ("{A} buys {q} {items} at {p} each and {q2} {items2} at {p2} each. What is the total cost in "
         "dollars?"),
        ("A school orders {q} {items} for {p} each and {q2} {items2} for {p2} each. How many dollars does "
         "the order cost?"),
    )),
}  # fmt: skip


def _money_cents(s: _Sampler) -> Built:
    picked = s.shape(_MONEY)
    if picked is None:
        return None
    shape, template = picked
    # Prices are drawn in cents, so a price's "digits" are those of its value in cents ($3.45 -> 3).
    q, cents = s.num(small=True), s.num(small=shape == "change")
    (p_text, p_expr), (A,) = _money(cents), s.names(1)
    (item, items, _, _), (_, items2, _, _) = s.objects(2)
    fields = {"A": A, "q": _fmt(q), "p": p_text, "item": item, "items": items, "items2": items2}
    expression = _op(_fmt_expr(q), "*", p_expr)
    if shape == "change":
        # Pay with the smallest round amount that covers the bill, if it has an allowed digit count.
        note = next((n for n in NOTES if n * 100 > q * cents), None)
        if note is None or not s.lo <= note <= s.hi:
            return None
        expression, fields["note"] = _op(_fmt_expr(note), "-", expression), f"${note:,}"
    elif shape == "two_items":
        q2, cents2 = s.num(small=True), s.num()
        (p2_text, p2_expr) = _money(cents2)
        expression = _op(expression, "+", _op(_fmt_expr(q2), "*", p2_expr))
        fields.update(q2=_fmt(q2), p2=p2_text)
    # The point of the family is an answer with cents; a whole-dollar total is resampled.
    if exact_value(expression).denominator == 1:
        return None
    return template.format(**fields), expression


_FAMILY_BUILDERS: dict[str, Callable[[_Sampler], Built]] = {
    "times_as_many": _times_as_many,
    "total_over_days": _total_over_days,
    "equal_sharing": _equal_sharing,
    "buy_then_use": _buy_then_use,
    "multi_step": _multi_step,
    "money_cents": _money_cents,
}


# ---------------------------------------------------------------------------------------------------
# Generation


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


def generate(
    split: str, n: int, seed: int, min_digits: int = 2, max_digits: int = 4, max_steps: int = 4
) -> list[Problem]:
    """`n` distinct problems of `split`; the same arguments always give the same list."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    complaint = check_knobs(n, min_digits, max_digits, max_steps)
    if complaint:
        raise ValueError(complaint)
    rng = random.Random(f"{split}:{seed}:{min_digits}:{max_digits}:{max_steps}")
    sampler = _Sampler(rng, min_digits, max_digits, max_steps)
    problems: list[Problem] = []
    seen_questions: set[str] = set()
    seen_expressions: set[str] = set()
    misses = 0
    while len(problems) < n:
        # Narrow settings (say, one-digit operands) have few distinct problems: once thousands of
        # samples in a row bring nothing new, the space is used up, so give up instead of looping.
        misses += 1
        if misses > MAX_MISSES:
            raise ValueError(
                f"found only {len(problems)} distinct {split} problems of the {n} asked for with digits "
                f"{min_digits}..{max_digits} and max_steps {max_steps}; widen the settings"
            )
        family = rng.choice(FAMILIES)
        built = _FAMILY_BUILDERS[family](sampler)
        if built is None:
            continue
        question, expression = built
        if split_of(expression) != split:
            continue
        if question in seen_questions or expression in seen_expressions:
            continue
        value, steps = exact_value(expression), _steps(expression)
        misses = 0
        seen_questions.add(question)
        seen_expressions.add(expression)
        problems.append(
            Problem(
                f"{split}-{seed}-{len(problems):05d}",
                question,
                format_number(value),
                expression,
                family,
                steps,
            )
        )
    return problems


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
    """Problems from a JSONL file, or else from a Hugging Face dataset name like "owner/name".

    Raises ValueError, with one line naming the file (and line), when nothing usable can be loaded.
    """
    path = Path(source)
    if path.exists():
        if not (problems := _load_jsonl(path)):
            raise ValueError(f"{path} holds no problems")
        return problems
    if _looks_like_hub_name(source):
        return _load_hub(source)
    raise ValueError(f"cannot load problems from {source!r}: no such file")


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
    parser.add_argument("--max-steps", type=int, default=4, help="most operations per problem")
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
