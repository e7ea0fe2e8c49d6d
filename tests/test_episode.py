"""The episode loop's rules, driven by scripted model turns (the real models run in test_cli.py)."""

import asyncio
import json
import random
import re
from pathlib import Path

import pytest

import episode
from dataset import Problem
from episode import Sampling, Turn, parse_tool_calls, run_episode, system_prompt
from evaluation import chaining_line, summarize

ROOT = Path(__file__).resolve().parents[1]

PROBLEM = Problem("p-1", "Ava has 79 boxes of 3 pens. How many pens?", "237", "79*3", "times_as_many", 1)


def call(expr) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'calculator', 'arguments': {'expression': expr}})}\n</tool_call>"


class Scripted:
    """Plays fixed assistant texts in order and records what it was shown."""

    def __init__(self, *texts, finish="stop"):
        self.texts, self.finish, self.seen = list(texts), finish, []

    async def chat(self, messages, tools, sampling):
        self.seen.append(([dict(m) for m in messages], tools))
        text = self.texts.pop(0)
        return Turn(text, self.finish if not self.texts else "stop", 10, 5)


def play(engine, use_tool=True, max_turns=3, problem=PROBLEM):
    return asyncio.run(run_episode(engine, problem, use_tool, max_turns, False, Sampling(0.0, 0, 64)))


def test_tool_round_trip_and_grading():
    engine = Scripted(call("79*3"), "<answer>237</answer>")
    ep = play(engine)
    assert ep.correct and ep.failure is None and ep.answer == "237"
    assert [c.result for c in ep.calls] == ["237"]
    messages, tools = engine.seen[1]
    assert messages[-1] == {"role": "tool", "content": "237"}
    assert tools[0]["function"]["name"] == "calculator"
    assert ep.record()["tool_calls"] == 1 and ep.record()["turns"] == 2


def test_no_tool_episode_ignores_tool_markup():
    ep = play(Scripted(call("79*3") + " <answer>237</answer>"), use_tool=False)
    assert ep.correct and ep.calls == []


def test_wrong_and_missing_answers():
    assert play(Scripted("<answer>23</answer>")).failure == "wrong"
    assert play(Scripted("237")).failure == "no_answer"


def test_malformed_calls_are_answered_not_fatal():
    engine = Scripted(
        "<tool_call>{not json</tool_call>",
        '<tool_call>{"name": "search", "arguments": {}}</tool_call>',
        '<tool_call>{"name": "calculator", "arguments": {}}</tool_call>',
        "<answer>1</answer>",
    )
    ep = play(engine, max_turns=5)
    assert [c.malformed for c in ep.calls] == [True, True, True]
    assert all(c.result.startswith("Error:") for c in ep.calls)
    assert "unknown tool" in ep.calls[1].result and "expression" in ep.calls[2].result
    assert ep.failure == "malformed_tool_call"


def test_tool_error_is_counted():
    ep = play(Scripted(call("1/0"), "<answer>0</answer>"))
    assert ep.calls[0].result == "Error: division by zero" and ep.calls[0].error
    assert ep.failure == "tool_error"


def test_max_turns_and_truncation():
    ep = play(Scripted(*[call("1+1")] * 3), max_turns=2)
    assert ep.failure == "max_turns" and len(ep.calls) == 2 and not ep.correct
    ep = play(Scripted("<answer>237</answer> and then", finish="length"))
    assert ep.failure == "truncated" and not ep.correct


