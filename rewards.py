"""The one reward for training: a pure function of a graded episode (episode.py) and a few weights.

    reward = correct + format_reward * has_number - min(malformed_penalty * malformed_calls, malformed_cap)
             + progress_reward * progress

Bands (defaults: format 0, malformed 0 per call, progress 0; with a penalty p, capped at 0.2):
  right answer: [1 + format - cap, 1 + format + progress_reward]   -> 1.0   (with p: [0.8, 1.0])
  wrong answer: [-cap, format + progress_reward]                   -> 0.0   (with p: [-0.2, 0.0])
The shaping terms are off by default, so the reward is the right answer alone. With a format bonus of 0.05, one of
three Qwen2.5-Coder-0.5B seeds learned to skip the tool and answer at once (a sure bonus while its tool episodes were
rarely right) and never recovered. With a malformed penalty of 0.05 (the default until 2026-12-02), tool use
collapsed from about 35% of episodes to about 0 within 2-3 steps: while almost no episode is right, the penalty is
the only difference inside most groups, and calling no tool is the surest way to avoid it. Both ablations are in
RESULTS.md.
`progress` is the share of the problem's steps (dataset.step_values of its expression) whose exact value some call
returned: a chain of right one-operation calls earns it step by step, which the answer alone pays only at the end
(under the basic calculator GRPO almost never sampled a whole right chain to reinforce; RESULTS.md, exploration 3).
A right answer always holds a parsable number, so a wrong one can only tie or outscore it if cap + progress weight
reaches the correct-answer weight; `check_weights` refuses such weights. Tool use itself is logged, never rewarded.
"""

from dataclasses import dataclass
from functools import lru_cache

from calculator import format_result
from dataset import step_values
from episode import Episode, chain
from grading import parse_number

CORRECT = 1.0  # the main term: exact final answer, graded by grading.is_correct in the episode loop


@dataclass(frozen=True)
class Weights:
    format_reward: float = 0.0  # the last <answer> holds one parsable number
    malformed_penalty: float = 0.0  # per malformed tool call (bad JSON, unknown tool, missing argument)
    malformed_cap: float = 0.2  # the total malformed penalty never exceeds this
    progress_reward: float = 0.0  # times the share of the problem's step values that calls returned


def check_weights(w: Weights) -> str | None:
    """A one-line complaint about weights that could let a wrong answer tie or beat a right one, else None."""
    if min(w.format_reward, w.malformed_penalty, w.malformed_cap, w.progress_reward) < 0:
        return "reward weights must be >= 0"
    # worst right (CORRECT + format - cap) above best wrong (format + progress): the format bonus is on both sides.
    if not w.malformed_cap + w.progress_reward < CORRECT:
        return (
            f"--malformed-cap {w.malformed_cap} must stay below the correct-answer reward {CORRECT} minus "
            f"--progress-reward {w.progress_reward}"
        )
    return None


@lru_cache(maxsize=100_000)
def _step_results(expression: str) -> frozenset[str]:
    """The calculator's text of each step value of a problem's expression (none for a problem without one)."""
    try:
        return frozenset(format_result(v) for v in step_values(expression)) if expression else frozenset()
    except ValueError:
        return frozenset()


def progress(ep: Episode) -> float:
    """The share of the problem's step values returned by counted calls (an operator, no repeat: episode.chain), the
    results compared as the calculator's own exact text: "60" from "5*12" matches the step 5*12, a lone "60" echoed
    through the tool does not count, and nothing rounded passes for an exact value."""
    wanted = _step_results(ep.problem.expression)
    if not wanted:
        return 0.0
    got = {c["result"].strip() for c in chain(ep.calls, ep.answer) if c["counted"]}
    return len(wanted & got) / len(wanted)


def components(ep: Episode, w: Weights) -> dict[str, float]:
    """Each reward term's contribution; their sum is the reward."""
    malformed = sum(c.malformed for c in ep.calls)
    return {
        "correct": CORRECT * ep.correct,
        "format": w.format_reward * (parse_number(ep.answer) is not None),
        "malformed": -min(w.malformed_penalty * malformed, w.malformed_cap),
        "progress": w.progress_reward * progress(ep),
    }


def reward(ep: Episode, w: Weights) -> float:
    return sum(components(ep, w).values())


def metrics(ep: Episode) -> dict[str, float]:
    """Logged, not rewarded."""
    calls = chain(ep.calls, ep.answer)
    return {
        "tool_used": float(len(ep.calls) > 0),
        "counted_calls": float(sum(c["counted"] for c in calls)),
        "dependent_calls": float(sum(c["dependent"] for c in calls)),
        "malformed": float(any(c.malformed for c in ep.calls)),
        "truncated": float(ep.failure == "truncated"),
    }


def batch_metrics(episodes: list[Episode], w: Weights) -> dict:
    """A training step's means over its episodes: reward (and its std), each reward term, accuracy, the logged
    metrics as rates, and the tokens generated."""
    comps = [components(ep, w) for ep in episodes]
    values = [sum(c.values()) for c in comps]
    mean = sum(values) / len(values)
    row = {
        "reward_mean": round(mean, 4),
        "reward_std": round((sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5, 4),
        "train_acc": round(sum(ep.correct for ep in episodes) / len(episodes), 4),
        "tokens": sum(t.completion_tokens for ep in episodes for t in ep.turns),
    }
    names = {"tool_used": "tool_rate", "malformed": "malformed_rate", "truncated": "truncated_rate",
             "counted_calls": "counted_calls_mean", "dependent_calls": "dependent_calls_mean"}  # fmt: skip
    logged = [metrics(ep) for ep in episodes]
    for key, name in names.items():
        row[name] = sum(m[key] for m in logged) / len(episodes)
    for key in comps[0]:
        row[f"reward_{key}"] = round(sum(c[key] for c in comps) / len(comps), 4)
    return row
