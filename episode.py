"""One episode, the same for every engine, eval and training run: prompt -> model -> (tool -> model)* -> grade.

The episode ends at the first assistant turn without a tool call; the last <answer> of that turn is graded. Tool
calls use the model's native Hermes format (`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, what Qwen2.5's
chat template asks for); results go back as `role: tool` messages. Nothing a model writes can crash an episode:
malformed calls are answered with an error message and counted, and at most MAX_CALLS_PER_TURN calls a turn are run
(each later one is answered with an error and counted as a tool error).

Chaining is measured (`chain`): a call counts when its expression holds an operator and repeats no earlier call; it
is dependent when a later call or the final answer uses its result. Only `--progress-reward` pays for steps on the way.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple, Protocol

from calculator import TOOL_SCHEMA, run_tool_call, tool_schema
from dataset import Problem
from grading import extract_answer, is_correct, lenient_answer, number_tokens

SYSTEM_PROMPT = (
    "You solve arithmetic word problems. Think step by step, then give the final answer as a single number "
    "inside <answer></answer> tags, for example <answer>42</answer>."
)
MAX_CALLS_PER_TURN = 8  # tool calls run per assistant turn; later ones are answered with an error, not run
TOO_MANY_CALLS = f"Error: too many tool calls in one turn (limit {MAX_CALLS_PER_TURN}); this call was not run"
# One operation per call, each result used in the next: the old prompt (one example call, "when you have the final
# result") let one call with the whole expression pass for the whole job, and its parentheses were the failures.
SYSTEM_PROMPT_TOOL = (
    "You solve arithmetic word problems with the calculator tool. Do not compute in your head. Do one operation "
    'per call, like this:\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "12*34"}}\n</tool_call>\n'
    'then wait for its result and use that result in your next call. For example, for "Ava buys 5 boxes of 12 pens '
    'and gives away 7 pens. How many pens does she keep?", first call {"expression": "5*12"} and get 60, then call '
    '{"expression": "60-7"} and get 53. When the last step is done, reply with only the final number inside answer '
    f"tags, for example <answer>53</answer>. At most {MAX_CALLS_PER_TURN} tool calls per turn are run."
)
# The old prompt (commit d67e76b), byte for byte: a GPU run trained well with it, mostly with one call an episode.
SYSTEM_PROMPT_TOOL_STEPS = (
    "You solve arithmetic word problems with the calculator tool. Do not compute in your head: for every "
    'arithmetic step, call the tool like this:\n<tool_call>\n{"name": "calculator", "arguments": {"expression": '
    '"12*34"}}\n</tool_call>\nand wait for its result. When you have the final result, reply with only that '
    f"number inside answer tags, for example <answer>42</answer>. At most {MAX_CALLS_PER_TURN} tool calls per "
    "turn are run."
)
# "basic": a basic calculator, one operation per call, enforced by the tool (calculator.evaluate's max_ops).
SYSTEM_PROMPT_TOOL_BASIC = (
    "You solve arithmetic word problems with a basic calculator tool. Do not compute in your head. Each call does "
    "one operation on two numbers (+ - * / // % **); a call with more operations returns an error. Call it like "
    'this:\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "12*34"}}\n</tool_call>\nthen wait for '
    'its result and use that result in your next call. For example, for "Ava buys 5 boxes of 12 pens and gives away '
    '7 pens. How many pens does she keep?", first call {"expression": "5*12"} and get 60, then call '
    '{"expression": "60-7"} and get 53. When the last step is done, reply with only the final number inside answer '
    f"tags, for example <answer>53</answer>. At most {MAX_CALLS_PER_TURN} tool calls per turn are run."
)


class ToolPrompt(NamedTuple):
    system: str  # the system prompt of tool episodes
    schema: dict  # the calculator's schema (`tools=`)
    max_ops: int | None = None  # operations the calculator takes per call (None: any expression)
    demo: tuple[dict, ...] = ()  # a worked episode, shown as earlier turns of the chat before the question


BASIC_SCHEMA = tool_schema(
    "A basic calculator: evaluates one operation on two numbers exactly (+ - * / // % **). Use its result in the "
    "next call.",
    "One operation, e.g. '79*3', then '237 + 12.5'.",
)


def tool_call_text(expression: str) -> str:
    """A calculator call in the Hermes text form the model writes (what the demo turns and benchmarks show it)."""
    return f'<tool_call>\n{{"name": "calculator", "arguments": {{"expression": "{expression}"}}}}\n</tool_call>'


# "demo": a basic policy answered right after its first result, with steps left: in 60 GPU steps its sampled
# episodes almost never ran two calls (the system prompt's example is text, not turns). So a worked three-call
# episode goes into the chat itself, as the turns the model then continues.
DEMO = (
    {"role": "user", "content": "A shop has 4 crates of 25 apples. It sells 30 apples and shares the rest equally "
                                "among 5 stores. How many apples does each store get?"},
    {"role": "assistant", "content": tool_call_text("4*25")},
    {"role": "tool", "content": "100"},
    {"role": "assistant", "content": tool_call_text("100-30")},
    {"role": "tool", "content": "70"},
    {"role": "assistant", "content": tool_call_text("70/5")},
    {"role": "tool", "content": "14"},
    {"role": "assistant", "content": "<answer>14</answer>"},
)  # fmt: skip

# The tool prompts (--tool-prompt), a recipe knob chosen on the dev split. "one-op" asks for one operation per call
# and shows a worked two-call example; "steps" is d67e76b's; "basic" is one-op enforced by the tool (chaining is then
# needed on every problem of two or more steps, not merely asked for); "demo" is basic with DEMO before the question.
TOOL_PROMPTS = {
    "one-op": ToolPrompt(SYSTEM_PROMPT_TOOL, TOOL_SCHEMA),
    "steps": ToolPrompt(
        SYSTEM_PROMPT_TOOL_STEPS,
        tool_schema(
            "Evaluates one arithmetic expression exactly. Supports numbers, + - * / // % ** and parentheses.",
            "A single arithmetic expression, e.g. '(79*3) + 12.5/4'.",
        ),
    ),
    "basic": ToolPrompt(SYSTEM_PROMPT_TOOL_BASIC, BASIC_SCHEMA, max_ops=1),
    "demo": ToolPrompt(SYSTEM_PROMPT_TOOL_BASIC, BASIC_SCHEMA, max_ops=1, demo=DEMO),
}
DEFAULT_TOOL_PROMPT = "one-op"
TOOL_PROMPT_HELP = (
    "system prompt and tool schema of tool episodes: one-op (one operation per call, with a worked two-call "
    "example), steps (a call for every arithmetic step, no example; commit d67e76b's), basic (one-op, enforced: "
    "the calculator refuses a call of more than one operation) or demo (basic, after a worked three-call episode "
    "shown as earlier turns of the chat)"
)
# For chat templates that ignore `tools=` (SmolLM2's): the same description Qwen2.5's template renders.
HERMES_TOOL_PROMPT = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within <tool_call></tool_call> "
    'XML tags:\n<tool_call>\n{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)
TOOL_CALL_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
OPERATOR_RE = re.compile(r"[-+*/%×÷−]")  # ** and // hold * and /
LEADING_SIGNS_RE = re.compile(r"^[\s(+\-−]*")  # "-5" and "(-5)" are a lone number, not an operation
FAILURES = ("truncated", "max_turns", "no_answer", "malformed_tool_call", "tool_error", "wrong")


@dataclass(frozen=True)
class Sampling:
    """How an engine samples the turns of one call (a training step, one seed of an eval), passed with every turn.

    Equal values belong to one call. Every draw is seeded from `seed` and what happened within the call alone, so
    nothing sampled depends on how many calls, evals or steps ran before in the process: a resumed run samples what
    the uninterrupted run sampled. Give every call its own seed (`derive_seed`).
    """

    temperature: float  # 0: greedy
    seed: int
    max_new_tokens: int  # per assistant turn


def derive_seed(*parts) -> int:
    """A 32-bit seed named by `parts` (say run seed, "train", step): the same parts give the same seed anywhere."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