def test_calls_past_the_limit_are_refused_not_run(monkeypatch):
    limit = 8  # the limit the project promises; also named in the prompt (test below)
    ran = []
    monkeypatch.setattr(episode, "run_tool_call", lambda name, args, max_ops: ran.append(args) or ("1", "ok"))
    engine = Scripted("".join(call(f"{i}+1") for i in range(10_000)), "<answer>1</answer>")
    ep = play(engine)
    assert ran == [{"expression": f"{i}+1"} for i in range(limit)]
    assert len(ep.calls) == 10_000 and [c.error for c in ep.calls] == [False] * limit + [True] * (10_000 - limit)
    refused = ep.calls[limit:]
    assert all(c.result.startswith("Error:") and "\n" not in c.result and not c.malformed for c in refused)
    assert ep.record()["tool_errors"] == 10_000 - limit and ep.failure == "tool_error"
    tool_messages = [m for m in engine.seen[1][0] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["1"] * limit + [refused[0].result] * (10_000 - limit)


def test_server_parsed_calls_past_the_limit_are_answered_by_id():
    class Server(Scripted):
        async def chat(self, messages, tools, sampling):
            turn = await super().chat(messages, tools, sampling)
            if len(self.seen) == 1:
                fn = {"name": "calculator", "arguments": '{"expression": "2*3"}'}
                turn.tool_calls = [{"id": f"c{i}", "type": "function", "function": fn} for i in range(10)]
            return turn

    engine = Server("calls", "<answer>237</answer>")
    ep = play(engine)
    assert ep.correct and [c.result for c in ep.calls[:8]] == ["6"] * 8
    assert [c.error for c in ep.calls] == [False] * 8 + [True] * 2
    tool_messages = [m for m in engine.seen[1][0] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == [f"c{i}" for i in range(10)]


def test_parse_tool_calls_cases():
    assert parse_tool_calls("no calls") == []
    assert parse_tool_calls(call("2*3")) == [("calculator", {"expression": "2*3"})]
    # an unclosed block cut by the token limit, a non-object, and hostile nesting are malformed, not crashes
    for text in (
        '<tool_call>{"name": "calculator", "argum',
        "<tool_call>[1]</tool_call>",
        "<tool_call>" + "[" * 100_000,
    ):
        ((name, problem),) = parse_tool_calls(text)
        assert name is None and problem.startswith("Error: a tool call must be a JSON object")
    assert len(parse_tool_calls(call("1") + call("2"))) == 2


def test_prompts_are_fixed_and_distinct():
    assert system_prompt(False, False) != system_prompt(True, False)
    assert "<tools>" in system_prompt(True, True) and "<tools>" not in system_prompt(True, False)
    limit = f"At most {episode.MAX_CALLS_PER_TURN} tool calls per turn are run."
    assert limit in system_prompt(True, False) and limit in system_prompt(True, True)
    assert limit not in system_prompt(False, False)


def committed_transcripts() -> list[tuple[str, str]]:
    """(final assistant text, reference) of every episode in results/**/episodes.jsonl (none may be committed)."""
    out = []
    for path in sorted(ROOT.glob("results/**/episodes.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            texts = [m.get("content") or "" for m in rec["messages"] if m["role"] == "assistant"]
            out.append((texts[-1] if texts else "", rec["reference"]))
    return out


def made_up_transcripts(n: int) -> list[tuple[str, str]]:
    """Texts like the models' final turns: reasoning, boxes, tags (right, wrong, unparsable), calls, in any order."""
    rng = random.Random(0)
    parts = ["<answer>{r}</answer>", "<answer>{w}</answer>", "<answer>{r} apples</answer>", "<answer>x</answer>",
             "\\boxed{{r}}", "\\boxed{{w}}", "The answer is {r}.", "so {w}", "{a} * {b} = {r}", "1,234.",
             call("{a}*{b}"), "<answer>{r}", "Step 1: {a} + {b}.", "-{r}", "{r}/2", "$ {r}.00", ""]  # fmt: skip
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 99)
        r, w = str(a * b), str(a * b + rng.choice([-1, 1, 10]))
        text = " ".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
        for key, value in {"{a}": a, "{b}": b, "{r}": r, "{w}": w}.items():
            text = text.replace(key, str(value))
        out.append((text, r))
    return out


def test_lenient_is_never_below_strict():
    cases = committed_transcripts() + made_up_transcripts(1500)
    outcomes = set()
    for text, reference in cases:
        problem = Problem("p", "q?", reference, reference, "unknown", 1)
        for finish in ("stop", "length"):
            ep = play(Scripted(text, finish=finish), use_tool=False, problem=problem)
            rec = ep.record()
            assert rec["correct_lenient"] >= rec["correct"], text
            outcomes.add((rec["correct"], rec["correct_lenient"]))
    assert outcomes == {(False, False), (False, True), (True, True)}  # the cases reach every reading


def test_lenient_reads_boxes_and_last_numbers():
    for text, lenient in [("\\boxed{237}", True), ("The answer is 237.", True), ("<answer>x</answer> so 237", True),
                          ("237, no: 238", False), (call("79*3"), False)]:  # fmt: skip
        ep = play(Scripted(text), use_tool=False)
        assert not ep.correct and ep.correct_lenient is lenient, text
    # the lenient reading never overrides a right strict answer, and a cut turn is still read leniently
    assert play(Scripted("<answer>237</answer> not 5")).correct_lenient
    ep = play(Scripted("so \\boxed{237} and then", finish="length"))
    assert ep.failure == "truncated" and not ep.correct and ep.correct_lenient


def chained(*texts, problem=PROBLEM) -> dict:
    return play(Scripted(*texts), max_turns=6, problem=problem).record()


def test_repeated_calls_and_lone_numbers_do_not_count():
    rec = chained(call("79*3"), call(" 79 * 3 "), call("237"), call("-5"), call("(-5)"), "<answer>237</answer>")
    assert [c["counted"] for c in rec["calls"]] == [True, False, False, False, False]
    assert [c["result"] for c in rec["calls"]] == ["237", "237", "237", "-5", "-5"]
    assert rec["counted_calls"] == 1 and rec["dependent_calls"] == 1 and rec["tool_calls"] == 5


def test_a_result_used_later_or_in_the_answer_is_dependent():
    problem = Problem("p-2", "1,041 tiles, 231 set aside, the rest into 405 pallets?", "2", "(1041-231)/405",
                      "equal_sharing", 2)  # fmt: skip
    rec = chained(call("1,041 - 231"), call("810 / 405"), "<answer>2</answer>", problem=problem)
    assert rec["correct"] and [(c["counted"], c["dependent"]) for c in rec["calls"]] == [(True, True)] * 2
    assert rec["calls"][0] == {"expression": "1,041 - 231", "result": "810", "counted": True, "dependent": True}
    # the whole expression at once: one counted call, dependent through the answer only
    rec = chained(call("(1041-231)/405"), "<answer>2</answer>", problem=problem)
    assert (rec["counted_calls"], rec["dependent_calls"]) == (1, 1)
    # an unused result and thousands commas: 79*3 is not used, 1000+234 is used as "1,234"
    rec = chained(call("79*3"), call("1000+234"), call("1,234*2"), "<answer>2468</answer>")
    assert [c["dependent"] for c in rec["calls"]] == [False, True, True] and rec["dependent_calls"] == 2
    # a decimal result, used in the answer with a trailing zero
    rec = chained(call("8.27*5"), "<answer>41.350</answer>")
    assert rec["calls"][0]["result"] == "41.35" and rec["calls"][0]["dependent"]


def test_error_results_are_never_dependent():
    rec = chained(call("5/0"), call("2**999"), call("0+5"), "<answer>0</answer>")
    assert [c["result"].startswith("Error:") for c in rec["calls"]] == [True, True, False]
    assert [c["counted"] for c in rec["calls"]] == [True, True, True]
    assert [c["dependent"] for c in rec["calls"]] == [False, False, False]
    rec = chained("<tool_call>{not json</tool_call>", "<answer>1</answer>")
    assert rec["calls"] == [{"expression": None, "result": rec["calls"][0]["result"], "counted": False,
                             "dependent": False}] and rec["counted_calls"] == 0  # fmt: skip


def test_histogram_and_by_steps():
    two = Problem("p-2", "q", "2", "(1041-231)/405", "equal_sharing", 2)
    three = Problem("p-3", "q", "8", "((121/11)+36)-39", "multi_step", 3)
    records = [
        {"seed": 0} | chained(call("(1041-231)/405"), "<answer>2</answer>", problem=two),
        {"seed": 0} | chained("<answer>3</answer>", problem=two),
        {"seed": 0} | chained(call("121/11"), call("11+36"), call("47-39"), "<answer>8</answer>", problem=three),
        {"seed": 0} | chained(call("121/11+36-39"), "\\boxed{8}", problem=three),
    ]
    summary = summarize(records, [0])
    assert summary["tool_calls_histogram"] == {"0": 1, "1": 2, "2": 0, "3": 1}
    assert summary["accuracy"] == 0.5 and summary["accuracy_lenient"] == 0.75 and summary["truncated"] == 0
    assert summary["by_steps"] == {
        "2": {"n": 2, "accuracy": 0.5, "accuracy_lenient": 0.5, "mean_calls": 0.5, "mean_dependent_calls": 0.5},
        "3": {"n": 2, "accuracy": 0.5, "accuracy_lenient": 1.0, "mean_calls": 2.0, "mean_dependent_calls": 1.5},
    }
    assert chaining_line(summary) == (
        "counted tool calls per episode {0: 1, 1: 2, 2: 0, 3: 1}; mean dependent calls on 3+ step problems: 1.50 "
        "over 2 episodes"
    )


def test_accuracy_by_shape_pools_the_wordings_of_a_shape_across_sets():
    train = Problem("p-1", "q", "2", "1+1", "times", 1, "times/product/t1")
    ood = Problem("p-2", "q", "2", "1+1", "times", 1, "times/product/t6")
    other = Problem("p-3", "q", "2", "1+1", "share", 1, "share/even/t1")
    records = [{"seed": 0} | chained(call("1+1"), f"<answer>{a}</answer>", problem=p)
               for p, a in ((train, 2), (ood, 3), (other, 2), (train, 2))]  # fmt: skip
    summary = summarize(records + [{"seed": 0} | chained("<answer>2</answer>")], [0])  # no template: no shape
    assert summary["accuracy_by_shape"] == {"share/even": 1.0, "times/product": 0.6667}


def test_tool_prompt_asks_for_one_operation_per_call_with_a_dependent_example():
    prompt = system_prompt(True, False)
    assert "one operation per call" in prompt and "use that result in your next call" in prompt
    example = re.findall(r'\{"expression": "([^"]+)"\}', prompt)[1:]  # after the markup's own "12*34"
    assert example == ["5*12", "60-7"]  # the worked example: the second call uses the first one's result
    rec = chained(*[call(e) for e in example], "<answer>53</answer>")
    assert [c["result"] for c in rec["calls"]] == ["60", "53"] and rec["dependent_calls"] == 2


# d67e76b's tool prompt and calculator schema texts, copied literally: the "steps" variant must be these bytes.
STEPS_SYSTEM = (
    "You solve arithmetic word problems with the calculator tool. Do not compute in your head: for every "
    'arithmetic step, call the tool like this:\n<tool_call>\n{"name": "calculator", "arguments": {"expression": '
    '"12*34"}}\n</tool_call>\nand wait for its result. When you have the final result, reply with only that '
    "number inside answer tags, for example <answer>42</answer>. At most 8 tool calls per "
    "turn are run."
)
STEPS_SCHEMA = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": (
            "Evaluates one arithmetic expression exactly. Supports numbers, + - * / // % ** and parentheses."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "A single arithmetic expression, e.g. '(79*3) + 12.5/4'.",
                }
            },
            "required": ["expression"],
        },
    },
}


