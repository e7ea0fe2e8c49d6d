"""The one grader: the number inside the last <answer>...</answer>, compared exactly with the reference.

No answer, an empty one, or one that is not exactly one number in the allowed form is wrong. Allowed: an optional
currency sign ($ € £) or "x =" before the number; the number (digits with optional thousands commas, a decimal, or a
fraction p/q, with an optional leading minus or U+2212 minus); an optional "%" right after it; at most one word of
letters after that (a unit such as "apples"); an optional final period. Anything else ("2**3", "not 58", "58 is
wrong") is unparsable, so wrong. Answers longer than MAX_ANSWER_LENGTH characters are unparsable too. Values compare
exactly ("25/2" == "12.5"); nothing is matched as a substring, so "5" never passes for "58".

`lenient_answer` is the fairer reading for baselines that never learned our tags (reported beside, never instead).
"""

import re
from fractions import Fraction

MAX_ANSWER_LENGTH = 100  # characters; keeps int() far below Python's 4,300-digit limit
ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_INT = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"  # ASCII digits only; commas only as thousands separators
ANSWER_FORM = re.compile(
    r"(?:[$€£]\s*|x\s*=\s*)?"  # currency sign or "x ="
    rf"(?P<number>[-\u2212]?(?:{_INT}(?:\.[0-9]+|\s*/\s*[0-9]+)?|\.[0-9]+))"  # integer, decimal or p/q
    r"%?(?:\s+[^\W\d_]+)?\.?"  # "%", one word of letters, a final period
)


BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")
TOOL_MARKUP_RE = re.compile(r"<tool_call>.*?(?:</tool_call>|$)", re.DOTALL)
# A number token, not glued to a letter, digit, "." or "," before it (so the "3" of "5-3" is not negative)
NUMBER_TOKEN_RE = re.compile(rf"(?<![\w.,])[-\u2212]?(?:{_INT}(?:\.[0-9]+)?|\.[0-9]+)")


def extract_answer(text: str) -> str | None:
    """The content of the last complete <answer> tag, or None."""
    found = ANSWER_RE.findall(text or "")
    return found[-1].strip() if found else None


def parse_number(text: str | None) -> Fraction | None:
    """The value of an answer in the allowed form (see the module docstring), else None. Never raises."""
    text = (text or "").strip()
    if len(text) > MAX_ANSWER_LENGTH:
        return None
    match = ANSWER_FORM.fullmatch(text)
    if not match:
        return None
    number = re.sub(r"[,\s]", "", match["number"]).replace("\u2212", "-")
    num, _, den = number.partition("/")
    if den and int(den) == 0:
        return None
    return Fraction(num) / (int(den) if den else 1)


def is_correct(answer: str | None, reference: str) -> bool:
    value = parse_number(answer)
    return value is not None and value == Fraction(reference)


def number_tokens(text: str) -> list[Fraction]:
    """The value of every number written in `text` (thousands commas allowed), in order."""
    return [v for t in NUMBER_TOKEN_RE.findall(text or "") if (v := parse_number(t)) is not None]


def lenient_answer(text: str | None) -> Fraction | None:
    """The lenient reading of a final turn: the number in the last \\boxed{...}, else the last number of the text;
    tool-call markup is left out. Values compare exactly, as in `is_correct`."""
    text = TOOL_MARKUP_RE.sub(" ", text or "")
    boxed = BOXED_RE.findall(text)
    if boxed and (value := parse_number(boxed[-1])) is not None:
        return value
    numbers = number_tokens(text)
    return numbers[-1] if numbers else None
