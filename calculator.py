"""Exact arithmetic calculator tool for model tool calls.

The expression comes from model output, so it is untrusted: it is parsed with ``ast.parse`` and the tree is
walked by hand (no eval/exec/compile), every number is an exact ``Fraction``, and hard bounds on length,
nesting, exponents and magnitudes keep every call fast. Failures come back as one line starting with
"Error: " that the model can read and act on; ``calculate`` never raises.

Usage: python calculator.py '(79*3)'   # prints 237
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import warnings
from decimal import Decimal
from fractions import Fraction

TOOL_NAME = "calculator"


def tool_schema(description: str, expression_description: str) -> dict:
    """The calculator's function schema (what `tools=` carries) with these two texts; episode.TOOL_PROMPTS holds
    the variants."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": expression_description}},
                "required": ["expression"],
            },
        },
    }


# The "one-op" tool prompt's schema (episode.TOOL_PROMPTS), the default.
TOOL_SCHEMA = tool_schema(
    "Evaluates one arithmetic expression exactly. Supports numbers, + - * / // % ** and parentheses. "
    "Do one operation per call and use its result in the next call.",
    "A single arithmetic expression, e.g. '79*3', then '237 + 12.5'.",
)

# Hard bounds. They are generous for word problems and small enough that no call can run long.
MAX_LENGTH = 200  # characters, checked before any parsing
# Nesting of parentheses in the text, and of operands in the tree. A left operand is the same level, so a flat chain
# such as 1+1+...+1 (a deep left-leaning tree) is one level; its length is bounded by MAX_LENGTH alone.
MAX_DEPTH = 32
MAX_EXPONENT = 64  # |exponent| for **
MAX_MAGNITUDE = 10**30  # bound on |value| of every literal, intermediate and final result
MAX_DENOMINATOR = 10**30  # bound on the denominator, so tiny values with huge denominators are rejected too
DECIMAL_PLACES = 10  # rounding for non-terminating results only

# log2(MAX_MAGNITUDE) is about 99.7; an estimate above this many bits is certainly out of bounds.
_LIMIT_BITS = MAX_MAGNITUDE.bit_length()

ALLOWED_MESSAGE = "only numbers and + - * / // % ** ( ) are allowed"

# Thousands separators: a comma between a digit and exactly three digits that are not followed by another
# digit is dropped, so "1,234,567" -> "1234567". Any other comma stays and is rejected later as a tuple.
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_FRIENDLY = str.maketrans({"×": "*", "÷": "/", "−": "-"})

_BINARY_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    # Fraction // and % use floor semantics, exactly like Python's ints and floats.
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: lambda a, b: a % b,
}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
_UNARY_OPS = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}

# Words for rejected syntax, so the model learns what it wrote that is not allowed.
_NODE_WORDS = {
    ast.Call: "function call",
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.Tuple: "a comma; commas may only separate thousands, as in 1,234",
    ast.List: "list",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.NamedExpr: "assignment :=",
}
_OP_SYMBOLS = {
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}


class CalculatorError(ValueError):
    """A problem with the expression; its message is shown to the model after "Error: "."""


def calculate(expression: str, max_ops: int | None = None) -> str:
    """Evaluate one arithmetic expression; return the result text or a one-line "Error: ..." message. With `max_ops`,
    an expression of more binary operations than that is refused (a basic calculator: chaining is the model's job)."""
    try:
        return format_result(evaluate(expression, max_ops))
    except CalculatorError as exc:
        return f"Error: {exc}"
    except ZeroDivisionError:
        return "Error: division by zero"
    except (RecursionError, MemoryError):
        return "Error: expression nested too deeply"
    except Exception:  # noqa: BLE001 - the tool boundary: untrusted input must never crash the caller
        return "Error: could not evaluate expression"


def format_result(value: Fraction) -> str:
    """Render an exact value as a plain number the model can copy.

    Integers print without ".0" and terminating decimals print exactly ("12.5", "0.05"). Only values with
    no finite decimal expansion are rounded, to DECIMAL_PLACES places with trailing zeros stripped
    ("3.3333333333"). Such a value can never sit exactly halfway between two roundings, so the rounding
    mode does not matter.
    """
    value = Fraction(value)
    if not terminates(value):
        value = Fraction(round(value, DECIMAL_PLACES))
    return decimal_text(value)


