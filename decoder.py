"""Static-shape batched decoding: one forward per step over a fixed-size KV cache, replayed as a CUDA graph on a GPU.

A batch of prompts is prefilled (the prefix they share once, the rest in row chunks, left-padded to one width), then
decoded one token per step for all rows at once. Every tensor a step touches has a fixed address and shape, so on
CUDA the whole step (forward, sampling, stop check, bookkeeping) is captured once per (rows, cache length,
temperature) and replayed: Python launches one graph per token instead of hundreds of kernels. The graph reads the
model's weights in place, so a LoRA update is used by the next replay without recapture.
"""

import functools
import os
import time
from collections import OrderedDict
from contextlib import contextmanager

import torch
from transformers import AttentionInterface


def common_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix all rows share, leaving every row at least one token of its own."""
    return min(len(os.path.commonprefix(rows)), min(map(len, rows)) - 1)


def _grouped_sdpa(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention for grouped-query models that reads each key/value head once: the query heads sharing a key/value
    head are stacked along the query axis (transformers' sdpa copies keys and values per query head when a mask is
    given, which makes decoding over a long cache memory-bound)."""
    batch, heads, q_len, dim = query.shape
    groups = heads // key.shape[1]
    query = query.reshape(batch, key.shape[1], groups * q_len, dim)
    mask = attention_mask[:, :, None].expand(-1, -1, groups, -1, -1).reshape(batch, 1, groups * q_len, -1)
    out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scaling)
    return out.reshape(batch, heads, q_len, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register("grouped_sdpa", _grouped_sdpa)


@contextmanager
def grouped_attention(model):
    """Run the model with `_grouped_sdpa` (captured graphs keep it), then give back its own attention."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = "grouped_sdpa"
    try:
        yield
    finally:
        config._attn_implementation = before


class SlotCache:
    """The KV cache the model writes into: keys and values of all layers, [layers, batch, kv_heads, length, head_dim].
    A forward writes its new keys at slots `pos, pos+1, ...` (a device tensor, so a captured step advances it) of the
    rows in `rows`. One tensor for all layers, so that compiled code indexes it with the layer number as a symbol
    and one compiled layer serves every layer."""

    def __init__(self, shape: tuple[int, ...], dtype, device):
        self.batch, self.length = shape[1], shape[3]
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.pos = torch.zeros((), dtype=torch.long, device=device)
        self.rows = slice(None)
        self.visible = self.length  # keys returned to attention: the prompt width during prefill, all when decoding

    def update(self, key, value, layer_idx, *args, **kwargs):
        return self.write(self.keys[layer_idx], self.values[layer_idx], key, value)

    def write(self, keys, values, key, value):
        slots = self.pos + torch.arange(key.shape[2], device=key.device)
        keys, values = keys[self.rows], values[self.rows]
        keys.index_copy_(2, slots, key)
        values.index_copy_(2, slots, value)
        return keys[:, :, : self.visible], values[:, :, : self.visible]


class _LayerCache:
    """One layer's part of a SlotCache, handed to a compiled layer instead of the whole cache: the layer number
    (which `update` receives) then never reaches compiled code, so one compiled layer serves every layer."""

    def __init__(self, cache: SlotCache, layer: int):
        self.cache, self.keys, self.values = cache, cache.keys[layer], cache.values[layer]

    def update(self, key, value, *args, **kwargs):
        return self.cache.write(self.keys, self.values, key, value)


class _Slots:
    """The cache and step buffers for one (rows, cache length) shape, with its captured graphs per temperature."""

    def __init__(self, kv: tuple[int, int, int], batch: int, length: int, max_new: int, dtype, device):
        self.batch = batch
        layers, heads, dim = kv
        self.cache = SlotCache((layers, batch, heads, length, dim), dtype, device)
        self.valid = torch.zeros(batch, length, dtype=torch.bool, device=device)  # slots a row may attend to
        self.slot = torch.arange(length, device=device)
        self.token = torch.zeros(batch, 1, dtype=torch.long, device=device)  # the last token: next step's input
        self.position = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.done = torch.zeros(batch, dtype=torch.bool, device=device)
        self.step = torch.zeros(1, dtype=torch.long, device=device)
        self.out = torch.zeros(batch, max_new, dtype=torch.long, device=device)
        self.graphs: dict[float, torch.cuda.CUDAGraph] = {}


class StaticDecoder:
    """Greedy or sampled decoding of many prompts at once; `generate` returns each row's new tokens, padded after
    its first stop token. Rows are bucketed to powers of two (at most `max_batch`), cache lengths to multiples of
    `length_step`; the most recent `keep` shapes stay allocated with their graphs."""

    def __init__(self, model, stop_ids, pad_id: int, *, max_batch: int, prefill_rows=32, length_step=256, compile=None):
        self.model, self.pad_id, self.max_batch = model, pad_id, max_batch
        self.prefill_rows, self.length_step, self.keep = prefill_rows, length_step, 12
        self.device = next(model.parameters()).device
        config = model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.kv = (config.num_hidden_layers, config.num_key_value_heads, head_dim)
        self.dtype = model.get_input_embeddings().weight.dtype
        # Decode steps through torch.compile'd decoder layers (default: on CUDA); one compiled layer serves all.
        self.layers = model.get_decoder().layers
        compile = self.device.type == "cuda" if compile is None else compile
        self._compiled = [torch.compile(layer.forward) for layer in self.layers] if compile else None
        self.stops = torch.tensor(sorted(stop_ids), device=self.device)
        self.graphs = self.device.type == "cuda"
        self.captures = 0
        self._slots: OrderedDict[tuple[int, int, int], _Slots] = OrderedDict()
        self.history: list[dict] = []  # one record per batch: shapes, decode steps, seconds (bench.py --trace)

    @torch.inference_mode()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, temperature: float) -> list[list[int]]:
        if len(prompts) > self.max_batch:
            raise ValueError(f"{len(prompts)} prompts exceed max_batch={self.max_batch}")
        started, captures = time.perf_counter(), self.captures
        width = max(map(len, prompts))
        length = -(-(width + max_new_tokens) // self.length_step) * self.length_step
        s = self._get_slots(self._bucket(len(prompts)), length, max_new_tokens)
        rows = prompts + [prompts[0]] * (s.batch - len(prompts))  # filler rows: decoded, never returned
        out: list[list[int] | None] = [None] * len(prompts)
        where = list(range(len(prompts)))  # the prompt each live row of `s` belongs to
        record = {"rows": len(prompts), "bucket": s.batch, "cache": length, "compacted": 0}
        with grouped_attention(self.model):
            record["shared"], record["width"] = self._prefill(s, rows, temperature)
            steps, every = 1, 8 if self.graphs else 1  # how often to look at the stop flags (a host sync)
            while steps < max_new_tokens:
                if steps % every == 0:
                    done = s.done[: len(where)].tolist()
                    if all(done):
                        break
                    live = [i for i, d in enumerate(done) if not d]
                    if self._bucket(len(live)) <= s.batch // 4:  # most rows finished: go on in a smaller batch
                        rows_so_far = s.out[: len(where), :steps].tolist()  # one copy to the host, not one per row
                        for i, d in enumerate(done):
                            if d:
                                out[where[i]] = rows_so_far[i]
                        s, where = self._compact(s, live), [where[i] for i in live]
                        record["compacted"] += 1
                self._run_step(s, temperature)
                steps += 1
        for i, row in enumerate(s.out[: len(where), :steps].tolist()):
            out[where[i]] = row
        seconds = round(time.perf_counter() - started, 4)
        self.history.append(record | {"steps": steps, "seconds": seconds, "captured": self.captures - captures})
        return out

    def _bucket(self, rows: int) -> int:
        return min(self.max_batch, 1 << (rows - 1).bit_length())

    def _compact(self, s: _Slots, live: list[int]) -> _Slots:
        """Move the live rows (cache, buffers) into the slots of a smaller batch; filler rows count as finished."""
        t = self._get_slots(self._bucket(len(live)), s.cache.length, s.out.shape[1])
        index = torch.tensor(live + [live[0]] * (t.batch - len(live)), device=self.device)
        torch.index_select(s.cache.keys, 1, index, out=t.cache.keys)
        torch.index_select(s.cache.values, 1, index, out=t.cache.values)
        for name in ("valid", "token", "position", "done", "out"):
            torch.index_select(getattr(s, name), 0, index, out=getattr(t, name))
        t.done[len(live) :] = True
        t.step.copy_(s.step)
        t.cache.pos.copy_(s.cache.pos)
        return t

    def _get_slots(self, batch: int, length: int, max_new: int) -> _Slots:
        key = (batch, length, max_new)
        if key not in self._slots:
            while len(self._slots) >= self.keep:
                self._slots.popitem(last=False)
                if self.graphs:
                    torch.cuda.empty_cache()
            self._slots[key] = _Slots(self.kv, batch, length, max_new, self.dtype, self.device)
        self._slots.move_to_end(key)
        return self._slots[key]

    def _prefill(self, s: _Slots, rows: list[list[int]], temperature: float) -> tuple[int, int]:
        """Write every prompt's keys into the cache and sample each row's first token; returns (shared, width).

        Layout: the prefix all rows share (the system prompt, the tool list) sits once at slots [0, shared), is
        computed for one row and copied to the others; each row's own rest follows, left-padded to one width."""
        shared = common_prefix(rows)
        rest = [r[shared:] for r in rows]
        width = max(map(len, rest))
        ids = torch.tensor([[self.pad_id] * (width - len(r)) + r for r in rest], device=self.device)
        real = torch.tensor([[False] * (width - len(r)) + [True] * len(r) for r in rest], device=self.device)
        position = shared + (real.cumsum(1) - 1).clamp(min=0)
        cache = s.cache
        if shared:
            cache.rows, cache.visible = slice(0, 1), shared
            cache.pos.zero_()
            prefix = torch.tensor([rows[0][:shared]], device=self.device)
            causal = torch.ones(shared, shared, dtype=torch.bool, device=self.device).tril()
            self._forward(prefix, causal[None, None], torch.arange(shared, device=self.device)[None], cache)
            for kv in (cache.keys, cache.values):
                kv[:, 1:, :, :shared] = kv[:, :1, :, :shared]
        causal = torch.ones(width, width, dtype=torch.bool, device=self.device).tril()
        eye = torch.eye(width, dtype=torch.bool, device=self.device)
        cache.pos.fill_(shared)
        cache.visible = shared + width
        for start in range(0, len(rows), self.prefill_rows):
            part = slice(start, start + self.prefill_rows)
            # A padding position attends to itself only: finite values, and no real token ever attends to it.
            own = (causal & real[part, None, :]) | eye
            mask = torch.cat([own.new_ones(own.shape[0], width, shared), own], dim=2)
            cache.rows = part
            logits = self._forward(ids[part], mask[:, None], position[part], cache)
            s.token[part, 0] = self._sample(logits, temperature)
        cache.rows, cache.visible = slice(None), cache.length
        cache.pos.fill_(shared + width)
        s.valid.fill_(True)
        s.valid[:, shared : shared + width] = real
        s.position.copy_(shared + real.sum(1, keepdim=True))
        s.done.copy_(self._is_stop(s.token[:, 0]))
        s.out.fill_(self.pad_id)
        s.out[:, 0] = s.token[:, 0]
        s.step.fill_(1)
        return shared, width

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
        """One decode step for all rows; only in-place writes to fixed buffers, so it can be captured."""
        mask = (s.valid & (s.slot <= s.cache.pos))[:, None, None, :]
        token = self._sample(self._forward(s.token, mask, s.position, s.cache), temperature)
        token = torch.where(s.done, self.pad_id, token)
        s.out.index_copy_(1, s.step, token[:, None])
        s.done |= self._is_stop(token)
        s.token.copy_(token[:, None])
        s.position += 1
        s.cache.pos += 1
        s.step += 1

    @contextmanager
    def _compiled_layers(self):
        """Decode through the compiled layers, each given its own part of the cache."""
        if self._compiled is None:
            yield
            return

        def call(compiled, i, *args, past_key_values, **kwargs):
            return compiled(*args, past_key_values=_LayerCache(past_key_values, i), **kwargs)

        for i, (layer, compiled) in enumerate(zip(self.layers, self._compiled, strict=True)):
            layer.forward = functools.partial(call, compiled, i)
        try:
            yield
        finally:
            for layer in self.layers:
                del layer.forward

    def _run_step(self, s: _Slots, temperature: float) -> None:
        if not self.graphs:
            with self._compiled_layers():
                return self._step(s, temperature)
        if temperature not in s.graphs:
            s.graphs[temperature] = self._capture(s, temperature)
        s.graphs[temperature].replay()

    def _capture(self, s: _Slots, temperature: float):
        """Warm up once on a side stream, capture one step, and put back the buffers the warm-up advanced (the
        cache slot and output column it wrote are written again by the real step)."""
        state = (s.token, s.position, s.done, s.step, s.cache.pos)
        saved = [t.clone() for t in state]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with self._compiled_layers():
            with torch.cuda.stream(stream):
                self._step(s, temperature)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._step(s, temperature)
        for buffer, value in zip(state, saved, strict=True):
            buffer.copy_(value)
        self.captures += 1
        return graph