@dataclass
class Turn:
    """One assistant turn as an engine returns it."""

    text: str  # everything the model generated, tool-call markup included
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    message: dict | None = None  # the assistant message to append (default: the raw text as content)
    tool_calls: list[dict] | None = None  # calls the server already parsed (OpenAI format); None: parse text
    prompt_ids: list[int] | None = None  # local engine: exact token ids, for training
    completion_ids: list[int] | None = None
    raw: Any = None  # the backend's own object (ART keeps the Choice)


class Engine(Protocol):
    async def chat(self, messages: list[dict], tools: list[dict] | None, sampling: Sampling) -> Turn: ...


@dataclass
class ToolCall:
    name: str | None
    arguments: Any
    result: str
    malformed: bool  # bad JSON, unknown tool, missing argument
    error: bool  # the calculator answered "Error: ..."
    call_id: str | None = None


@dataclass
class Episode:
    problem: Problem
    use_tool: bool
    messages: list[dict]
    turns: list[Turn] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    answer: str | None = None
    correct: bool = False
    correct_lenient: bool = False  # True when correct; else the lenient reading (grading.lenient_answer) is right
    failure: str | None = None

    def record(self) -> dict:
        """The JSON line written for this episode."""
        calls = chain(self.calls, self.answer)
        return {
            "id": self.problem.id,
            "question": self.problem.question,
            "reference": self.problem.answer,
            "family": self.problem.family,
            "steps": self.problem.steps,
            "template": getattr(self.problem, "template", ""),
            "tool": self.use_tool,
            "answer": self.answer,
            "correct": self.correct,
            "correct_lenient": self.correct_lenient,
            "failure": self.failure,
            "turns": len(self.turns),
            "tool_calls": len(self.calls),
            "calls": calls,
            "counted_calls": sum(c["counted"] for c in calls),
            "dependent_calls": sum(c["dependent"] for c in calls),
            "malformed_calls": sum(c.malformed for c in self.calls),
            "tool_errors": sum(c.error for c in self.calls),
            "prompt_tokens": sum(t.prompt_tokens for t in self.turns),
            "completion_tokens": sum(t.completion_tokens for t in self.turns),
            "messages": self.messages,
        }


