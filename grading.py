"""The one grader: the number inside the last <answer>...</answer>, compared exactly with the reference.

No answer, an empty one, or one that is not a single number is wrong. Commas, currency signs and trailing units or
a sentence period are ignored; fractions and decimals compare by value ("25/2" == "12.5"). Nothing is matched as a
substring, so "5" never passes for "58".
"""

import re
from fractions import Fraction

ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:\s*/\s*\d+)?")
# What may surround the one number: currency, units and words such as "apples" or "dollars", a final period.
ALLOWED_AROUND = re.compile(r"^[\s$€£%a-zA-Z.:=]*$")


def extract_answer(text: str) -> str | None:
    """The content of the last complete <answer> tag, or None."""
    found = ANSWER_RE.findall(text or "")
    return found[-1].strip() if found else None


def parse_number(text: str | None) -> Fraction | None:
    """The value of an answer that holds exactly one number, else None."""
    if text is None:
        return None
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).replace("\u2212", "-").replace("**", "")
    numbers = NUMBER_RE.findall(cleaned)
    if len(numbers) != 1:
        return None
    before, _, after = cleaned.partition(numbers[0])
    if not ALLOWED_AROUND.match(before) or not ALLOWED_AROUND.match(after):
        return None
    num, _, den = numbers[0].replace(" ", "").partition("/")
    if num.endswith("."):
        num = num[:-1]
    if den and int(den) == 0:
        return None
    return Fraction(num) / (Fraction(den) if den else 1)


def is_correct(answer: str | None, reference: str) -> bool:
    value = parse_number(answer)
    return value is not None and value == Fraction(reference)
