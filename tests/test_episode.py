"""The episode loop's rules, driven by scripted model turns (the real models run in test_cli.py)."""

import asyncio
import json

import episode
from dataset import Problem
from episode import Sampling, Turn, parse_tool_calls, run_episode, system_prompt

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


def play(engine, use_tool=True, max_turns=3):
    return asyncio.run(run_episode(engine, PROBLEM, use_tool, max_turns, False, Sampling(0.0, 0, 64)))


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
    monkeypatch.setattr(episode, "run_tool_call", lambda name, args: ran.append(args) or ("1", "ok"))
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