def expression_of(arguments) -> str | None:
    """The "expression" argument of a call (arguments as a dict or a JSON string), else None."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except Exception:  # noqa: BLE001 - model text
            return None
    expression = arguments.get("expression") if isinstance(arguments, dict) else None
    return expression if isinstance(expression, str) else None


def chain(calls: list[ToolCall], answer: str | None) -> list[dict]:
    """Each call's expression and result, whether it counts (an operator, not a repeat of an earlier call) and
    whether it is dependent (counted, no error, and its result's value is a number of a later call's expression or
    of the final answer; a negative result also matches its absolute value, as in "10 - 5")."""
    expressions = [expression_of(c.arguments) for c in calls]
    numbers = [{abs(v) for v in number_tokens(text or "")} for text in [*expressions, answer]]  # the answer last
    out, seen = [], set()
    for i, (c, expr) in enumerate(zip(calls, expressions, strict=True)):
        key = re.sub(r"\s", "", expr or "")
        counted = bool(expr) and bool(OPERATOR_RE.search(LEADING_SIGNS_RE.sub("", expr))) and key not in seen
        seen.add(key)
        dependent = False
        if counted and not c.result.startswith("Error:") and (value := _value(c.result)) is not None:
            dependent = any(abs(value) in later for later in numbers[i + 1 :])
        out.append({"expression": expr, "result": c.result, "counted": counted, "dependent": dependent})
    return out


def _value(result: str) -> Fraction | None:
    tokens = number_tokens(result)
    return tokens[0] if len(tokens) == 1 else None


def system_prompt(use_tool: bool, tools_in_prompt: bool, prompt: str = DEFAULT_TOOL_PROMPT) -> str:
    """The system message of an episode; `prompt` names the tool prompt (TOOL_PROMPTS) of a tool episode."""
    if not use_tool:
        return SYSTEM_PROMPT
    text, schema = TOOL_PROMPTS[prompt][:2]
    if tools_in_prompt:
        return text + HERMES_TOOL_PROMPT.format(tools=json.dumps(schema))
    return text


def tools_of(prompt: str) -> list[dict]:
    """The `tools=` of a tool episode whose chat template renders them (the tool prompt's schema)."""
    return [TOOL_PROMPTS[prompt].schema]


def template_ignores_tools(tokenizer) -> bool:
    """True when the chat template renders the same text with and without `tools=` (the tool would be unseen)."""
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    render = lambda **kw: tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, **kw)  # noqa: E731
    return render() == render(tools=[TOOL_SCHEMA])