def test_steps_tool_prompt_is_d67e76bs_texts_byte_for_byte():
    text, schema, max_ops, demo = episode.TOOL_PROMPTS["steps"]
    assert max_ops is None and demo == () and text.encode() == STEPS_SYSTEM.encode()
    assert json.dumps(schema) == json.dumps(STEPS_SCHEMA)  # the same keys in the same order: the same rendering
    assert system_prompt(True, False, "steps") == STEPS_SYSTEM


def test_one_op_tool_prompt_is_todays_and_the_default():
    from calculator import TOOL_SCHEMA

    assert list(episode.TOOL_PROMPTS) == ["one-op", "steps", "basic", "demo"]
    assert episode.DEFAULT_TOOL_PROMPT == "one-op"
    text, schema, max_ops, demo = episode.TOOL_PROMPTS["one-op"]
    assert max_ops is None and demo == ()  # asked for, not enforced
    assert text == episode.SYSTEM_PROMPT_TOOL == system_prompt(True, False) and schema is TOOL_SCHEMA
    assert "Do one operation per call" in schema["function"]["description"]
    assert schema["function"]["parameters"]["properties"]["expression"]["description"] == (
        "A single arithmetic expression, e.g. '79*3', then '237 + 12.5'."
    )
    assert text != STEPS_SYSTEM and schema != episode.TOOL_PROMPTS["steps"][1]


