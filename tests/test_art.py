"""The art backend against the real `art` types: a real episode played over a scripted server, and simple_train.py's
loop over the ART updater with a stand-in backend. ART 0.5.23, the release the GPU machine runs, needs Python 3.12;
these tests run on CI's Python 3.11 against the newest ART that installs there (0.5.18, requirements.txt)."""

import asyncio
import json
from types import SimpleNamespace

import pytest
import transformers.masking_utils as masking_utils
from conftest import assert_one_line_error, run_script
from openai.types.chat import ChatCompletion
from openai.types.chat.chat_completion import Choice

import dataset
import rewards
import runs
import simple_train
from dataset import Problem
from engines import art as art_backend
from episode import TOOL_PROMPTS, Sampling, run_episode

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


@pytest.mark.parametrize("prompt", list(TOOL_PROMPTS))
def test_trajectory_of_a_real_episode_validates(prompt):
    server = ScriptedServer(
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "assistant", "content": "<answer>237</answer>"},
    )
    engine = art_backend.ARTEngine(registered_model(server), concurrency=2)
    tools = art_backend.request_tools(False, prompt)
    ep = asyncio.run(run_episode(engine, PROBLEM, True, 3, False, Sampling(1.0, 0, 64), prompt))
    assert ep.correct and [c.result for c in ep.calls] == ["237"]
    assert all(r["logprobs"] is True and r["tools"] == tools and r["model"] == "calc@3" for r in server.requests)

    weights = rewards.Weights()
    traj = art_backend.trajectory(ep, tools, weights)
    kinds = [type(m).__name__ if isinstance(m, Choice) else m["role"] for m in traj.messages_and_choices]
    demo = list(TOOL_PROMPTS[prompt].demo)  # the demo's turns stay messages: ART trains on Choices alone
    assert kinds == ["system", *[m["role"] for m in demo], "user", "Choice", "tool", "Choice"]
    assert traj.messages_and_choices[1 : 1 + len(demo)] == demo
    played = traj.messages_and_choices[1 + len(demo) :]
    assert played[1] is ep.turns[0].raw and played[3] is ep.turns[1].raw
    assert played[2] == {"role": "tool", "content": "237", "tool_call_id": "call_1"}
    assert traj.tools == [TOOL_PROMPTS[prompt].schema] and traj.reward == rewards.reward(ep, weights) == 1.0
    assert traj.metrics["correct"] is True and traj.metrics["tool_used"] == 1.0
    # What ART's tokenizer sees: the assistant turns as messages again, the tool call kept.
    messages = traj.messages()[len(demo) :]
    assert messages[2]["tool_calls"][0]["function"]["name"] == "calculator"
    assert messages[4]["content"] == "<answer>237</answer>"
    again = art.Trajectory.model_validate(traj.model_dump())
    assert again.reward == traj.reward and len(again.messages_and_choices) == 5 + len(demo)
    group = art.TrajectoryGroup([traj, traj])
    assert len(group.trajectories) == 2 and not group.exceptions


def test_tools_in_prompt_means_no_tools_field():
    assert all(art_backend.request_tools(True, prompt) is None for prompt in TOOL_PROMPTS)


class Replier:
    """A server that answers every request: a tool call after the question, an answer after the tool result."""

    def __init__(self):
        self.requests, self.chat, self.completions = [], self, self

    async def create(self, **kwargs):
        first = kwargs["messages"][-1]["role"] == "user"
        self.requests.append(kwargs | {"first_turn": first})
        return completion({"role": "assistant", "content": "", "tool_calls": [CALL]} if first else
                          {"role": "assistant", "content": "<answer>237</answer>"})  # fmt: skip


class StandInModel:
    """A registered `art.TrainableModel` as the loop sees it, at ART step 10 (a run ART resumes)."""

    def __init__(self, server):
        self.server, self.step, self.logged = server, 10, []
        self.inference_base_url = "http://unused/v1"

    def get_inference_name(self):
        return f"calc@{self.step}"

    def openai_client(self):
        return self.server

    async def get_step(self):
        return self.step

    async def log(self, groups, metrics, step, split):
        self.logged.append(step)


class RecordingBackend:
    """Stands in for ART's LocalBackend: records what `train` receives; each call is one ART step."""

    def __init__(self):
        self.calls, self.closed = [], False

    async def train(self, model, groups, **kwargs):
        self.calls.append((list(groups), kwargs))
        model.step += 1
        return SimpleNamespace(step=model.step, metrics={"loss": 0.25, "grad_norm": 1.5}, checkpoint_path="/ckpt")

    async def close(self):
        self.closed = True


