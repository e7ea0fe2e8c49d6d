"""Continuous batched decoding over a fixed-size KV cache; on a GPU each decode step is one CUDA graph replay.

Every row of the batch holds one conversation: its tokens sit at cache slots 0..n-1 and it writes its next token at
slot n, so rows are independent and a row can be filled while the others decode. A row is filled with a new prompt
(the prefix that prompts admitted together share, the system prompt and tool list, is computed once and copied) or
with the next turn of the conversation it held before: then only the tokens after what the row already holds (the
tool result and the chat markup) are computed. So an episode's next turn starts as soon as its tool has answered,
instead of waiting for the slowest row of a batch.

Decoding runs all rows at once, one token per step. Every tensor a step touches has a fixed address and shape, so
on CUDA the whole step (forward through `torch.compile`d decoder layers, sampling, stop check, bookkeeping) is
captured once per (rows, cache length, temperature) and replayed; so is a small prefill (a tool result for a few
rows). The graphs read the model's weights in place (a LoRA adapter's through copies in the model's dtype that
`sync_weights` refreshes), so an update is used by the next replay without recapture.

`reset` forgets the rows (LocalEngine calls it when a new call begins): what is decoded after it depends only on the
requests admitted from then on. The buffers of every shape used, and their graphs, stay allocated for later passes.
"""

import functools
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch

from engines.attention import Layers, SlotCache, grouped_attention