def test_each_tool_prompt_reaches_the_messages_and_the_tools_of_a_real_episode():
    for name, (text, schema, *_) in episode.TOOL_PROMPTS.items():
        engine = Scripted(call("79*3"), "<answer>237</answer>")
        ep = asyncio.run(run_episode(engine, PROBLEM, True, 3, False, Sampling(0.0, 0, 64), name))
        assert ep.correct and ep.messages[0] == {"role": "system", "content": text}
        assert ep.record()["messages"][0]["content"] == text
        assert [seen[0]["content"] for seen, _ in engine.seen] == [text, text]  # every turn, the same system prompt
        assert [tools for _, tools in engine.seen] == [[schema], [schema]]
        # A template that ignores tools=: the schema goes into the system prompt instead, and no tools are sent.
        engine = Scripted("<answer>237</answer>")
        ep = asyncio.run(run_episode(engine, PROBLEM, True, 3, True, Sampling(0.0, 0, 64), name))
        assert ep.messages[0]["content"] == text + episode.HERMES_TOOL_PROMPT.format(tools=json.dumps(schema))
        assert engine.seen[0][1] is None
        # A no-tool episode has no tool prompt.
        ep = asyncio.run(run_episode(Scripted("<answer>237</answer>"), PROBLEM, False, 3, False, Sampling(0.0, 0, 64),
                                     name))  # fmt: skip
        assert ep.messages[0]["content"] == episode.SYSTEM_PROMPT


