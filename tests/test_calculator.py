"""Behaviour of the calculator tool: exact values, bounds, hostile input, tool calls and the CLI."""

import ast
import json
import operator
import re
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import calculator
from calculator import TOOL_NAME, TOOL_SCHEMA, calculate, count_ops, format_result, run_tool_call

ROOT = Path(__file__).resolve().parents[1]

NUMBER = re.compile(r"-?\d+(\.\d*[1-9])?")


def is_one_error_line(text: str) -> bool:
    return text.startswith("Error: ") and "\n" not in text and len(text) < 200


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("(79*3)", "237"),
        ("2**10", "1024"),
        ("7/2", "3.5"),
        ("10/3", "3.3333333333"),
        ("2/3", "0.6666666667"),
        ("-5+2", "-3"),
        ("1,234*2", "2468"),
        ("1,234,567+1", "1234568"),
        ("1,234.5*2", "2469"),
        ("3.45*17", "58.65"),
        ("0.1+0.2", "0.3"),
        ("7//2", "3"),
        ("-7//2", "-4"),
        ("7%3", "1"),
        ("-7%3", "2"),
        ("7%-3", "-2"),
        ("7.5%2", "1.5"),
        ("-7.5//2", "-4"),
        ("2**-2", "0.25"),
        ("12 × 3", "36"),
        ("7 ÷ 2", "3.5"),
        ("−3+1", "-2"),
        ("  1 + 1  ", "2"),
        ("+-+1", "-1"),
        ("1/20", "0.05"),
        ("100/4", "25"),
        ("-1/3", "-0.3333333333"),
        ("1.50", "1.5"),
        ("1e3", "1000"),
        ("1_000+1", "1001"),
        ("(-2)**3", "-8"),
        ("-2**2", "-4"),
        ("2**3**2", "512"),
        ("(1/2)**-3", "8"),
        ("0**0", "1"),
        ("10**30", "1" + "0" * 30),
        ("1/10**30", "0." + "0" * 29 + "1"),
        ("1e-30", "0." + "0" * 29 + "1"),
        ("2**64", str(2**64)),
    ],
)
def test_known_values(expression, expected):
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "Error: division by zero"),
        ("1//0", "Error: division by zero"),
        ("1%0", "Error: division by zero"),
        ("1/(2-2)", "Error: division by zero"),
        ("0**-1", "Error: division by zero"),
        ("1+", "Error: invalid syntax"),
        ("(1", "Error: invalid syntax"),
        ("x", "Error: only numbers and + - * / // % ** ( ) are allowed (found name 'x')"),
        ("2**65", "Error: exponent too large (limit 64)"),
        ("2**0.5", "Error: exponent must be a whole number"),
        ("10**30+1", "Error: result too large (limit 1e30)"),
        ("1.5e30", "Error: result too large (limit 1e30)"),
        ("1/10**30/10", "Error: result needs too much precision (denominator limit 1e30)"),
        ("0.1**31", "Error: result needs too much precision (denominator limit 1e30)"),
        ("1e-31", "Error: result needs too much precision (denominator limit 1e30)"),
        ("1" * 201, "Error: expression longer than 200 characters"),
    ],
)
def test_error_messages(expression, message):
    assert calculate(expression) == message


def test_bounds_are_inclusive_at_the_limit():
    assert calculate("1" + "+1" * 15 + " " * 169) == "16"  # whitespace is stripped before the length check
    assert calculate("1" * 200).startswith("Error: result too large")  # parsed: 200 chars is allowed
    assert calculate("-" * 31 + "1") == "-1"  # 32 levels of tree
    assert calculate("-" * 32 + "1").startswith("Error: expression nested too deeply")
    assert calculate("(" * 32 + "1" + ")" * 32) == "1"
    assert calculate("(" * 33 + "1" + ")" * 33).startswith("Error: expression nested too deeply")
    assert calculate("(-1)**-64") == "1"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("+".join(["1"] * 100), "100"),  # 199 characters: a flat chain is bounded by MAX_LENGTH, not MAX_DEPTH
        ("1" + "*1" * 99, "1"),
        ("100" + "-1" * 98, "2"),
        ("2" + "*2" * 40 + "/2" * 40, "2"),
        ("1" + "+2*3" * 49, "295"),
        ("(1+1)" + "+1" * 60, "62"),
    ],
    ids=["sum", "product", "difference", "mul-div", "mixed", "parenthesised-head"],
)
def test_flat_chains_are_not_nesting(expression, expected):
    assert calculate(expression) == expected