def run_tool_call(name, arguments, max_ops: int | None = None) -> tuple[str, str]:
    """Execute one parsed tool call. Returns (text for the model, status), status one of "ok", "malformed"
    (unknown tool, arguments not an object, missing "expression") or "error" (the calculator refused, also an
    expression of more than `max_ops` operations). Never raises.
    """
    try:
        if name != TOOL_NAME:
            return f"Error: unknown tool {_short(name)} (available: {TOOL_NAME})", "malformed"
        if isinstance(arguments, (str, bytes, bytearray)):
            try:
                arguments = json.loads(arguments)
            except Exception:  # noqa: BLE001 - JSONDecodeError, RecursionError, int-digit limits, ...
                return 'Error: arguments must be a JSON object like {"expression": "2+2"}', "malformed"
        if not isinstance(arguments, dict):
            return 'Error: arguments must be a JSON object like {"expression": "2+2"}', "malformed"
        if "expression" not in arguments:
            return 'Error: missing "expression" argument', "malformed"
        expression = arguments["expression"]
        # Models sometimes send a bare number; accept it, but a bool is almost certainly a mistake.
        if isinstance(expression, (int, float)) and not isinstance(expression, bool):
            expression = str(expression)
        if not isinstance(expression, str):
            return 'Error: "expression" must be a string', "malformed"
        result = calculate(expression, max_ops)
        return result, "error" if result.startswith("Error:") else "ok"
    except Exception:  # noqa: BLE001 - same boundary as calculate(): report, never crash the rollout
        return "Error: could not run the tool call", "malformed"


def evaluate(expression, max_ops: int | None = None) -> Fraction:
    """The exact value of an arithmetic expression (the project's one evaluator: the dataset computes its answers
    with it too). Raises CalculatorError or ZeroDivisionError, also for more than `max_ops` binary operations."""
    if not isinstance(expression, str):
        raise CalculatorError("expression must be a string")
    text = expression.strip()
    if not text:
        raise CalculatorError("empty expression")
    # Checked before any other work (only the strip comes first) so that huge inputs cost almost nothing.
    if len(text) > MAX_LENGTH:
        raise CalculatorError(f"expression longer than {MAX_LENGTH} characters")
    text = _THOUSANDS_COMMA.sub("", text.translate(_FRIENDLY))
    if "^" in text:
        raise CalculatorError("use ** for powers, not ^ (e.g. 2**3)")
    # Parenthesis nesting is invisible in the tree, and Python's parser recurses on it, so bound it in text.
    if _paren_depth(text) > MAX_DEPTH:
        raise CalculatorError(f"expression nested too deeply (limit {MAX_DEPTH} levels)")
    try:
        # The parser warns about things like "1if" or bad string escapes; keep that off the caller's stderr.
        # (catch_warnings swaps process-global state; a race between threads could only misplace a filter.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except (RecursionError, MemoryError):
        raise CalculatorError(f"expression nested too deeply (limit {MAX_DEPTH} levels)") from None
    except (SyntaxError, ValueError):
        raise CalculatorError("invalid syntax") from None
    _validate(tree.body)
    if max_ops is not None and (ops := count_ops(tree.body)) > max_ops:
        limit = "one operation" if max_ops == 1 else f"at most {max_ops} operations"
        raise CalculatorError(
            f"{limit} per call (this expression has {ops}): compute one step, then use its result in the next call"
        )
    return _eval_tree(tree.body, text)


def count_ops(root: ast.AST) -> int:
    """Binary operations in a validated tree: "(-5)*3" and "2**3" have one, a lone "-5" none."""
    return sum(isinstance(node, ast.BinOp) for node in ast.walk(root))


def _paren_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _validate(root: ast.AST) -> None:
    """Reject disallowed syntax and deep trees before evaluating anything.

    Iterative, like the evaluator, so a deep tree cannot overflow the stack. Checking the whole tree first also
    means "x/0 + y" reports the name, not the division.
    """
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CalculatorError(f"expression nested too deeply (limit {MAX_DEPTH} levels)")
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY_OPS and not isinstance(node.op, ast.Pow):
                raise _not_allowed(_operator_word(node.op))
            stack += [(node.left, depth), (node.right, depth + 1)]
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY_OPS:
                raise _not_allowed(_operator_word(node.op))
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Constant):
            # type() rather than isinstance(): bool is a subclass of int but True+1 is not arithmetic.
            if type(node.value) not in (int, float):
                raise _not_allowed(_constant_word(node.value))
        elif isinstance(node, ast.Name):
            raise _not_allowed(f"name {_short(node.id)}")
        else:
            raise _not_allowed(_NODE_WORDS.get(type(node), type(node).__name__))