def test_an_unknown_tool_prompt_is_refused():
    with pytest.raises(ValueError, match="unknown tool prompt 'nope'"):
        asyncio.run(run_episode(Scripted("x"), PROBLEM, True, 3, False, Sampling(0.0, 0, 64), "nope"))


def test_basic_tool_prompt_makes_the_calculator_refuse_two_operations_and_the_chain_counts():
    problem = Problem("p-2", "Ava buys 5 boxes of 12 pens and gives away 7. How many pens?", "53", "5*12-7", "chain", 2)
    script = (call("5*12 - 7"), call("5*12"), call("60 - 7"), "<answer>53</answer>")
    ep = asyncio.run(run_episode(Scripted(*script), problem, True, 5, False, Sampling(0.0, 0, 64), "basic"))
    refused, first, second = ep.calls
    assert refused.error and not refused.malformed and refused.result.startswith("Error: one operation per call")
    assert "\n" not in refused.result and (first.result, second.result) == ("60", "53")
    rec = ep.record()
    assert ep.correct and rec["tool_errors"] == 1 and rec["counted_calls"] == 3 and rec["dependent_calls"] == 2
    assert "one operation on two numbers" in ep.messages[0]["content"]
    # The same two-operation call under the default prompt runs: one-op asks, basic enforces.
    ep = asyncio.run(run_episode(Scripted(call("5*12 - 7"), "<answer>53</answer>"), problem, True, 5, False,
                                 Sampling(0.0, 0, 64)))  # fmt: skip
    assert ep.correct and ep.calls[0].result == "53" and not ep.calls[0].error


def test_demo_tool_prompt_is_basic_after_a_worked_episode_shown_as_turns():
    basic, demo = episode.TOOL_PROMPTS["basic"], episode.TOOL_PROMPTS["demo"]
    assert demo[:3] == basic[:3] and basic.demo == ()
    # The worked episode is a real one: its calls run under the basic calculator, each uses the one before, and the
    # grader takes its answer.
    shown = [m["content"] for m in demo.demo]
    calls = [episode.run_call(*parse_tool_calls(t)[0], max_ops=1) for t in shown[1:-1:2]]
    assert [c.result for c in calls] == shown[2:-1:2] and not any(c.error or c.malformed for c in calls)
    assert [c["dependent"] for c in episode.chain(calls, "14")] == [True, True, True]
    assert shown[-1] == "<answer>14</answer>"
    problem = Problem("p-2", "Ava buys 5 boxes of 12 pens and gives away 7. How many pens?", "53", "5*12-7", "chain", 2)
    engine = Scripted(call("5*12"), call("60 - 7"), "<answer>53</answer>")
    ep = asyncio.run(run_episode(engine, problem, True, 5, False, Sampling(0.0, 0, 64), "demo"))
    first_turn = engine.seen[0][0]
    roles = ["system", "user"] + ["assistant", "tool"] * 3 + ["assistant", "user"]
    assert [m["role"] for m in first_turn] == roles
    assert first_turn[1:-1] == list(demo.demo) and first_turn[-1] == {"role": "user", "content": problem.question}
    # The demo's calls are not the episode's.
    assert ep.correct and ep.record()["dependent_calls"] == 2 and len(ep.calls) == 2
    # A no-tool episode shows no demo.
    engine = Scripted("<answer>53</answer>")
    asyncio.run(run_episode(engine, problem, False, 5, False, Sampling(0.0, 0, 64), "demo"))
    assert [m["role"] for m in engine.seen[0][0]] == ["system", "user"]