def common_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix all rows share, leaving every row at least one token of its own."""
    return min(len(os.path.commonprefix(rows)), min(map(len, rows)) - 1)


class _Slots:
    """The cache and per-row buffers for one (rows, cache length) shape, with its captured graphs per temperature."""

    @staticmethod
    def size(kv: tuple[int, int, int], batch: int, length: int, dtype) -> int:
        """Bytes of the keys, values and token buffer of a shape."""
        layers, heads, dim = kv
        return batch * length * (2 * layers * heads * dim * torch.empty(0, dtype=dtype).element_size() + 8)

    def __init__(self, kv: tuple[int, int, int], batch: int, length: int, dtype, device):
        self.batch, self.length = batch, length
        self.scratch = length - 1  # a multiple of 16 slots in all keeps the attention's operands aligned
        layers, heads, dim = kv
        self.cache = SlotCache((layers, batch, heads, length, dim), dtype, device)
        self.slot = torch.arange(length, device=device)
        self.seq = torch.zeros(batch, length, dtype=torch.long, device=device)  # sampled tokens by slot
        self.token = torch.zeros(batch, 1, dtype=torch.long, device=device)  # the last token: next step's input
        self.n = torch.zeros(batch, dtype=torch.long, device=device)  # tokens in the cache: where `token` goes
        self.limit = torch.zeros(batch, dtype=torch.long, device=device)  # n at which the row's turn is at its limit
        self.done = torch.ones(batch, dtype=torch.bool, device=device)
        self.graphs: dict[float, torch.cuda.CUDAGraph] = {}
        self.prefills: dict[tuple[int, int, float], _Prefill] = {}  # by (rows, width, temperature)


class _Prefill:
    """Fixed buffers of a prefill captured as one graph: per row its token ids (left-padded to `width`), then its
    first slot, token count and cache row; and the token sampled after each row."""

    def __init__(self, rows: int, width: int, device):
        self.inputs = torch.zeros(rows, width + 3, dtype=torch.long, device=device)
        self.out = torch.zeros(rows, dtype=torch.long, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None


def _pow2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


@dataclass
class Request:
    """One assistant turn to generate: `conversation` names the episode, so that its next turn can reuse the row."""

    ids: list[int]
    conversation: Any = None
    handle: Any = None  # the caller's (returned with the completion)
    text: str = ""  # the caller's rendering of the conversation, when it tokenizes later (LocalEngine)
    sampling: Any = None  # the caller's (LocalEngine: the turn's episode.Sampling)


class StaticDecoder:
    """Greedy or sampled continuous decoding. `admit` fills free rows with requests, `advance` decodes a few steps
    and returns the finished turns (each row's new tokens up to and including its stop token). Rows are bucketed to
    powers of two (at most `max_batch`), cache lengths to multiples of `length_step` (a row's length only grows
    until `reset`); shapes stay allocated with their graphs, the least recently used dropped beyond `keep` shapes or
    a quarter of the GPU's memory. `generate` runs a list of prompts to the end."""

    def __init__(
        self, model, stop_ids, pad_id: int, *, max_batch: int, prefill_tokens=0, length_step=256, compile=None
    ):
        self.model, self.pad_id, self.max_batch = model, pad_id, max_batch
        self.length_step, self.keep = length_step, 32
        self.device = next(model.parameters()).device
        cuda = self.device.type == "cuda"
        self.budget = torch.cuda.get_device_properties(self.device).total_memory // 4 if cuda else 1 << 62
        # Tokens (rows x padded width) one prefill forward takes: fewer, larger forwards on a GPU.
        self.prefill_tokens = prefill_tokens or (32768 if self.device.type == "cuda" else 4096)
        config = model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.kv = (config.num_hidden_layers, config.num_key_value_heads, head_dim)
        self.dtype = model.get_input_embeddings().weight.dtype
        self.stops = torch.tensor(sorted(stop_ids), device=self.device)
        self.graphs = self.device.type == "cuda"
        self.pool = torch.cuda.graph_pool_handle() if self.graphs else None  # one memory pool for all graphs
        self.graph_prefill = (64, 64)  # prefills of up to this many rows and tokens a row replay captured graphs
        self.every = 8 if self.graphs else 1  # decode steps between looks at the stop flags (a host sync)
        # Decode steps through torch.compile'd decoder layers (default: on CUDA), fused attention, adapter copies.
        self.layers = Layers(model, self.dtype, compile=self.device.type == "cuda" if compile is None else compile)
        self.captures = 0
        self._shapes: OrderedDict[tuple[int, int], _Slots] = OrderedDict()
        self.s: _Slots | None = None
        self.rows: list[Request | None] = []  # the request each row is generating; None: free
        self.held: list[tuple[Any, list[int]]] = []  # per row: the conversation it holds and its cached tokens
        self.steps = 0
        self.history: list[dict] = []  # one record per admission, resize, capture and pass (bench.py --trace)
        self.clock = time.perf_counter()
        self.wait_s = 0.0  # host time spent waiting for the GPU at the looks at the stop flags

    def live(self) -> list[int]:
        """The rows generating a turn now."""
        return [i for i, r in enumerate(self.rows) if r is not None]

    def _held_for(self, requests: list[Request]) -> list[int]:
        """The free rows that hold a conversation one of `requests` goes on with."""
        asked = {id(r.conversation) for r in requests if r.conversation is not None}
        return [i for i, (c, _) in enumerate(self.held) if self.rows[i] is None and c is not None and id(c) in asked]

    def sync_weights(self) -> None:
        """Take the adapter's current weights (call after an update, before decoding)."""
        self.layers.sync()

    def reset(self) -> None:
        """Forget the rows, the conversations they hold and the shape in use (not the allocated shapes)."""
        if self.live():
            raise RuntimeError("reset while rows are generating")
        self.s, self.rows, self.held = None, [], []

    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float) -> list[list[int]]:
        """Each prompt's new tokens, decoded together to the end (no conversation continues)."""
        self.sync_weights()
        requests = [Request(p, handle=i) for i, p in enumerate(prompts)]
        out: list[list[int] | None] = [None] * len(prompts)
        while requests or self.live():
            requests = requests[self.admit(requests, max_new_tokens, temperature) :]
            for request, completion in self.advance(temperature, requests):
                out[request.handle] = completion
        return out

    # --- admission ---------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def admit(self, requests: list[Request], max_new_tokens: int, temperature: float) -> int:
        """Start as many of `requests` (in order) as rows allow; returns how many started."""
        live = self.live()
        take = requests[: max(0, self.max_batch - len(live))]
        if not take:
            return 0
        started = time.perf_counter()
        keep = live + self._held_for(take)
        need = max([len(r.ids) + max_new_tokens for r in take] + [len(self.held[i][1]) + max_new_tokens for i in live])
        batch = self._bucket(len(live) + len(take))  # a request that goes on in a row it holds needs no other
        now = (self.s.batch, self.s.length) if self.s else (0, 0)
        length = now[1] if need < now[1] else max(need + 1, now[1] * 3 // 2)  # grow by half: few growths, captures
        length = -(-length // self.length_step) * self.length_step
        if batch > now[0] or length > now[1]:
            self._resize(max(batch, now[0]), length, keep)
        # Rows: a conversation's own row, else a free row (rows that never held a conversation first).
        own = {id(conv): i for i, (conv, _) in enumerate(self.held) if conv is not None and self.rows[i] is None}
        mine = [own.get(id(r.conversation)) if r.conversation is not None else None for r in take]
        spare = [i for i in range(self.s.batch) if self.rows[i] is None and i not in mine]
        spare = iter(sorted(spare, key=lambda i: self.held[i][0] is not None))
        placed = [i if i is not None else next(spare) for i in mine]
        # Each row keeps the tokens it already holds that begin the request (a turn's whole conversation so far).
        starts = [
            min(len(os.path.commonprefix([r.ids, self.held[i][1]])), len(r.ids) - 1)
            for r, i in zip(take, placed, strict=True)
        ]
        reused = sum(s > 0 for s in starts)
        fresh = [k for k, s in enumerate(starts) if s == 0]
        shared = common_prefix([take[k].ids for k in fresh]) if len(fresh) > 1 else 0
        if shared:  # compute the prefix the new prompts share once, for their first row, and copy it
            src = placed[fresh[0]]
            self._prefill([src], [0], [take[fresh[0]].ids[:shared]], temperature)
            dst = torch.tensor([placed[k] for k in fresh[1:]], device=self.device)
            for kv in (self.s.cache.keys, self.s.cache.values):
                kv[:, dst, :, :shared] = kv[:, src : src + 1, :, :shared]
            for k in fresh:
                starts[k] = shared
        for chunk in self._chunks([len(r.ids) - b for r, b in zip(take, starts, strict=True)]):
            rows, begin = placed[chunk], starts[chunk]
            self._prefill(rows, begin, [r.ids[b:] for r, b in zip(take[chunk], begin, strict=True)], temperature)
            index = torch.tensor(rows, device=self.device)
            n = torch.tensor([len(r.ids) for r in take[chunk]], device=self.device)
            self.s.n[index] = n
            self.s.limit[index] = n + max_new_tokens - 1
            self.s.seq[index, n] = self.s.token[index, 0]
            self.s.done[index] = self._is_stop(self.s.token[index, 0]) | (max_new_tokens <= 1)
        for r, row in zip(take, placed, strict=True):
            self.rows[row] = r
            self.held[row] = (r.conversation, r.ids)
        self.history.append(
            {"step": self.steps, "admitted": len(take), "reused": reused,
             "shared": shared, "rows": len(live) + len(take), "bucket": self.s.batch, "cache": self.s.length,
             "captures": self.captures, "seconds": round(time.perf_counter() - started, 4), "t": self._t()}
        )  # fmt: skip
        return len(take)

    def _chunks(self, widths: list[int]) -> list[slice]:
        """Consecutive runs of rows whose padded size (rows x widest) stays within `prefill_tokens`."""
        chunks, begin, widest = [], 0, 0
        for end, width in enumerate(widths):
            widest = max(widest, width)
            if end > begin and (end + 1 - begin) * widest > self.prefill_tokens:
                chunks.append(slice(begin, end))
                begin, widest = end, width
        return chunks + [slice(begin, len(widths))]

    def _prefill(self, rows: list[int], starts: list[int], tokens: list[list[int]], temperature: float) -> None:
        """Write `tokens[i]` into row `rows[i]` from slot `starts[i]` on, and sample each row's next token into
        `token`. Rows are left-padded to one width; padding writes to the scratch slot and attends to slot 0. On a
        GPU a small prefill (most: a tool result and chat markup for a few rows) replays a graph captured for its
        rows rounded up to a power of two and a fixed width (a forward outside a graph is bound by host time)."""
        s, k, widest = self.s, len(rows), max(map(len, tokens))
        most_rows, width = self.graph_prefill
        graph = self.graphs and k <= most_rows and widest <= width
        shape, width = (_pow2(k), width), width if graph else widest
        packed = [
            [self.pad_id] * (width - len(t)) + t + [b, len(t), r] for t, b, r in zip(tokens, starts, rows, strict=True)
        ]
        with grouped_attention(self.model):
            if graph:
                p = self._prefill_graph(s, *shape, temperature)
                p.inputs.copy_(torch.tensor(packed + [[self.pad_id] * width + [0, 0, rows[0]]] * (shape[0] - k)))
                p.graph.replay()
                out = p.out[:k]
            else:
                with self.layers.active():
                    out = self._prefill_step(s, torch.tensor(packed, device=self.device), temperature)
        s.token[torch.tensor(rows, device=self.device), 0] = out

    def _prefill_step(self, s: _Slots, inputs, temperature: float):
        """The prefill of `_prefill` from its packed inputs (graph-safe); returns the sampled tokens."""
        ids, begin, count, rows = inputs[:, :-3], inputs[:, -3:-2], inputs[:, -2:-1], inputs[:, -1]
        real = torch.arange(ids.shape[1], device=ids.device) >= ids.shape[1] - count
        position = begin + (real.cumsum(1) - 1).clamp(min=0)
        s.cache.rows = rows
        s.cache.slots = torch.where(real, position, s.scratch)
        mask = torch.where(real[:, :, None], s.slot <= position[:, :, None], s.slot == 0)
        return self._sample(self._forward(ids, mask[:, None], position, s.cache), temperature)

    def _prefill_graph(self, s: _Slots, rows: int, width: int, temperature: float) -> _Prefill:
        """The captured prefill of this shape (captured now if new; its warm-up is all padding: scratch writes)."""
        key = (rows, width, temperature)
        if key not in s.prefills:
            p = _Prefill(rows, width, self.device)
            started = time.perf_counter()
            p.graph = self._capture(lambda: p.out.copy_(self._prefill_step(s, p.inputs, temperature)))
            s.prefills[key] = p
            self.history.append(
                {"step": self.steps, "capture": s.batch, "cache": s.length, "prefill": [rows, width],
                 "temperature": temperature, "seconds": round(time.perf_counter() - started, 4), "t": self._t()}
            )  # fmt: skip
        return s.prefills[key]

    # --- decoding -----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def advance(self, temperature: float, waiting: list[Request]) -> list[tuple[Request, list[int]]]:
        """Decode `every` steps; return the turns that finished, each with its new tokens (stop token included).
        `waiting`: requests not admitted yet (a smaller batch keeps room and rows for them)."""
        if self.s is None:
            return []
        # A few rows left (most of them finishing turns that other turns wait for): look twice as often.
        steps = self.every if len(self.live()) > 16 else max(1, self.every // 2)
        with grouped_attention(self.model):
            for _ in range(steps):
                self._run_step(self.s, temperature)
        self.steps += steps
        waited = time.perf_counter()
        done, n = self.s.done.tolist(), self.s.n.tolist()
        self.wait_s += time.perf_counter() - waited
        finished = [i for i in self.live() if done[i]]
        if not finished:
            return []
        index = torch.tensor(finished, device=self.device)
        seqs = self.s.seq[index].tolist()
        out = []
        for i, seq in zip(finished, seqs, strict=True):
            request, start = self.rows[i], len(self.rows[i].ids)
            completion = seq[start : n[i] + 1]
            out.append((request, completion))
            self.held[i] = (request.conversation, request.ids + completion[:-1])  # what the cache holds
            self.rows[i] = None
        # Most rows finished: go on in a smaller batch, with the rows whose conversations may go on (finished just
        # now, or named by a waiting request) and room for the waiting requests.
        live = self.live()
        held = self._held_for(waiting)
        keep = live + finished + [i for i in held if i not in finished]
        batch = self._bucket(len(keep) + len(waiting) - len(held))  # a waiting request with a row takes that one
        if live and batch <= self.s.batch // 4:
            self._resize(batch, self.s.length, keep)
        return out

    def _t(self) -> float:
        return round(time.perf_counter() - self.clock, 4)

    def _bucket(self, rows: int) -> int:
        return min(self.max_batch, _pow2(rows))

    def _resize(self, batch: int, length: int, keep: list[int]) -> None:
        """Move rows `keep` (cache, buffers, host state) into the first rows of a (batch, length) shape."""
        now = self.s.length if self.s is not None else None
        grown = [(s.batch, list(s.graphs), list(s.prefills)) for s in self._shapes.values() if s.length == now < length]
        t = self._get_slots(batch, length)
        if self.s is not None and keep:
            old = self.s
            index = torch.tensor(keep, device=self.device)
            cols = min(old.length, t.length)
            for mine, theirs in ((t.cache.keys, old.cache.keys), (t.cache.values, old.cache.values)):
                mine[:, : len(keep), :, :cols] = theirs[:, index, :, :cols]
            t.seq[: len(keep), :cols] = old.seq[index, :cols]
            for name in ("token", "n", "limit", "done"):
                getattr(t, name)[: len(keep)] = getattr(old, name)[index]
        t.done[len(keep) :] = True
        t.n[len(keep) :] = 0
        self.rows = [self.rows[i] for i in keep] + [None] * (batch - len(keep))
        self.held = [self.held[i] for i in keep] + [(None, [])] * (batch - len(keep))
        self.s = t
        self.history.append({"step": self.steps, "resized": batch, "cache": length, "kept": len(keep), "t": self._t()})
        # The batch shapes in use at the shorter length get their graphs at the new one now, not in a later pass.
        with grouped_attention(self.model):
            for other, temperatures, prefills in grown:
                for temperature in temperatures:
                    self._run_step(self._get_slots(other, length), temperature, capture_only=True)
                for shape in prefills:
                    self._prefill_graph(self._get_slots(other, length), *shape)
        self._get_slots(batch, length)  # the shape in use stays the most recent

    def _get_slots(self, batch: int, length: int) -> _Slots:
        """The buffers for a shape, allocated at first use and kept for later passes (least recently used first out;
        never the shape in use)."""
        key = (batch, length)
        if key not in self._shapes:
            size = functools.partial(_Slots.size, self.kv, dtype=self.dtype)
            while len(self._shapes) >= self.keep or sum(size(*k) for k in self._shapes) + size(*key) > self.budget:
                old = next((k for k, s in self._shapes.items() if s is not self.s), None)
                if old is None:
                    break
                del self._shapes[old]
                if self.graphs:
                    torch.cuda.empty_cache()
            self._shapes[key] = _Slots(self.kv, batch, length, self.dtype, self.device)
        self._shapes.move_to_end(key)
        return self._shapes[key]

    def _forward(self, ids, mask, position, cache):
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=position, past_key_values=cache, use_cache=True,
            logits_to_keep=1,
        )  # fmt: skip
        return out.logits[:, -1]

    def _sample(self, logits, temperature: float):
        if temperature <= 0:
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return (probs / torch.empty_like(probs).exponential_()).argmax(-1)  # an exact draw from probs

    def _is_stop(self, token):
        return (token[:, None] == self.stops[None, :]).any(-1)

    def _step(self, s: _Slots, temperature: float) -> None:
        """One decode step for all rows; only in-place writes to fixed buffers, so it can be captured. Finished rows
        run along without moving: they write scratch and keep their tokens."""
        s.cache.rows, s.cache.slots = None, s.n[:, None]
        mask = (s.slot <= s.n[:, None])[:, None, None, :]
        token = self._sample(self._forward(s.token, mask, s.n[:, None], s.cache), temperature)
        live = ~s.done
        token = torch.where(live, token, self.pad_id)
        s.n += live
        s.seq.scatter_(1, torch.where(live, s.n, s.scratch)[:, None], token[:, None])
        s.token.copy_(token[:, None])
        s.done |= self._is_stop(token) | (s.n >= s.limit)

    def _run_step(self, s: _Slots, temperature: float, capture_only=False) -> None:
        if not self.graphs:
            if not capture_only:
                with self.layers.active():
                    self._step(s, temperature)
            return
        if temperature not in s.graphs:
            started = time.perf_counter()
            s.graphs[temperature] = self._capture(lambda: self._step(s, temperature), (s.token, s.n, s.done))
            self.history.append(
                {"step": self.steps, "capture": s.batch, "cache": s.length, "temperature": temperature,
                 "seconds": round(time.perf_counter() - started, 4), "t": self._t()}
            )  # fmt: skip
        if not capture_only:
            s.graphs[temperature].replay()

    def _capture(self, step, state=()) -> torch.cuda.CUDAGraph:
        """Run `step` once on a side stream (compilation, kernel choice), put back the buffers in `state` it
        advanced (the cache slots and tokens it wrote are written again by the real step), and capture it."""
        saved = [t.clone() for t in state]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with self.layers.active():
            with torch.cuda.stream(stream):
                step()
            torch.cuda.current_stream().wait_stream(stream)
            for buffer, value in zip(state, saved, strict=True):
                buffer.copy_(value)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):  # capturing runs nothing
                step()
        self.captures += 1
        return graph