def _eval_tree(root: ast.expr, source: str) -> Fraction:
    """Post-order walk with an explicit stack (left operand first, as recursion would), so a long left-leaning
    chain cannot overflow Python's stack."""
    values: list[Fraction] = []
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, operands_done = stack.pop()
        if isinstance(node, ast.Constant):
            value = _literal(node, source)
        elif not operands_done:
            stack.append((node, True))
            if isinstance(node, ast.UnaryOp):
                stack.append((node.operand, False))
            else:
                stack += [(node.right, False), (node.left, False)]
            continue
        elif isinstance(node, ast.UnaryOp):
            value = _UNARY_OPS[type(node.op)](values.pop())
        else:
            right, left = values.pop(), values.pop()
            if isinstance(node.op, ast.Pow):
                value = _power(left, right)
            elif isinstance(node.op, _DIVISIONS) and right == 0:
                raise ZeroDivisionError
            else:
                value = _BINARY_OPS[type(node.op)](left, right)
        _check_bounds(value)
        values.append(value)
    return values.pop()


def _literal(node: ast.Constant, source: str) -> Fraction:
    if type(node.value) is int:
        return Fraction(node.value)
    # Floats are taken from their source digits (3.45 is exactly 69/20), not from the binary float.
    # Decimal keeps the exponent symbolic, so "1e-999999999" cannot trigger a giant power of ten.
    digits = ast.get_source_segment(source, node) or repr(node.value)
    exact = Decimal(digits.replace("_", ""))
    if not exact.is_finite():
        raise CalculatorError("number too large (limit 1e30)")
    if exact == 0:
        return Fraction(0)
    if exact.adjusted() >= 31:
        raise CalculatorError("number too large (limit 1e30)")
    if exact.adjusted() < -31:
        raise CalculatorError("number too small (denominator limit 1e30)")
    return Fraction(exact)


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        raise CalculatorError("exponent must be a whole number")
    exp = exponent.numerator
    if abs(exp) > MAX_EXPONENT:
        raise CalculatorError(f"exponent too large (limit {MAX_EXPONENT})")
    if exp < 0:
        if base == 0:
            raise ZeroDivisionError
        base, exp = 1 / base, -exp
    # Estimate before computing: for |n/d| the log2 is above bits(n) - 1 - bits(d), and the (reduced)
    # denominator of the power is d**exp, so these lower bounds prove the result is out of range.
    num_bits = abs(base.numerator).bit_length()
    den_bits = base.denominator.bit_length()
    if base.numerator != 0 and (num_bits - 1 - den_bits) * exp > _LIMIT_BITS:
        raise CalculatorError("result too large (limit 1e30)")
    if (den_bits - 1) * exp > _LIMIT_BITS:
        raise CalculatorError("result needs too much precision (denominator limit 1e30)")
    return base**exp


def _check_bounds(value: Fraction) -> None:
    if abs(value) > MAX_MAGNITUDE:
        raise CalculatorError("result too large (limit 1e30)")
    if value.denominator > MAX_DENOMINATOR:
        raise CalculatorError("result needs too much precision (denominator limit 1e30)")


def terminates(value: Fraction) -> bool:
    """Whether the value has a finite decimal expansion (its reduced denominator has no prime but 2 and 5)."""
    denominator = Fraction(value).denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def decimal_text(value: Fraction) -> str:
    """Exact decimal text of a value whose denominator has no prime factors but 2 and 5."""
    if value.denominator == 1:
        return str(value.numerator)
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
    scaled = abs(value.numerator * 10**places // value.denominator)
    whole, frac = divmod(scaled, 10**places)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{frac:0{places}d}".rstrip("0").rstrip(".")


def _not_allowed(found: str) -> CalculatorError:
    return CalculatorError(f"{ALLOWED_MESSAGE} (found {found})")


def _operator_word(op: ast.AST) -> str:
    return f"operator '{_OP_SYMBOLS.get(type(op), type(op).__name__)}'"


def _constant_word(value) -> str:
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, complex):
        return "complex number"
    if isinstance(value, (str, bytes)):
        return "string"
    return _short(value)


def _short(value) -> str:
    # Echo the offending text, but keep the error one short line.
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("expression", nargs="*", help="arithmetic expression (several words are joined)")
    # parse_known_args keeps expressions starting with "-" (like "-5+2") from being taken as options.
    args, rest = parser.parse_known_args(argv)
    print(calculate(" ".join(args.expression + rest)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