def test_evaluator_is_iterative_over_long_chains(monkeypatch):
    # 2,001 terms is a left-leaning tree twice Python's recursion limit deep: a recursive evaluator would overflow.
    monkeypatch.setattr(calculator, "MAX_LENGTH", 5000)
    assert sys.getrecursionlimit() < 2001
    assert calculate("1" + "+1" * 2000) == "2001"


def test_right_nesting_stays_bounded():
    # "**" is right-associative: each power nests its right operand one level deeper, like parentheses.
    assert calculate("1" + "**1" * 31) == "1"
    assert calculate("1" + "**1" * 32).startswith("Error: expression nested too deeply")
    assert calculate("1" + "+-1" * 60) == "-59"  # unary minus on a right operand: 3 levels, however long


def test_caret_suggests_double_star():
    result = calculate("1^2")
    assert is_one_error_line(result) and "**" in result


def test_disallowed_syntax_is_reported_before_evaluation():
    assert "name 'y'" in calculate("1/0 + y")


HOSTILE = {
    "import": "__import__('os').system('id')",
    "power tower": "9**9**9",
    "power tower 2": "2**10**10",
    "big power": "10**100",
    "big power under exponent limit": "10**40",
    "huge float": "1e400",
    "tiny float": "1e-999999999",
    "100k chars": "1+" * 50_000,
    "5000 parens": "(" * 5000 + "1" + ")" * 5000,
    "deep unary": "-" * 150 + "1",
    "deep parens": "(" * 90 + "1" + ")" * 90,
    "deep nested ops": "-(" * 60 + "1" + ")" * 60,
    "name": "x",
    "attribute": "(1).real",
    "dunder": "().__class__",
    "subclasses": "().__class__.__base__.__subclasses__()",
    "lambda": "(lambda: 1)()",
    "f-string": "f'{1}'",
    "list comprehension": "[i for i in (1, 2)]",
    "bool": "True+1",
    "complex": "1j",
    "string": "'a'*3",
    "bytes": "b'a'",
    "none": "None",
    "ellipsis": "...",
    "conditional": "1 if 1 else 2",
    "comparison": "1<2",
    "bool op": "1 and 2",
    "caret": "1^2",
    "bit ops": "1 << 100",
    "walrus": "(y := 1)",
    "tuple": "(1, 2)",
    "subscript": "[1][0]",
    "null byte": "1\x00",
    "newline": "1\n+2",
    "empty": "",
    "blank": "   ",
    "none input": None,
    "int input": 123,
    "list input": ["1+1"],
}


@pytest.mark.parametrize("expression", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_a_quick_error(expression):
    start = time.perf_counter()
    result = calculate(expression)
    elapsed = time.perf_counter() - start
    assert is_one_error_line(result), result
    assert elapsed < 0.2


def test_source_uses_no_eval_exec_or_compile():
    tree = ast.parse((ROOT / "calculator.py").read_text())
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}


# Differential test: random expression trees, evaluated independently of the calculator's parser.
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
trees = st.recursive(
    st.integers(-20, 20),
    lambda children: st.tuples(st.sampled_from(sorted(OPS)), children, children),
    max_leaves=12,
)


def render(tree) -> str:
    if isinstance(tree, int):
        return str(tree) if tree >= 0 else f"({tree})"
    op, left, right = tree
    return f"({render(left)} {op} {render(right)})"


def value(tree) -> Fraction:
    if isinstance(tree, int):
        return Fraction(tree)
    op, left, right = tree
    return OPS[op](value(left), value(right))


@settings(deadline=None, max_examples=300)
@given(trees)
def test_matches_independent_fraction_evaluation(tree):
    try:
        expected = format_result(value(tree))
    except ZeroDivisionError:
        expected = "Error: division by zero"
    assert calculate(render(tree)) == expected


@settings(deadline=None)
@given(st.fractions(min_value=-(10**12), max_value=10**12, max_denominator=10**6))
def test_format_result_is_exact_or_rounded_to_ten_places(number):
    text = format_result(number)
    assert NUMBER.fullmatch(text), text
    denominator = number.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        assert Fraction(text) == number
    else:
        assert abs(Fraction(text) - number) <= Fraction(1, 2 * 10**10)
    assert calculate(text) == text  # the model can copy a result back into the tool


@settings(deadline=None, max_examples=300)
@given(st.one_of(st.text(max_size=250), st.text(alphabet="0123456789+-*/%().,^ ×÷−eEjx_", max_size=250)))
def test_never_raises_and_answers_one_line(text):
    result = calculate(text)
    assert is_one_error_line(result) or NUMBER.fullmatch(result), result