def parse_tool_calls(text: str) -> list[tuple]:
    """(name, arguments) for every <tool_call> block; a block that is not a JSON object gives (None, error)."""
    calls = []
    for body in TOOL_CALL_RE.findall(text):
        try:
            obj = json.loads(body)
        except Exception:  # noqa: BLE001 - JSONDecodeError, RecursionError on deep nesting: model text
            obj = None
        if isinstance(obj, dict):
            calls.append((obj.get("name"), obj.get("arguments")))
        else:
            calls.append((None, 'Error: a tool call must be a JSON object {"name": ..., "arguments": {...}}'))
    return calls


def run_call(name, arguments, call_id: str | None = None, max_ops: int | None = None) -> ToolCall:
    if name is None and isinstance(arguments, str) and arguments.startswith("Error:"):
        return ToolCall(name, None, arguments, True, False, call_id)
    result, status = run_tool_call(name, arguments, max_ops)
    return ToolCall(name, arguments, result, status == "malformed", status == "error", call_id)


def _server_calls(tool_calls: list[dict]) -> list[tuple]:
    return [
        ((tc.get("function") or {}).get("name"), (tc.get("function") or {}).get("arguments"), tc.get("id"))
        for tc in tool_calls
    ]


def _run_calls(pending: list[tuple], max_ops: int | None) -> list[ToolCall]:
    """Run the first MAX_CALLS_PER_TURN calls of a turn; each later one gets an error result (a tool error)."""
    return [
        run_call(*c, max_ops=max_ops)
        if i < MAX_CALLS_PER_TURN
        else ToolCall(c[0], c[1], TOO_MANY_CALLS, False, True, *c[2:])
        for i, c in enumerate(pending)
    ]


async def run_episode(
    engine: Engine,
    problem: Problem,
    use_tool: bool,
    max_turns: int,
    tools_in_prompt: bool,
    sampling: Sampling,
    prompt: str = DEFAULT_TOOL_PROMPT,
) -> Episode:
    """Play one problem to the end and grade it. `max_turns` bounds the tool rounds; `prompt` names the tool prompt
    (TOOL_PROMPTS: the system prompt and the tool schema of a tool episode)."""
    if prompt not in TOOL_PROMPTS:
        raise ValueError(f"unknown tool prompt {prompt!r} (known: {', '.join(TOOL_PROMPTS)})")
    demo = [dict(m) for m in TOOL_PROMPTS[prompt].demo] if use_tool else []
    messages = [
        {"role": "system", "content": system_prompt(use_tool, tools_in_prompt, prompt)},
        *demo,
        {"role": "user", "content": problem.question},
    ]
    ep = Episode(problem, use_tool, messages)
    tools = tools_of(prompt) if use_tool and not tools_in_prompt else None
    for round_ in range(max_turns + 1):
        turn = await engine.chat(messages, tools, sampling)
        ep.turns.append(turn)
        messages.append(turn.message or {"role": "assistant", "content": turn.text})
        if turn.finish_reason == "length":
            ep.failure = "truncated"
            break
        if not use_tool:
            break
        pending = _server_calls(turn.tool_calls) if turn.tool_calls else parse_tool_calls(turn.text)
        calls = _run_calls(pending, TOOL_PROMPTS[prompt].max_ops)
        if not calls:
            break
        if round_ == max_turns:
            ep.failure = "max_turns"
            break
        ep.calls += calls
        for c in calls:
            messages.append({"role": "tool", "content": c.result} | ({"tool_call_id": c.call_id} if c.call_id else {}))
    final = ep.turns[-1].text
    if ep.failure is None:  # truncated and max_turns episodes have no answer
        ep.answer = extract_answer(final)
        ep.correct = is_correct(ep.answer, problem.answer)
        if not ep.correct:
            ep.failure = _failure(ep)
    ep.correct_lenient = ep.correct or lenient_answer(final) == Fraction(problem.answer)
    return ep


def _failure(ep: Episode) -> str:
    if ep.answer is None:
        return "no_answer"
    if any(c.malformed for c in ep.calls):
        return "malformed_tool_call"
    if any(c.error for c in ep.calls):
        return "tool_error"
    return "wrong"
