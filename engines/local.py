"""LocalEngine: assistant turns from a transformers model (+ peft LoRA) on this machine, with the exact token ids.

Episodes run concurrently as asyncio tasks; their pending turns are decoded together, by `decoder.StaticDecoder`
(default) or by plain padded `model.generate` (the benchmark's baseline). Both read the weights in place, so a LoRA
update is used by the next turn.
"""

import asyncio
import time

from episode import Sampling, Turn

METHODS = ("static", "generate")


def stop_token_ids(tokenizer, generation_config) -> list[int]:
    """Every token that ends an assistant turn: the configured eos ids and the ChatML end-of-turn token."""
    ids = generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    ids.add(tokenizer.eos_token_id)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return sorted(i for i in ids if i is not None)


class LocalEngine:
    """transformers on this machine; keeps the exact sampled token ids of every turn.

    `method` "static": continuous decoding through `decoder.StaticDecoder`: a turn starts in a free row as soon as
    its episode asks for it, and an episode's next turn goes on in the row (and from the cached tokens) of its last
    one; on a GPU each decode step is one CUDA graph replay. "generate": padded batches through `model.generate`.

    Turns are decoded in passes ("drains"), each over turns of one `Sampling`. A new Sampling value starts a new
    call: the decoder forgets the rows it holds, so what a call samples depends only on its own requests and seed.
    Each pass is seeded from (the call's seed, the pass's number within the call).
    """

    def __init__(self, model, tokenizer, *, batch_size: int, method: str = "static"):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.model, self.tokenizer, self.batch_size, self.method = model, tokenizer, batch_size, method
        self.stop_ids = stop_token_ids(tokenizer, model.generation_config)
        self._decoder = None
        self._pending: list = []  # decoder.Request: ids, conversation, the future the turn goes to, its Sampling
        self._waiting: list = []  # taken into the pass in progress, not admitted yet
        self._worker: asyncio.Task | None = None
        self._call: Sampling | None = None  # the call the decoder's rows belong to
        self._passes = 0  # decoding passes of that call so far

    @property
    def decoder(self):
        """The StaticDecoder (None before the first static turn and after `close`)."""
        return self._decoder

    @property
    def history(self) -> list[dict]:
        """What the static decoder did: one record per admission, resize, capture and pass (bench.py --trace)."""
        return self._decoder.history if self._decoder else []

    def render(self, messages: list[dict], tools: list[dict] | None) -> str:
        return self.tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)

    async def chat(self, messages: list[dict], tools: list[dict] | None, sampling: Sampling) -> Turn:
        from engines.decoder import Request

        # `messages` is the episode's own list (it grows by a turn each time): it names the conversation. The text
        # is tokenized with the other waiting turns' (`_tokenize`).
        future = asyncio.get_running_loop().create_future()
        request = Request([], messages, future, self.render(messages, tools), sampling)
        self._pending.append(request)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await request.handle

    def _begin_pass(self, sampling: Sampling) -> None:
        """Seed the next decoding pass; a new call starts from a decoder that holds no rows."""
        import torch

        if sampling != self._call:
            self._call, self._passes = sampling, 0
            if self._decoder is not None:
                self._decoder.reset()
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed * 1_000_003 + self._passes)
        self._passes += 1

    async def _settle(self) -> None:
        """Let every episode that can run reach its next turn, so that turns start together."""
        seen = -1
        while seen != len(self._pending):
            seen = len(self._pending)
            await asyncio.sleep(0)

    def _tokenize(self, requests: list) -> None:
        """Token ids for the requests that have only their text, in one call (the tokenizer runs a batch in
        parallel threads)."""
        todo = [r for r in requests if not r.ids]
        if todo:
            ids = self.tokenizer([r.text for r in todo], add_special_tokens=False)["input_ids"]
            for request, row in zip(todo, ids, strict=True):
                request.ids = row

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._settle()
                sampling = self._pending[0].sampling
                self._begin_pass(sampling)
                if self.method == "generate":
                    await self._pass_padded(sampling)
                else:
                    await self._pass_continuous(sampling)
        except Exception as e:  # e.g. out of memory: fail the waiting episodes, not the event loop
            live = [self._decoder.rows[i] for i in self._decoder.live()] if self._decoder else []
            waiting = self._pending + self._waiting + live
            self._pending, self._waiting, self._decoder = [], [], None
            for request in waiting:
                if not request.handle.done():
                    request.handle.set_exception(e)

    def _take(self, sampling: Sampling, most: int) -> list:
        """Up to `most` pending requests of `sampling`, in order; the others wait for a later pass."""
        mine = [r for r in self._pending if r.sampling == sampling][:most]
        taken = {id(r) for r in mine}
        self._pending = [r for r in self._pending if id(r) not in taken]
        return mine

    async def _pass_padded(self, sampling: Sampling) -> None:
        batch = self._take(sampling, self.batch_size)
        self._tokenize(batch)
        try:
            rows = self._generate_padded([r.ids for r in batch], sampling)
        except Exception as e:  # e.g. out of memory: fail this batch's episodes, go on with the rest
            for request in batch:
                if not request.handle.done():
                    request.handle.set_exception(e)
            return
        for request, row in zip(batch, rows, strict=True):
            if not request.handle.done():
                request.handle.set_result(self._turn(request.ids, row, sampling))

    async def _pass_continuous(self, sampling: Sampling) -> None:
        decoder = self._static_decoder()
        decoder.sync_weights()
        waited, turns, steps = 0, 0, decoder.steps
        clock = {"episodes_s": 0.0, "admit_s": 0.0, "advance_s": 0.0, "wait_s": -decoder.wait_s}
        last = started = time.perf_counter()

        def spent(part):  # host time since the last call, booked to `part` (bench.py --trace)
            nonlocal last
            now = time.perf_counter()
            clock[part], last = clock[part] + now - last, now

        while True:
            await self._settle()
            self._waiting += self._take(sampling, len(self._pending))
            waiting = self._waiting
            if not waiting and not decoder.live():
                break
            self._tokenize(waiting)
            spent("episodes_s")
            live = len(decoder.live())
            # Start waiting turns when enough have gathered (each start is a prefill: a few graph replays for tool
            # results, a forward for fresh prompts) or they have waited 16 steps.
            if waiting and (not live or 4 * len(waiting) >= live or waited >= 2):
                taken = decoder.admit(waiting, sampling.max_new_tokens, sampling.temperature)
                self._waiting, waited = waiting[taken:], 0
                spent("admit_s")
            elif waiting:
                waited += 1
            for request, completion in decoder.advance(sampling.temperature, self._waiting):
                turns += 1
                if not request.handle.done():  # an episode cancelled meanwhile takes no result
                    request.handle.set_result(self._turn(request.ids, completion, sampling))
            spent("advance_s")
        clock["wait_s"] += decoder.wait_s
        record = {"drain": turns, "steps": decoder.steps - steps, "wall_s": time.perf_counter() - started} | clock
        decoder.history.append({k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})

    def generate(self, prompts: list[list[int]], sampling: Sampling) -> list[Turn]:
        """One batch of prompts decoded to the end (static decoder or padded `model.generate`), in order."""
        self._begin_pass(sampling)
        if self.method == "static":
            rows = self._static_decoder().generate(prompts, sampling.max_new_tokens, sampling.temperature)
        else:
            rows = self._generate_padded(prompts, sampling)
        return [self._turn(prompt, row, sampling) for prompt, row in zip(prompts, rows, strict=True)]

    def _static_decoder(self):
        from engines.decoder import StaticDecoder

        if self._decoder is None:
            pad = self.tokenizer.pad_token_id
            self._decoder = StaticDecoder(self.model, self.stop_ids, pad, max_batch=self.batch_size)
        self.model.eval()
        return self._decoder

    def _generate_padded(self, prompts: list[list[int]], sampling: Sampling) -> list[list[int]]:
        import torch

        width = max(map(len, prompts))
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.model.device)
        # Greedy at temperature 0, else plain sampling from the full distribution (no top-p, no top-k).
        how = {"do_sample": True, "temperature": sampling.temperature, "top_p": 1.0, "top_k": 0}
        self.model.eval()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                max_new_tokens=sampling.max_new_tokens,
                eos_token_id=self.stop_ids,
                pad_token_id=pad,
                **(how if sampling.temperature > 0 else {"do_sample": False}),
            )
        return out[:, width:].tolist()

    def _turn(self, prompt: list[int], generated: list[int], sampling: Sampling) -> Turn:
        """Cut `generated` after the first stop token (padding follows it in a batch) and decode it."""
        completion, finish = [], "length"
        for tok in generated[: sampling.max_new_tokens]:
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