def test_tool_schema():
    function = TOOL_SCHEMA["function"]
    assert TOOL_SCHEMA["type"] == "function" and function["name"] == TOOL_NAME == "calculator"
    assert function["parameters"]["required"] == ["expression"]
    assert function["parameters"]["properties"]["expression"]["type"] == "string"
    json.dumps(TOOL_SCHEMA)  # must be serialisable for the chat template


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("calculator", {"expression": "(79*3)"}, ("237", "ok")),
        ("calculator", '{"expression": "7/2"}', ("3.5", "ok")),
        ("calculator", {"expression": 12}, ("12", "ok")),
        ("calculator", {"expression": 2.5}, ("2.5", "ok")),
        ("calculator", {"expression": "1/0"}, ("Error: division by zero", "error")),
    ],
)
def test_run_tool_call_results(name, arguments, expected):
    assert run_tool_call(name, arguments) == expected


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("calculator", "{not json"),
        ("calculator", "[" * 100_000),
        ("calculator", '["2+2"]'),
        ("calculator", ["2+2"]),
        ("calculator", None),
        ("calculator", {}),
        ("calculator", {"expr": "2+2"}),
        ("calculator", {"expression": None}),
        ("calculator", {"expression": True}),
        ("python", {"expression": "2+2"}),
        (None, {"expression": "2+2"}),
    ],
)
def test_run_tool_call_errors(name, arguments):
    text, status = run_tool_call(name, arguments)
    assert status == "malformed" and is_one_error_line(text)


def test_run_tool_call_names_unknown_tool():
    assert "python" in run_tool_call("python", {"expression": "1"})[0]


def run_cli(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, str(ROOT / "calculator.py"), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return process, time.perf_counter() - start


def test_cli_prints_result():
    process, elapsed = run_cli("(79*3)")
    assert (process.returncode, process.stdout) == (0, "237\n")
    assert elapsed < 3  # the work itself is sub-millisecond; the margin absorbs interpreter start-up


def test_cli_accepts_leading_minus():
    process, _ = run_cli("-5+2")
    assert (process.returncode, process.stdout) == (0, "-3\n")


@pytest.mark.parametrize(
    "expression", ["9**9**9", "__import__('os').system('id')", "1+" * 50_000], ids=["tower", "import", "100k"]
)
def test_cli_errors_exit_zero_quickly(expression):
    process, elapsed = run_cli(expression)
    assert process.returncode == 0
    assert process.stdout.startswith("Error:") and process.stdout.count("\n") == 1
    assert elapsed < 3


def test_cli_help():
    process, _ = run_cli("--help")
    assert process.returncode == 0 and "expression" in process.stdout


@pytest.mark.parametrize(
    "expr, ops, one_op",
    [
        ("5*12", 1, "60"),
        ("(-5)*3", 1, "-15"),  # a sign is not an operation
        ("-5", 0, "-5"),
        ("(42)", 0, "42"),
        ("2**3", 1, "8"),
        ("7 // 2", 1, "3"),
        ("1,098 + 2", 1, "1100"),
        ("(7686 - 1098) / 1098", 2, None),
        ("1+2+3+4", 3, None),
    ],
)
def test_max_ops_limits_binary_operations(expr, ops, one_op):
    assert count_ops(ast.parse(expr.replace(",", ""), mode="eval").body) == ops
    assert calculate(expr) != "" and not calculate(expr).startswith("Error")  # no limit: any expression
    result = calculate(expr, max_ops=1)
    if one_op is None:
        assert (
            result == f"Error: one operation per call (this expression has {ops}): compute one step, then use "
            "its result in the next call"
        )
        assert run_tool_call(TOOL_NAME, {"expression": expr}, 1) == (result, "error")
        assert calculate(expr, max_ops=ops) == calculate(expr)
        assert calculate(expr, max_ops=ops - 1).startswith("Error: ")
    else:
        assert result == one_op and run_tool_call(TOOL_NAME, {"expression": expr}, 1) == (one_op, "ok")


def test_max_ops_checks_the_rest_first():
    # Bad syntax and names are still named as such, not as too many operations.
    assert (
        calculate("x + 1 + 2", max_ops=1)
        == calculate("x + 1 + 2")
        == ("Error: only numbers and + - * / // % ** ( ) are allowed (found name 'x')")
    )
    assert calculate("1 +", max_ops=1) == "Error: invalid syntax"