def test_the_training_loop_trains_through_art_and_adopts_its_step(tmp_path):
    server, backend = Replier(), RecordingBackend()
    model = StandInModel(server)
    args = simple_train.build_parser().parse_args(
        [
            "--steps",
            "12",
            "--questions-per-step",
            "2",
            "--group-size",
            "3",
            "--eval-every",
            "1",
            "--eval-n",
            "2",
            "--eval-sets",
            "test",
            "--max-turns",
            "2",
            "--lr",
            "1e-5",
            "--tool-prompt",
            "steps",
            "--out",
            str(tmp_path),
        ]  # fmt: skip
    )
    weights = rewards.Weights()
    updater = art_backend.ARTUpdater(model, backend, args, weights, tools_in_prompt=False)
    # The run ART resumes logged its steps up to 10 (and an 11th it did not checkpoint): the stream goes on at 23.
    for step, pos in ((10, 23), (11, 99)):
        runs.append_metrics(tmp_path, {"step": step, "data_pos": pos, "train_acc": 0.5, "reward_mean": 0.5,
                                       "reward_std": 0.1})  # fmt: skip
    eval_sets = simple_train.load_eval_sets(simple_train.build_parser(), args)

    async def run():
        await updater.resume()
        return await simple_train.train(args, updater, tmp_path, weights, eval_sets)

    summary = asyncio.run(run())
    steps, steps_schema = TOOL_PROMPTS["steps"][:2]
    assert server.requests and all(r["tools"] == [steps_schema] for r in server.requests)  # training and evals
    assert all(r["messages"][0]["content"] == steps for r in server.requests)
    assert len(backend.calls) == 2  # ART held 10 steps: the loop did steps 11 and 12
    for groups, kwargs in backend.calls:
        assert len(groups) == 2 and all(isinstance(g, art.TrajectoryGroup) for g in groups)
        trajectories = [t for g in groups for t in g.trajectories]
        assert len(trajectories) == 6 and all(isinstance(t, art.Trajectory) for t in trajectories)
        assert all(isinstance(t.messages_and_choices[2], Choice) for t in trajectories)
        # --tool-prompt steps: its system prompt and schema in every trajectory, as in every request sent
        assert all(t.tools == [steps_schema] and t.messages_and_choices[0]["content"] == steps for t in trajectories)
        assert kwargs["learning_rate"] == 1e-5 and kwargs["loss_fn"] == "ppo"
    rows = runs.read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [10, 11, 12] and model.logged == [11, 12]
    # Every episode gives the same answer, so no group has a signal: each step's 2 groups are replaced once.
    assert [(r["data_pos"], r["refilled"], r["skipped_groups"]) for r in rows[1:]] == [(27, 2, 2), (31, 2, 2)]
    stream = [p.id for p in dataset.generate("train", 31, args.seed)]
    trained = [[t.metadata["problem_id"] for t in g.trajectories][0] for groups, _ in backend.calls for g in groups]
    assert trained == stream[25:27] + stream[29:31]  # the refills of 23-24 and of 27-28
    assert summary["step"] == 12 and summary["adapter"] == "/ckpt" and summary["n_episodes"] == 2
    assert (tmp_path / "rollouts" / "step-0011.jsonl").exists()
    assert (tmp_path / "eval" / "test" / "step-0012.jsonl").exists()
    assert not (tmp_path / "eval" / "test" / "step-0000.jsonl").exists()  # step 0 was logged by the first process
    # Every request asked for the policy's step then, and the episodes of a group drew with their own seeds.
    names = [r["model"] for r in server.requests]
    assert names[0] == "calc@10" and names[-1] == "calc@12" and "calc@11" in names
    first_turns = [r["seed"] for r in server.requests if r["first_turn"]][:12]  # step 11's episodes, refills too
    assert len(set(first_turns)) == len(first_turns) == 12


def dedicated(*flags):
    return simple_train.build_parser().parse_args(["--backend", "art", *flags])


def test_dedicated_mode_gpu_ids_reach_art_s_config_and_pass_its_validation():
    from art.dev.validate import is_dedicated_mode, validate_dedicated_config

    shared = art_backend.internal_config(dedicated(), device_count=1)
    assert not is_dedicated_mode(shared) and shared["peft_args"]["r"] == 16  # unset: one GPU shared, as before
    config = art_backend.internal_config(dedicated("--trainer-gpu-ids", "0", "--inference-gpu-ids", "1"), 2)
    assert is_dedicated_mode(config) and (config["trainer_gpu_ids"], config["inference_gpu_ids"]) == ([0], [1])
    validate_dedicated_config(config)  # ART's own check, on what ARTUpdater.start registers
    assert art.TrainableModel(name="m", project="p", base_model="b", _internal_config=config)


@pytest.mark.parametrize(
    "flags, devices, message",
    [
        (["--trainer-gpu-ids", "0"], 2, "must both be set or both unset"),
        (["--trainer-gpu-ids", "0", "--inference-gpu-ids", "0"], 2, "must not overlap"),
        (["--trainer-gpu-ids", "1", "--inference-gpu-ids", "0"], 2, "must start at GPU 0"),
        (["--trainer-gpu-ids", "0", "--inference-gpu-ids", "1"], 1, "name GPU 1, but this machine has 1 GPU"),
        (["--trainer-gpu-ids", "0", "1", "--inference-gpu-ids", "2"], 2, "name GPU 2, but this machine has 2 GPUs"),
    ],
)
def test_gpu_ids_art_or_the_machine_cannot_take_are_refused_with_one_line(flags, devices, message):
    with pytest.raises(art_backend.EngineError, match=message) as refused:
        art_backend.internal_config(dedicated(*flags), device_count=devices)
    assert "\n" not in str(refused.value)


def test_gpu_ids_without_the_art_backend_are_refused(tmp_path):
    result = run_script("simple_train.py", "--backend", "local", "--trainer-gpu-ids", "0", "--inference-gpu-ids", "1",
                        "--eval-sets", "test", "--out", tmp_path / "run", timeout=120)  # fmt: skip
    assert_one_line_error(result, "place ART's trainer and vLLM: use --backend art")
