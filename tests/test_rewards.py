"""The reward's bands, and that no accepted weights let a wrong answer tie or beat a right one."""

from hypothesis import given, settings
from hypothesis import strategies as st

import rewards
from calculator import calculate
from dataset import Problem
from episode import Episode, ToolCall

PROBLEM = Problem("p-1", "Ava has 79 boxes of 3 pens. How many pens?", "237", "79*3", "times_as_many", 1)


def episode(answer, malformed=0, good_calls=0) -> Episode:
    calls = [ToolCall(None, None, "Error: bad", True, False)] * malformed
    calls += [ToolCall("calculator", {"expression": "79*3"}, "237", False, False)] * good_calls
    correct = answer == "237"
    return Episode(PROBLEM, True, [], calls=calls, answer=answer, correct=correct, failure=None if correct else "wrong")


def test_default_reward_is_the_right_answer_alone():
    w = rewards.Weights()
    assert rewards.reward(episode("237"), w) == rewards.reward(episode("237", malformed=100), w) == 1.0
    assert rewards.reward(episode("23"), w) == 0.0  # no format bonus by default
    assert rewards.reward(episode(None, malformed=100), w) == 0.0  # no malformed penalty by default


def test_malformed_penalty_bands():
    w = rewards.Weights(malformed_penalty=0.05)
    assert abs(rewards.reward(episode("237", malformed=2), w) - 0.9) < 1e-9
    assert abs(rewards.reward(episode("237", malformed=100), w) - 0.8) < 1e-9  # the penalty is capped
    assert abs(rewards.reward(episode(None, malformed=100), w) + 0.2) < 1e-9


def test_format_bonus_bands():
    w = rewards.Weights(format_reward=0.05)
    assert rewards.reward(episode("237"), w) == 1.05
    assert rewards.reward(episode("23"), w) == 0.05
    assert rewards.reward(episode(None), w) == 0.0
    assert abs(rewards.reward(episode("two"), w) - 0.0) < 1e-9  # not a number: no format bonus


def test_tool_use_is_a_metric_not_a_reward():
    w = rewards.Weights()
    assert rewards.reward(episode("237", good_calls=3), w) == rewards.reward(episode("237"), w)
    assert rewards.metrics(episode("237", good_calls=3))["tool_used"] == 1.0


def test_chaining_is_logged_not_rewarded():
    chain = [ToolCall("calculator", {"expression": "79*3"}, "237", False, False),
             ToolCall("calculator", {"expression": "237-7"}, "230", False, False)]  # fmt: skip
    ep = Episode(PROBLEM, True, [], calls=chain, answer="230", correct=True)
    w = rewards.Weights()
    assert rewards.reward(ep, w) == rewards.reward(episode("237", good_calls=1), w) == 1.0
    m = rewards.metrics(ep)
    assert (m["counted_calls"], m["dependent_calls"]) == (2.0, 2.0)
    row = rewards.batch_metrics([ep, episode("237", good_calls=3)], w)  # 3 repeats: 1 counted, dependent
    assert (row["counted_calls_mean"], row["dependent_calls_mean"]) == (1.5, 1.5)


def test_components_sum_to_the_reward():
    ep, w = episode("237", malformed=2), rewards.Weights(0.1, 0.03, 0.5)
    assert abs(sum(rewards.components(ep, w).values()) - rewards.reward(ep, w)) < 1e-12


def test_bad_weights_are_refused():
    assert rewards.check_weights(rewards.Weights()) is None
    assert "malformed-cap" in rewards.check_weights(rewards.Weights(malformed_cap=1.0))
    assert ">= 0" in rewards.check_weights(rewards.Weights(format_reward=-0.1))


def test_bad_progress_weights_are_refused():
    assert "progress-reward" in rewards.check_weights(rewards.Weights(progress_reward=0.8))  # 0.8 + cap 0.2
    assert rewards.check_weights(rewards.Weights(progress_reward=0.7)) is None
    assert ">= 0" in rewards.check_weights(rewards.Weights(progress_reward=-0.1))


CHAIN = Problem("p-2", "Ava buys 5 boxes of 12 pens and gives away 7. How many pens does she keep?", "53",
                "(5*12)-7", "chain", 2)  # fmt: skip


def calls_of(*expressions, max_ops=1) -> list[ToolCall]:
    """Calls answered by the real calculator (one operation per call, as under --tool-prompt basic)."""
    out = []
    for expression in expressions:
        result = calculate(expression, max_ops=max_ops)
        out.append(ToolCall("calculator", {"expression": expression}, result, False, result.startswith("Error:")))
    return out


def chain_episode(answer, calls) -> Episode:
    return Episode(CHAIN, True, [], calls=calls, answer=answer, correct=answer == "53")


def test_progress_pays_each_step_value_a_call_returned():
    w = rewards.Weights(progress_reward=0.4)
    assert rewards.reward(chain_episode("53", calls_of("5*12", "60-7")), w) == 1.4
    assert rewards.reward(chain_episode("53", calls_of("5*12-7", max_ops=None)), w) == 1.2  # one call: the last step
    assert rewards.reward(chain_episode("50", calls_of("5*12", "60-10")), w) == 0.2  # first step right, then wrong
    assert rewards.reward(chain_episode("53", calls_of("12*5", "60 - 7")), w) == 1.4  # any order and spacing


def test_progress_ignores_refused_echoed_and_repeated_calls():
    refused = calls_of("5*12-7")  # two operations: "Error: one operation per call ..."
    assert refused[0].error and rewards.progress(chain_episode("53", refused)) == 0
    assert rewards.progress(chain_episode("53", calls_of("60", "53"))) == 0  # lone numbers: nothing computed
    assert rewards.progress(chain_episode("53", calls_of("5*12", "5*12"))) == 0.5
    assert rewards.progress(chain_episode("53", [])) == 0
    external = Problem.from_json({"question": "q?", "answer": "53"})
    no_expression = Episode(external, True, [], calls=calls_of("60-7"), answer="53", correct=True)
    assert rewards.progress(no_expression) == 0  # external problems carry no expression: no progress, no crash


def test_progress_needs_the_exact_value():
    third = Problem("p-3", "10 pens shared by 3, times 3?", "10", "(10/3)*3", "share", 2)
    calls = calls_of("10/3", "3.3333333333*3")  # the calculator rounds 10/3; the step's exact value is not that
    assert rewards.progress(Episode(third, True, [], calls=calls, answer="10", correct=True)) == 0.5  # 10/3 only


weight = st.floats(0, 2, allow_nan=False)


@settings(deadline=None)
@given(weight, weight, weight, weight, st.integers(0, 20), st.integers(0, 20),
       st.sampled_from(["23", None, "x", "236.5"]))  # fmt: skip
def test_wrong_never_outscores_right(fmt, penalty, cap, progress, bad_right, bad_wrong, wrong_answer):
    w = rewards.Weights(fmt, penalty, cap, progress)
    right = rewards.reward(episode("237", malformed=bad_right), w)  # no progress: the answer without the tool
    wrong = rewards.reward(episode(wrong_answer, malformed=bad_wrong, good_calls=1), w)  # full progress, wrong answer
    if rewards.check_weights(w) is None:
        assert right > wrong
    else:  # the one reason to refuse non-negative weights: cap + progress reaching the correct-answer reward
        assert cap + progress >= rewards.CORRECT


def test_a_cap_of_one_would_let_wrong_tie_right():
    w = rewards.Weights(format_reward=0.05, malformed_penalty=0.5, malformed_cap=1.0)
    assert rewards.reward(episode("237", malformed=2), w) <= rewards.reward(episode("23"), w) + 1e-9
