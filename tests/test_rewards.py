"""The reward's bands, and that no accepted weights let a wrong answer tie or beat a right one."""

from hypothesis import given, settings
from hypothesis import strategies as st

import rewards
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


weight = st.floats(0, 2, allow_nan=False)


@settings(deadline=None)
@given(weight, weight, weight, st.integers(0, 20), st.integers(0, 20), st.sampled_from(["23", None, "x", "236.5"]))
def test_wrong_never_outscores_right(fmt, penalty, cap, bad_right, bad_wrong, wrong_answer):
    w = rewards.Weights(fmt, penalty, cap)
    right = rewards.reward(episode("237", malformed=bad_right), w)
    wrong = rewards.reward(episode(wrong_answer, malformed=bad_wrong), w)
    if rewards.check_weights(w) is None:
        assert right > wrong
    else:  # the one reason to refuse non-negative weights: a cap that reaches the correct-answer reward
        assert cap >= rewards.CORRECT


def test_a_cap_of_one_would_let_wrong_tie_right():
    w = rewards.Weights(format_reward=0.05, malformed_penalty=0.5, malformed_cap=1.0)
    assert rewards.reward(episode("237", malformed=2), w) <= rewards.reward(episode("23"), w) + 1e-9
