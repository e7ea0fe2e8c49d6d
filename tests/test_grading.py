"""The grader must reject what a naive (substring, lenient) grader accepts."""

from fractions import Fraction

import pytest

import grading
from grading import extract_answer, is_correct, parse_number


@pytest.mark.parametrize(
    "text, reference, expected",
    [
        ("<answer>58</answer>", "58", True),
        ("<answer>5</answer>", "58", False),  # a substring grader accepts this
        ("<answer>58</answer>", "5", False),
        ("<answer>158</answer>", "58", False),
        ("", "58", False),  # no answer is wrong, never right
        ("The answer is 58.", "58", False),  # no tags: no answer
        ("<answer></answer>", "0", False),  # empty answer
        ("<answer>   </answer>", "0", False),
        ("<answer>237.</answer>", "237", True),
        ("<answer>1,234</answer>", "1234", True),
        ("<answer>$12.50</answer>", "12.5", True),
        ("<answer>12.50 dollars</answer>", "12.5", True),
        ("<answer>25/2</answer>", "12.5", True),
        ("<answer>12.5</answer>", "25/2", True),
        ("<answer>-3</answer>", "-3", True),
        ("<answer>\u22123</answer>", "-3", True),
        ("<answer>3</answer>", "-3", False),
        ("<answer>Ava did 237.</answer>", "237", False),  # only one word, after the number, is allowed
        ("<answer>237 apples</answer>", "237", True),
        ("<answer>5 or 58</answer>", "58", False),  # two numbers: ambiguous, wrong
        ("<answer>12 + 46 = 58</answer>", "58", False),
        ("<answer>58</answer> then <answer>59</answer>", "58", False),  # the last answer counts
        ("<answer>59</answer> then <answer>58</answer>", "58", True),
        ("<answer>58", "58", False),  # unclosed tag
        ("<answer>1/0</answer>", "0", False),
        ("<answer>0.1</answer>", "1/10", True),
        ("<answer>12.499999</answer>", "12.5", False),  # exact, not approximate
        ("<answer>**58**</answer>", "58", False),  # not the allowed form
        ("<answer>58%</answer>", "58", True),
        ("<answer>58 (approximately)</answer>", "58", False),
        ("<answer>2**3</answer>", "23", False),  # "**" is not stripped: an expression is not a number
        ("<answer>2**3</answer>", "8", False),
        ("<answer>5**2</answer>", "52", False),
        ("<answer>not 58</answer>", "58", False),
        ("<answer>58 is wrong</answer>", "58", False),
        ("<answer>5e3</answer>", "5", False),
        ("<answer>x = 58</answer>", "58", True),
        ("<answer>€58</answer>", "58", True),
        ("<answer>$-5</answer>", "-5", True),
        ("<answer>58 apples.</answer>", "58", True),
        ("<answer>58% off</answer>", "58", True),
        ("<answer>1,23</answer>", "123", False),  # a comma only separates thousands
    ],
)
def test_is_correct(text, reference, expected):
    assert is_correct(extract_answer(text), reference) is expected


def test_parse_number_values():
    assert parse_number("1,234,567") == 1234567
    assert parse_number("$0.05") == Fraction(1, 20)
    assert parse_number("3 / 4") == Fraction(3, 4)
    assert parse_number(".5") == Fraction(1, 2)
    assert parse_number(None) is None
    assert parse_number("twelve") is None


@pytest.mark.parametrize("digits", [101, 4301, 100_000])
def test_overlong_answers_are_unparsable_not_errors(digits):
    # Past 4,300 digits int() raises ValueError; an answer that long must simply be wrong.
    assert parse_number("1" * digits) is None
    assert is_correct(extract_answer("<answer>" + "7" * digits + "</answer>"), "7") is False


def test_answer_length_bound_is_inclusive():
    bound = grading.MAX_ANSWER_LENGTH
    assert parse_number("9" * bound) == 10**bound - 1 and parse_number("9" * (bound + 1)) is None
    assert parse_number(" " * 200 + "58 ") == 58  # the bound applies to the stripped answer


def test_extract_answer_is_multiline_and_case_insensitive():
    assert extract_answer("x <ANSWER>\n 42 \n</ANSWER>") == "42"
    assert extract_answer("no tags") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"So the total is \boxed{58}.", 58),
        (r"\boxed{12} or rather \boxed{58}", 58),  # the last box
        (r"\boxed{about 58} so 57", 57),  # an unparsable box: the last number of the text
        ("The answer is 1,234.", 1234),
        ("<answer>x</answer> so 58", 58),
        ("<answer>58</answer>", 58),
        ("It costs $12.50", Fraction(25, 2)),
        ("We get 5-3", 3),  # a minus between numbers is no sign
        ("The change is -7 dollars", -7),
        ('42 <tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n</tool_call>', 42),
        ('<tool_call>{"name": "calculator", "arguments": {"expression": "2*3"}}', None),  # only markup, cut
        ("no number here", None),
        ("", None),
        (None, None),
        ("x2", None),  # part of a word
    ],
)
def test_lenient_answer(text, expected):
    assert grading.lenient_answer(text) == expected


def test_number_tokens_are_exact_values():
    assert grading.number_tokens("1,234 + 0.50 - 7") == [1234, Fraction(1, 2), 7]
    assert grading.number_tokens("(-5)*41.35") == [-5, Fraction("41.35")]
    assert grading.number_tokens("1,23") == [1]  # "23" follows a comma that is no thousands separator
