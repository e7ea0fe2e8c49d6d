"""Engines that play assistant turns for `episode.run_episode`: local (transformers), openai (any server), art.

Every engine takes a chat (messages + tools) and returns an `episode.Turn`. Episodes run concurrently as asyncio
tasks; the local engine gathers their pending turns into batches, the openai engine keeps requests in flight.
"""

import asyncio
import importlib.util
import time

from episode import Turn


class EngineError(Exception):
    """A backend that cannot run here; the message is one line for the user."""


def stop_token_ids(tokenizer, generation_config) -> list[int]:
    """Every token that ends an assistant turn: the configured eos ids and the ChatML end-of-turn token."""
    ids = generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    ids.add(tokenizer.eos_token_id)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return sorted(i for i in ids if i is not None)


METHODS = ("static", "generate")


class LocalEngine:
    """transformers on this machine; keeps the exact sampled token ids of every turn.

    Pending turns of all running episodes are decoded together. `method` says how: "static" (default) through
    `decoder.StaticDecoder`, continuously: a turn starts in a free row as soon as its episode asks for it, and an
    episode's next turn reuses the row (and the cached tokens) of its last one; on a GPU each decode step is one CUDA
    graph replay. "generate": padded batches through plain `model.generate` (bench.py's baseline). Both read the
    weights in place, so a LoRA update is used by the next turn.
    """

    def __init__(
        self,
        model,
        tokenizer,
        *,
        max_new_tokens: int,
        temperature: float,
        batch_size: int,
        seed: int = 0,
        method: str = "static",
    ):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.batch_size = max_new_tokens, temperature, batch_size
        self.stop_ids = stop_token_ids(tokenizer, model.generation_config)
        self.seed = seed
        self.method = method
        self._decoder = None
        self._pending: list = []  # decoder.Request: ids, conversation, the future the turn goes to
        self._worker: asyncio.Task | None = None
        self._batches = 0

    def render(self, messages: list[dict], tools: list[dict] | None) -> str:
        return self.tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)

    async def chat(self, messages: list[dict], tools: list[dict] | None) -> Turn:
        from decoder import Request

        # `messages` is the episode's own list (it grows by a turn each time): it names the conversation. The text
        # is tokenized with the other waiting turns' (`_tokenize`).
        future = asyncio.get_running_loop().create_future()
        request = Request([], conversation=messages, handle=future, text=self.render(messages, tools))
        self._pending.append(request)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await request.handle

    async def _settle(self) -> None:
        """Let every episode that can run reach its next turn, so that turns start together."""
        seen = -1
        while seen != len(self._pending):
            seen = len(self._pending)
            await asyncio.sleep(0)

    def _tokenize(self, requests: list) -> None:
        """Token ids for the requests that have only their text, in one call (the tokenizer runs a batch in
        parallel threads; one at a time, 256 first turns took ~0.2 s of host time on the GPU machine)."""
        todo = [r for r in requests if not r.ids]
        if todo:
            ids = self.tokenizer([r.text for r in todo], add_special_tokens=False)["input_ids"]
            for request, row in zip(todo, ids, strict=True):
                request.ids = row

    async def _drain(self) -> None:
        try:
            if self.method == "generate":
                await self._drain_batches()
            else:
                await self._drain_continuous()
        except Exception as e:  # e.g. out of memory: fail the waiting episodes, not the event loop
            waiting = self._pending + ([self._decoder.rows[i] for i in self._decoder.live()] if self._decoder else [])
            self._pending, self._decoder = [], None
            for request in waiting:
                if not request.handle.done():
                    request.handle.set_exception(e)

    async def _drain_batches(self) -> None:
        while self._pending:
            await self._settle()
            batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
            self._tokenize(batch)
            try:
                turns = self.generate([r.ids for r in batch])
            except Exception as e:  # e.g. out of memory: fail this batch's episodes, go on with the rest
                for request in batch:
                    if not request.handle.done():
                        request.handle.set_exception(e)
                continue
            for request, turn in zip(batch, turns, strict=True):
                if not request.handle.done():
                    request.handle.set_result(turn)

    async def _drain_continuous(self) -> None:
        decoder = self._static_decoder()
        decoder.sync_weights()
        self._seed()
        waited, turns, steps = 0, 0, decoder.steps
        clock = {"episodes_s": 0.0, "admit_s": 0.0, "advance_s": 0.0, "wait_s": -decoder.wait_s}
        last = started = time.perf_counter()

        def spent(part):  # host time since the last call, booked to `part` (bench.py --trace)
            nonlocal last
            now = time.perf_counter()
            clock[part], last = clock[part] + now - last, now

        while self._pending or decoder.live():
            await self._settle()
            self._tokenize(self._pending)
            spent("episodes_s")
            live = len(decoder.live())
            # Start waiting turns when enough have gathered (each start is a prefill, on the H100 a few ms for tool
            # results and ~0.2 s for 256 fresh prompts, plus host work) or they have waited 16 steps.
            if self._pending and (not live or 4 * len(self._pending) >= live or waited >= 2):
                taken = decoder.admit(self._pending, self.max_new_tokens, self.temperature)
                self._pending, waited = self._pending[taken:], 0
                spent("admit_s")
            elif self._pending:
                waited += 1
            for request, completion in decoder.advance(self.temperature, self._pending):
                turns += 1
                if not request.handle.done():  # an episode cancelled meanwhile takes no result
                    request.handle.set_result(self._turn(request.ids, completion))
            spent("advance_s")
        clock["wait_s"] += decoder.wait_s
        record = {"drain": turns, "steps": decoder.steps - steps, "wall_s": time.perf_counter() - started} | clock
        decoder.history.append({k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})

    def generate(self, prompts: list[list[int]]) -> list[Turn]:
        """One batch of prompts decoded to the end (static decoder or padded `model.generate`), in order."""
        self._seed()
        if self.method == "static":
            rows = self._static_decoder().generate(prompts, self.max_new_tokens, self.temperature)
        else:
            rows = self._generate_padded(prompts)
        return [self._turn(prompt, row) for prompt, row in zip(prompts, rows, strict=True)]

    def _seed(self) -> None:
        """Sampling is reproducible: each batch (each drain of the continuous decoder) draws from its own seed."""
        import torch

        if self.temperature > 0:
            torch.manual_seed(self.seed * 1_000_003 + self._batches)
        self._batches += 1

    def _static_decoder(self):
        from decoder import StaticDecoder

        if self._decoder is None:
            pad = self.tokenizer.pad_token_id
            self._decoder = StaticDecoder(self.model, self.stop_ids, pad, max_batch=self.batch_size)
        self.model.eval()
        return self._decoder

    def _generate_padded(self, prompts: list[list[int]]) -> list[list[int]]:
        import torch

        width = max(map(len, prompts))
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.model.device)
        self.model.eval()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                max_new_tokens=self.max_new_tokens,
                eos_token_id=self.stop_ids,
                pad_token_id=pad,
                **self._sampling(),
            )
        return out[:, width:].tolist()

    def _sampling(self) -> dict:
        """Greedy at temperature 0, else plain sampling from the full distribution (no top-p, no top-k)."""
        if self.temperature > 0:
            return {"do_sample": True, "temperature": self.temperature, "top_p": 1.0, "top_k": 0}
        return {"do_sample": False}

    def _turn(self, prompt: list[int], generated: list[int]) -> Turn:
        """Cut `generated` after the first stop token (padding follows it in a batch) and decode it."""
        completion, finish = [], "length"
        for tok in generated[: self.max_new_tokens]:
            completion.append(tok)
            if tok in self.stop_ids:
                finish = "stop"
                break
        # Keep special tokens such as <tool_call> (some tokenizers mark them special); drop the stop token.
        text = self.tokenizer.decode(completion[:-1] if finish == "stop" else completion)
        return Turn(text, finish, len(prompt), len(completion), prompt_ids=prompt, completion_ids=completion)

    def close(self) -> None:
        """Free the decoder's KV caches and CUDA graphs."""
        self._decoder = None


