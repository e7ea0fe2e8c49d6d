"""The art backend's trajectories, against the real `art` types: a real episode played over a scripted server."""

import asyncio
import json
from types import SimpleNamespace

import transformers.masking_utils as masking_utils
from openai.types.chat import ChatCompletion
from openai.types.chat.chat_completion import Choice

import art_backend
import rewards
from calculator import TOOL_SCHEMA
from dataset import Problem
from episode import run_episode

# `import art` swaps a transformers function for one written against another transformers version, which breaks
# every later forward pass in this process (tests/test_train.py's); keep the original.
_original = masking_utils._preprocess_mask_arguments
import art  # noqa: E402

masking_utils._preprocess_mask_arguments = _original

PROBLEM = Problem("p-1", "Ava has 79 boxes of 3 pens. How many pens?", "237", "79*3", "times_as_many", 1)
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "calculator", "arguments": json.dumps({"expression": "79*3"})}}  # fmt: skip


def completion(message: dict, finish="stop") -> ChatCompletion:
    logprobs = {"content": [{"token": "token_id:42", "logprob": -0.1, "bytes": [52], "top_logprobs": []}]}
    return ChatCompletion.model_validate({
        "id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": finish, "message": message, "logprobs": logprobs}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57},
    })  # fmt: skip


class ScriptedServer:
    """Stands in for ART's OpenAI client: replies in order (as vLLM's hermes parser would) and records requests."""

    def __init__(self, *messages):
        self.replies, self.requests = [completion(m) for m in messages], []
        self.chat = self.completions = self

    async def create(self, **kwargs):
        self.requests.append(kwargs)
        return self.replies.pop(0)


def registered_model(server):
    return SimpleNamespace(inference_base_url="http://unused/v1", get_inference_name=lambda: "calc@3",
                           openai_client=lambda: server)  # fmt: skip


def test_trajectory_of_a_real_episode_validates():
    server = ScriptedServer(
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "assistant", "content": "<answer>237</answer>"},
    )
    engine = art_backend.ARTEngine(registered_model(server), max_new_tokens=64, temperature=1.0, concurrency=2)
    tools = art_backend.request_tools(tools_in_prompt=False)
    ep = asyncio.run(run_episode(engine, PROBLEM, True, 3, tools_in_prompt=False))
    assert ep.correct and [c.result for c in ep.calls] == ["237"]
    assert all(r["logprobs"] is True and r["tools"] == tools and r["model"] == "calc@3" for r in server.requests)

    weights = rewards.Weights()
    traj = art_backend.trajectory(ep, tools, weights)
    kinds = [type(m).__name__ if isinstance(m, Choice) else m["role"] for m in traj.messages_and_choices]
    assert kinds == ["system", "user", "Choice", "tool", "Choice"]
    assert traj.messages_and_choices[2] is ep.turns[0].raw and traj.messages_and_choices[4] is ep.turns[1].raw
    assert traj.messages_and_choices[3] == {"role": "tool", "content": "237", "tool_call_id": "call_1"}
    assert traj.tools == [TOOL_SCHEMA] and traj.reward == rewards.reward(ep, weights) == 1.0
    assert traj.metrics["correct"] is True and traj.metrics["tool_used"] == 1.0
    # What ART's tokenizer sees: the assistant turns as messages again, the tool call kept.
    messages = traj.messages()
    assert messages[2]["tool_calls"][0]["function"]["name"] == "calculator"
    assert messages[4]["content"] == "<answer>237</answer>"
    again = art.Trajectory.model_validate(traj.model_dump())
    assert again.reward == traj.reward and len(again.messages_and_choices) == 5
    group = art.TrajectoryGroup([traj, traj])
    assert len(group.trajectories) == 2 and not group.exceptions


def test_tools_in_prompt_means_no_tools_field():
    assert art_backend.request_tools(tools_in_prompt=True) is None
