"""The `art` backend of simple_train.py (CUDA): vLLM rollouts and Unsloth LoRA GRPO updates through OpenPipe ART.

Rollouts are the shared episode loop (`episode.run_episode`) over ART's OpenAI-compatible client. Every assistant
turn is kept as the `Choice` the server returned, with its token logprobs (ART trains on the sampled tokens, not on
re-tokenized text), and every trajectory carries the tools its requests used. Rewards, metrics and the summary are
the local backend's; checkpoints and resume are ART's own, under OUT/art (written against openpipe-art 0.5.18).
"""

import asyncio
import time
from pathlib import Path

import grpo
import rewards
import training
from calculator import TOOL_SCHEMA
from engines import OpenAIEngine
from episode import Episode


class _AskLogprobs:
    """An AsyncOpenAI client whose chat completions always return token logprobs (ART refuses choices without)."""

    def __init__(self, client):
        self._client, self.chat, self.completions = client, self, self

    async def create(self, **kwargs):
        return await self._client.chat.completions.create(**kwargs, logprobs=True)


class ARTEngine(OpenAIEngine):
    """engines.OpenAIEngine on a registered `art.TrainableModel`: it keeps each `Choice` in `Turn.raw`."""

    def __init__(self, model, *, max_new_tokens: int, temperature: float, concurrency: int, seed: int = 0):
        super().__init__(
            model.inference_base_url,
            model.get_inference_name(),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            concurrency=concurrency,
            seed=seed,
        )
        self.client = _AskLogprobs(model.openai_client())


def request_tools(tools_in_prompt: bool) -> list[dict] | None:
    """The `tools=` that run_episode sends with a tool episode (None when the system prompt describes the tool)."""
    return None if tools_in_prompt else [TOOL_SCHEMA]


def trajectory(ep: Episode, tools: list[dict] | None, weights: rewards.Weights):
    """An `art.Trajectory` of a finished episode: its messages, with each assistant turn as the server's Choice."""
    import art
    from openai.types.chat.chat_completion import Choice

    choices = iter(turn.raw for turn in ep.turns)
    messages_and_choices = [next(choices) if m["role"] == "assistant" else m for m in ep.messages]
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


def train(args, out: Path, weights: rewards.Weights) -> dict | None:
    return asyncio.run(_train(args, out, weights))


async def _train(args, out: Path, weights: rewards.Weights) -> dict | None:
    import art
    from art.local import LocalBackend

    from episode import template_ignores_tools
    from models import load_tokenizer, resolve_model

    resolved = resolve_model(args.model)
    tools_in_prompt = template_ignores_tools(load_tokenizer(resolved))
    tools = request_tools(tools_in_prompt)
    model = art.TrainableModel(
        name=f"train-{resolved.name}",
        project="calc-rl",
        base_model=resolved.path,
        _internal_config=art.dev.InternalModelConfig(
            init_args={"max_seq_length": 8192},
            peft_args={"r": args.lora_r, "lora_alpha": args.lora_alpha, "target_modules": args.lora_targets},
        ),
    )
    backend = LocalBackend(path=str(out / "art"))
    try:
        await model.register(backend)
        engine = ARTEngine(
            model, max_new_tokens=args.max_new_tokens, temperature=args.temperature, concurrency=args.batch_size
        )
        step = await model.get_step()
        training.read_metrics(out, up_to=step)
        started = time.time()
        while step < args.steps:
            t0, summary = time.time(), None
            engine.model, engine.seed = model.get_inference_name(), args.seed * 100_003 + step + 1
            problems = training.train_questions(args, step + 1)
            groups = await training.play_groups(engine, problems, args.group_size, args.max_turns, tools_in_prompt)
            scores = [[rewards.reward(ep, weights) for ep in g] for g in groups]
            skipped = sum(grpo.group_advantages(s, args.scale_rewards) is None for s in scores)
            art_groups = [art.TrajectoryGroup([trajectory(ep, tools, weights) for ep in g]) for g in groups]
            result = await backend.train(
                model,
                art_groups,
                learning_rate=args.lr,
                loss_fn="ppo",
                epsilon=args.clip,
                scale_rewards=args.scale_rewards,
            )
            await model.log(art_groups, metrics=result.metrics, step=result.step, split="train")
            step = result.step
            engine.model = model.get_inference_name()
            final = step >= args.steps
            if final or (args.eval_every and step % args.eval_every == 0):
                summary = await training.evaluate(engine, args, tools_in_prompt, out, step)
            row = {"step": step} | training.step_metrics(groups, weights) | {"skipped_groups": skipped}
            row |= {"loss": result.metrics.get("loss"), "grad_norm": result.metrics.get("grad_norm")}
            row |= {"eval_acc": summary["accuracy"] if summary else None, "step_s": round(time.time() - t0, 1)}
            training.append_metrics(out, row)
            training.plot_curve(out)
            print(row, flush=True)
            if final:
                return {"step": step, "adapter": result.checkpoint_path, "model_sha256": resolved.sha256} | summary
            if args.max_minutes is not None and time.time() - started >= args.max_minutes * 60:
                print(f"stopped after step {step} (--max-minutes); rerun the same command to resume", flush=True)
                return None
        return None
    finally:
        await backend.close()