class OpenAIEngine:
    """Any OpenAI-compatible server (vLLM, `transformers serve`, Ollama) with bounded concurrency."""

    def __init__(
        self, base_url: str, model: str, *, max_new_tokens: int, temperature: float, concurrency: int, seed: int = 0
    ):
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=2, timeout=600)
        self.model, self.max_new_tokens, self.temperature, self.seed = model, max_new_tokens, temperature, seed
        self.limit = asyncio.Semaphore(concurrency)

    async def chat(self, messages: list[dict], tools: list[dict] | None) -> Turn:
        async with self.limit:
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                tools=tools or None,
                max_tokens=self.max_new_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
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


def art_available() -> bool:
    import torch

    return torch.cuda.is_available() and all(importlib.util.find_spec(m) for m in ("art", "unsloth", "vllm"))


def choose_backend(backend: str, has_art_path: bool = True) -> str:
    """`auto` means art where CUDA, ART, Unsloth and vLLM are all importable, else local. A script without an ART
    path (`has_art_path=False`: the evals) takes local for `auto` and refuses `art`."""
    if backend == "auto":
        return "art" if has_art_path and art_available() else "local"
    if backend == "art" and not has_art_path:
        raise EngineError("the eval scripts have no art backend yet; use --backend local or openai")
    if backend == "art" and not art_available():
        raise EngineError(
            "--backend art needs a CUDA GPU with openpipe-art[backend] (vLLM, Unsloth); use --backend local"
        )
    return backend
