"""The `art` backend of simple_train.py (CUDA): vLLM rollouts and Unsloth LoRA GRPO updates through OpenPipe ART.

Rollouts are the shared episode loop (`episode.run_episode`) over ART's OpenAI-compatible client. Every assistant
turn is kept as the `Choice` the server returned, with its token logprobs (ART trains on the sampled tokens, not on
re-tokenized text), and every trajectory carries the tools its requests used. Rewards, metrics and the summary are
the local backend's; checkpoints and resume are ART's own, under OUT/art, and so is the step number (written
against openpipe-art 0.5.18).
"""

import rewards
from engines import EngineError
from engines.models import load_tokenizer, resolve_model
from engines.server import OpenAIEngine
from episode import Episode, template_ignores_tools, tools_of


class _AskLogprobs:
    """An AsyncOpenAI client whose chat completions always return token logprobs (ART refuses choices without)."""

    def __init__(self, client):
        self._client, self.chat, self.completions = client, self, self

    async def create(self, **kwargs):
        return await self._client.chat.completions.create(**kwargs, logprobs=True)


class ARTEngine(OpenAIEngine):
    """engines.server.OpenAIEngine on a registered `art.TrainableModel`: every request asks for the policy's current
    step (`get_inference_name`), and each `Choice` is kept in `Turn.raw`."""

    def __init__(self, model, *, concurrency: int):
        super().__init__(model.inference_base_url, model.get_inference_name(), concurrency=concurrency)
        self.art_model = model
        self.client = _AskLogprobs(model.openai_client())

    def model_name(self) -> str:
        return self.art_model.get_inference_name()


def request_tools(tools_in_prompt: bool, prompt: str) -> list[dict] | None:
    """The `tools=` that run_episode sends with a tool episode of the tool prompt `prompt` (episode.TOOL_PROMPTS;
    None when the system prompt describes the tool)."""
    return None if tools_in_prompt else tools_of(prompt)


def trajectory(ep: Episode, tools: list[dict] | None, weights: rewards.Weights):
    """An `art.Trajectory` of a finished episode: its messages, with each assistant turn as the server's Choice (ART
    trains on those alone; a tool prompt's demo turns, before the question, stay messages)."""
    import art
    from openai.types.chat.chat_completion import Choice

    assistant = [i for i, m in enumerate(ep.messages) if m["role"] == "assistant"]
    choice_at = dict(zip(assistant[len(assistant) - len(ep.turns) :], (turn.raw for turn in ep.turns), strict=True))
    messages_and_choices = [choice_at.get(i, m) for i, m in enumerate(ep.messages)]
    if not all(isinstance(c, Choice) for c in (turn.raw for turn in ep.turns)):
        raise ValueError("an ART trajectory needs every assistant turn as the server's Choice (Turn.raw)")
    parts = {f"reward_{k}": v for k, v in rewards.components(ep, weights).items()}
    return art.Trajectory(
        messages_and_choices=messages_and_choices,
        tools=tools,
        reward=rewards.reward(ep, weights),
        metrics={"correct": ep.correct, "tool_calls": len(ep.calls)} | parts | rewards.metrics(ep),
        metadata={"problem_id": ep.problem.id, "failure": ep.failure},
    )


def internal_config(args, device_count: int):
    """ART's model config: the LoRA of --lora-*, and with --trainer-gpu-ids and --inference-gpu-ids ART's dedicated
    mode (training and vLLM on GPUs of their own, no sleeping and waking between them). Checked by ART's own
    validation and against this machine's `device_count` GPUs; raises EngineError with one line."""
    import art
    from art.dev.validate import validate_dedicated_config

    config = art.dev.InternalModelConfig(
        init_args={"max_seq_length": 8192},
        peft_args={"r": args.lora_r, "lora_alpha": args.lora_alpha, "target_modules": args.lora_targets},
    )
    gpus = {"trainer_gpu_ids": args.trainer_gpu_ids, "inference_gpu_ids": args.inference_gpu_ids}
    config |= {k: v for k, v in gpus.items() if v is not None}
    try:
        validate_dedicated_config(config)
    except ValueError as e:
        raise EngineError(f"ART's dedicated mode refuses --trainer-gpu-ids / --inference-gpu-ids: {e}") from None
    named = [i for ids in gpus.values() for i in ids or []]
    if named and max(named) >= device_count:
        raise EngineError(f"--trainer-gpu-ids / --inference-gpu-ids name GPU {max(named)}, but this machine has "
                          f"{device_count} GPU{'s' * (device_count != 1)}")  # fmt: skip
    return config


class ARTUpdater:
    """Trains through ART's backend (`LocalBackend`: vLLM for the rollouts, Unsloth for the updates); `step` is ART's
    own step number, which ART restores from OUT/art on a rerun."""

    def __init__(self, model, backend, args, weights: rewards.Weights, tools_in_prompt: bool, model_sha256=None):
        self.model, self.backend, self.args, self.weights = model, backend, args, weights
        self.tools_in_prompt, self.model_sha256 = tools_in_prompt, model_sha256
        self.tools = request_tools(tools_in_prompt, args.tool_prompt)  # what the episodes of --tool-prompt sent
        self.engine = ARTEngine(model, concurrency=args.batch_size)
        self.step, self.checkpoint = 0, None

    @classmethod
    async def start(cls, args, out, weights: rewards.Weights) -> "ARTUpdater":
        """Register a LoRA of `--model` with a LocalBackend under OUT/art and read the step it holds."""
        import art
        import torch
        from art.local import LocalBackend

        config = internal_config(args, torch.cuda.device_count())
        resolved = resolve_model(args.model)
        model = art.TrainableModel(
            name=f"train-{resolved.name}", project="calc-rl", base_model=resolved.path, _internal_config=config
        )
        backend = LocalBackend(path=str(out / "art"))
        await model.register(backend)
        updater = cls(model, backend, args, weights, template_ignores_tools(load_tokenizer(resolved)), resolved.sha256)
        await updater.resume()
        return updater

    async def resume(self) -> None:
        self.step = await self.model.get_step()

    async def update(self, groups: list[list[Episode]], scores: list[list[float]]) -> dict:
        """ART trains on the groups as trajectories (it skips those without a signal itself)."""
        import art

        groups_ = [art.TrajectoryGroup([trajectory(ep, self.tools, self.weights) for ep in g]) for g in groups]
        a = self.args
        result = await self.backend.train(
            self.model, groups_, learning_rate=a.lr, loss_fn="ppo", epsilon=a.clip, scale_rewards=a.scale_rewards
        )
        await self.model.log(groups_, metrics=result.metrics, step=result.step, split="train")
        self.step, self.checkpoint = result.step, result.checkpoint_path
        m = result.metrics
        return {"step": result.step, "loss": m.get("loss"), "grad_norm": m.get("grad_norm"), "train_tokens": None}

    def save(self, step: int) -> str | None:
        """ART checkpoints in `train` itself; the adapter of the last step."""
        return self.checkpoint

    async def close(self) -> None:
        await self.backend.close()
