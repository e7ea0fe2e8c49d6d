"""OpenAIEngine: assistant turns from any OpenAI-compatible server (vLLM, `transformers serve`, Ollama)."""

import asyncio

from engines import EngineError
from episode import Sampling, Turn, derive_seed


class OpenAIEngine:
    """Chat completions with bounded concurrency. Each request is seeded from the call's seed, the episode's place
    among the call's episodes (in the order they first asked) and the turn, so the episodes of a GRPO group (the
    same question) draw differently, and a call's draws do not depend on earlier calls."""

    def __init__(self, base_url: str, model: str, *, concurrency: int):
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=2, timeout=600)
        self.model = model
        self.limit = asyncio.Semaphore(concurrency)
        self._call: Sampling | None = None
        self._episodes: dict[int, tuple[int, list]] = {}  # id(messages) -> (place in the call, messages)

    def check(self) -> None:
        """Ask the server for its models once; EngineError (one line) when it cannot be reached. Any answer will do
        (`transformers serve` answers this one with an error status offline)."""
        from openai import APIConnectionError, APIStatusError, OpenAI

        try:
            OpenAI(base_url=str(self.client.base_url), api_key="unused", max_retries=1, timeout=30).models.list()
        except APIStatusError:
            pass
        except APIConnectionError as e:
            raise EngineError(f"the server at {self.client.base_url} failed: {type(e).__name__}: {e}") from None

    def model_name(self) -> str:
        """The model to ask for (ARTEngine: the policy's current step)."""
        return self.model

    def request_seed(self, messages: list[dict], sampling: Sampling) -> int:
        if sampling != self._call:
            self._call, self._episodes = sampling, {}
        place, _ = self._episodes.setdefault(id(messages), (len(self._episodes), messages))
        turn = sum(m["role"] == "assistant" for m in messages)
        return derive_seed(sampling.seed, place, turn)

    async def chat(self, messages: list[dict], tools: list[dict] | None, sampling: Sampling) -> Turn:
        seed = self.request_seed(messages, sampling)
        from openai import APIConnectionError, APIStatusError

        async with self.limit:
            try:
                response = await self.client.chat.completions.create(
                    model=self.model_name(),
                    messages=messages,
                    tools=tools or None,
                    max_tokens=sampling.max_new_tokens,
                    temperature=sampling.temperature,
                    seed=seed,
                )
            except (APIConnectionError, APIStatusError) as e:  # the run cannot go on: one line, not a traceback
                raise EngineError(f"the server at {self.client.base_url} failed: {type(e).__name__}: {e}") from None
        choice = response.choices[0]
        msg = choice.message
        calls = [tc.model_dump() for tc in msg.tool_calls or []] or None
        message = {"role": "assistant", "content": msg.content or ""} | ({"tool_calls": calls} if calls else {})
        usage = response.usage
        return Turn(
            text=msg.content or "",
            finish_reason="length" if choice.finish_reason == "length" else "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            message=message,
            tool_calls=calls,
            raw=choice,
        )
