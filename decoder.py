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
"""

import functools
import os
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import AttentionInterface


def common_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix all rows share, leaving every row at least one token of its own."""
    return min(len(os.path.commonprefix(rows)), min(map(len, rows)) - 1)


MATMUL_TOKENS = 64  # queries of up to this many tokens a row attend by matrix products, longer ones by fused kernels


def _grouped_sdpa(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention for grouped-query models that reads each key/value head once: the query heads sharing a key/value
    head are stacked along the query axis (transformers' sdpa copies keys and values per query head when a mask is
    given, which makes decoding over a long cache memory-bound).

    Decoding and small prefills multiply by hand (softmax in float32, as transformers' eager attention): the fused
    kernels give each (row, key/value head) one thread block that walks the whole cache. Measured on the H100 over
    1,280 slots, a decode step took 2.2 / 2.8 / 4.6 ms at 1 / 64 / 256 rows this way, 3.8 / 4.0 / 5.3 fused."""
    batch, heads, q_len, dim = query.shape
    groups = heads // key.shape[1]
    query = query.reshape(batch, key.shape[1], groups * q_len, dim)
    scale = dim**-0.5 if scaling is None else scaling
    mask = attention_mask[:, :, None].expand(-1, -1, groups, -1, -1).reshape(batch, 1, groups * q_len, -1)
    if q_len <= MATMUL_TOKENS:
        scores = (torch.matmul(query, key.transpose(2, 3)) * scale).masked_fill(~mask, float("-inf"))
        out = torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32).to(value.dtype), value)
    else:
        out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)
    return out.reshape(batch, heads, q_len, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register("grouped_sdpa", _grouped_sdpa)


@contextmanager
def grouped_attention(model):
    """Run the model with `_grouped_sdpa` (captured graphs keep it), then give back its own attention. Not through
    cuDNN's attention: it plans every new shape on the host (~1.4 ms a call on the GPU machine's slow CPU)."""
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = "grouped_sdpa"
    try:
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
            yield
    finally:
        config._attn_implementation = before


class _Stack:
    """Linear maps of one input as one product: their weights stacked, with a LoRA adapter's A matrices below them,
    and the adapter's B matrices as one block-diagonal product (the same sums as peft: base + B(A x) * scaling).
    `parts`: (weight, bias, (A, B, scaling) or None) each. The stacks are copies, taken again by `sync`."""

    def __init__(self, parts, dtype):
        self.parts = parts
        self.sizes = [w.shape[0] for w, _, _ in parts]
        weight, lora = parts[0][0], [p[2] for p in parts if p[2] is not None]
        rank, out = sum(a.shape[0] for a, _, _ in lora), sum(self.sizes)
        new = functools.partial(torch.zeros, dtype=dtype, device=weight.device)
        self.weight = new(out + rank, weight.shape[1])
        self.bias = new(out + rank) if any(b is not None for _, b, _ in parts) else None
        self.lora_b = new(out, rank) if rank else None
        self.scale = new(out)
        self.sync()

    @torch.no_grad()
    def sync(self) -> None:
        row, col, out = 0, 0, sum(self.sizes)  # A matrices go below all the weights
        for (w, b, lora), size in zip(self.parts, self.sizes, strict=True):
            self.weight[row : row + size] = w
            if b is not None:
                self.bias[row : row + size] = b
            if lora is not None:
                a, b_, scaling = lora
                self.weight[out + col : out + col + a.shape[0]] = a
                self.lora_b[row : row + size, col : col + a.shape[0]] = b_
                self.scale[row : row + size] = scaling
                col += a.shape[0]
            row += size

    def __call__(self, x):
        y = torch.nn.functional.linear(x, self.weight, self.bias)
        if self.lora_b is None:
            return y
        n = self.lora_b.shape[0]
        return y[..., :n] + torch.nn.functional.linear(y[..., n:], self.lora_b) * self.scale


def _projection(module):
    """(weight, bias, LoRA (A, B, scaling) or None) of an nn.Linear or of a peft LoRA layer over one with at most one
    plain adapter active; None for anything else."""
    if type(module) is torch.nn.Linear:
        return module.weight, module.bias, None
    base = getattr(module, "base_layer", None)
    if type(base) is not torch.nn.Linear or not hasattr(module, "lora_A") or getattr(module, "fan_in_fan_out", False):
        return None
    active = (
        [] if module.merged or module.disable_adapters else [a for a in module.active_adapters if a in module.lora_A]
    )
    if len(active) > 1 or any(a in module.lora_variant for a in active):
        return None
    lora = [(module.lora_A[a].weight, module.lora_B[a].weight, module.scaling[a]) for a in active]
    return base.weight, base.bias, lora[0] if lora else None


class _FusedAttention:
    """A decoder layer's attention (Qwen2's, Llama's) with q, k, v as one `_Stack` product and o_proj as another:
    with LoRA on q, k, v and o, 4 products a layer instead of 12. A decode step is launch-bound at few rows: on the
    H100 with a rank-16 LoRA, 469 kernels instead of 637 at 4 rows, 1.5 / 2.5 / 4.5 ms at 1 / 64 / 256 rows
    instead of 2.2 / 2.8 / 4.6."""

    KINDS = ("Qwen2Attention", "LlamaAttention")

    def __init__(self, attn, dtype):
        import inspect

        parts = [_projection(getattr(attn, name)) for name in ("q_proj", "k_proj", "v_proj", "o_proj")]
        if type(attn).__name__ not in self.KINDS or None in parts:
            raise ValueError(f"cannot fuse {type(attn).__name__}")
        self.qkv, self.o = _Stack(parts[:3], dtype), _Stack(parts[3:], dtype)
        self.head_dim, self.scaling = attn.head_dim, attn.scaling
        self.rope = inspect.getmodule(type(attn)).apply_rotary_pos_emb

    @staticmethod
    def forward(hidden_states, position_embeddings, attention_mask, past_key_values, fused=None, **kwargs):
        """Stands in for the attention module's forward (the layer passes `fused`, the cache is a `_LayerCache`)."""
        shape = hidden_states.shape[:-1]
        q, k, v = (
            t.unflatten(-1, (-1, fused.head_dim)).transpose(1, 2)
            for t in fused.qkv(hidden_states).split(fused.qkv.sizes, dim=-1)
        )
        q, k = fused.rope(q, k, *position_embeddings)
        k, v = past_key_values.update(k, v)
        out, _ = _grouped_sdpa(None, q, k, v, attention_mask, scaling=fused.scaling)
        return fused.o(out.reshape(*shape, -1)), None


class SlotCache:
    """The KV cache the model writes into: keys and values of all layers, [layers, batch, kv_heads, slots, head_dim].
    A forward writes key j of its i-th row at slot `slots[i, j]` of cache row `rows[i]` (`rows` None: every row, in
    order). The last slot is scratch: padding writes there and nothing attends to it."""

    def __init__(self, shape: tuple[int, ...], dtype, device):
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.every_row = torch.arange(shape[1], device=device)
        self.rows: torch.Tensor | None = None
        self.slots: torch.Tensor | None = None

    def update(self, key, value, layer_idx, *args, **kwargs):
        return self.write(self.keys[layer_idx], self.values[layer_idx], key, value)

    def write(self, keys, values, key, value):
        # Indexed on the cache itself: written through a transposed view, the compiled step copied whole caches
        # (on the H100, 256 rows over 1,280 slots took 12.0 ms a step; 6.9 ms written in place).
        rows = (self.every_row if self.rows is None else self.rows)[:, None]
        keys[rows, :, self.slots] = key.transpose(1, 2)
        values[rows, :, self.slots] = value.transpose(1, 2)
        if self.rows is None:
            return keys, values
        return keys[self.rows], values[self.rows]


class _LayerCache:
    """One layer's part of a SlotCache, handed to a compiled layer instead of the whole cache: the layer number
    (which `update` receives) then never reaches compiled code, so one compiled layer serves every layer."""

    def __init__(self, cache: SlotCache, layer: int):
        self.cache, self.keys, self.values = cache, cache.keys[layer], cache.values[layer]

    def update(self, key, value, *args, **kwargs):
        return self.cache.write(self.keys, self.values, key, value)


class _Slots:
    """The cache and per-row buffers for one (rows, cache length) shape, with its captured graphs per temperature."""

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


class StaticDecoder:
    """Greedy or sampled continuous decoding. `admit` fills free rows with requests, `advance` decodes a few steps
    and returns the finished turns (each row's new tokens up to and including its stop token). Rows are bucketed to
    powers of two (at most `max_batch`), cache lengths to multiples of `length_step` (a length only grows); the most
    recent `keep` shapes of the current length stay allocated with their graphs. `generate` runs a list of prompts
    to the end."""

    def __init__(
        self, model, stop_ids, pad_id: int, *, max_batch: int, prefill_tokens=0, length_step=256, compile=None
    ):
        self.model, self.pad_id, self.max_batch = model, pad_id, max_batch
        self.length_step, self.keep = length_step, 12
        self.device = next(model.parameters()).device
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
        # Decode steps through torch.compile'd decoder layers (default: on CUDA); one compiled layer serves all.
        self.layers = model.get_decoder().layers
        compile = self.device.type == "cuda" if compile is None else compile
        self._compiled = [torch.compile(layer.forward) for layer in self.layers] if compile else None
        # Attention with fused projections where the architecture allows (copies of the weights, see `_Stack`).
        try:
            self._fused = [_FusedAttention(layer.self_attn, self.dtype) for layer in self.layers]
        except (AttributeError, ValueError):
            self._fused = None
        # peft keeps LoRA weights in float32; decoding uses copies in the model's dtype (see `sync_weights`).
        self._copies = [
            (p, torch.empty_like(p, dtype=self.dtype))
            for name, p in model.named_parameters()
            if "lora_" in name and p.is_floating_point() and p.dtype != self.dtype
        ]
        self.captures = 0
        self._shapes: OrderedDict[tuple[int, int], _Slots] = OrderedDict()
        self.s: _Slots | None = None
        self.rows: list[Request | None] = []  # the request each row is generating; None: free
        self.held: list[tuple[Any, list[int]]] = []  # per row: the conversation it holds and its cached tokens
        self.steps = 0
        self.history: list[dict] = []  # one record per admission, resize and capture (bench.py --trace)
        self.clock = time.perf_counter()
        self.wait_s = 0.0  # host time spent waiting for the GPU at the looks at the stop flags

    def live(self) -> list[int]:
        """The rows generating a turn now."""
        return [i for i, r in enumerate(self.rows) if r is not None]

    def _held_for(self, requests: list[Request]) -> list[int]:
        """The free rows that hold a conversation one of `requests` goes on with."""
        asked = {id(r.conversation) for r in requests if r.conversation is not None}
        return [i for i, (c, _) in enumerate(self.held) if self.rows[i] is None and c is not None and id(c) in asked]

    @torch.no_grad()
    def sync_weights(self) -> None:
        """Take the adapter's current weights (call after an update, before decoding). In bf16 on the H100, LoRA in
        float32 cost ~400 of a step's ~830 kernels (float32 products without tensor cores, casts, split-K sums)."""
        for p, copy in self._copies:
            copy.copy_(p)
        for fused in self._fused or ():
            fused.qkv.sync()
            fused.o.sync()

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
        rows rounded up to a power of two and a fixed width; a forward outside a graph costs 25-40 ms of host time
        there."""
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
                with self._compiled_layers():
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
        grown = [(s.batch, list(s.graphs), list(s.prefills)) for s in self._shapes.values() if s.length < length]
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
        """The buffers for a shape. Cache lengths only grow, so shapes of a shorter length are dropped."""
        for old in [k for k in self._shapes if k[1] < length]:
            del self._shapes[old]
        key = (batch, length)
        if key not in self._shapes:
            while len(self._shapes) >= self.keep:
                self._shapes.popitem(last=False)
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

    @contextmanager
    def _compiled_layers(self):
        """Run the model through its layers as the decoder does: compiled (default: on CUDA), each given its own part
        of the cache, their attention fused where the architecture allows, the adapter's weights in the model's
        dtype."""
        forwards = self._compiled or [layer.forward for layer in self.layers]

        def call(forward, i, hidden, *args, past_key_values, attention_mask, position_embeddings, **kwargs):
            cache, (cos, sin) = _LayerCache(past_key_values, i), position_embeddings
            # Rows, tokens and cache length vary: compile for any, not once per shape (heads and widths stay fixed).
            dynamic = [(hidden, (0, 1)), (attention_mask, (0, 2, 3)), (cos, (0, 1)), (sin, (0, 1)),
                       (cache.keys, (0, 2)), (cache.values, (0, 2)), (past_key_values.slots, (0, 1)),
                       (past_key_values.every_row, (0,)), (past_key_values.rows, (0,))]  # fmt: skip
            for tensor, dims in dynamic if self._compiled else ():
                for d in dims if tensor is not None else ():
                    torch._dynamo.maybe_mark_dynamic(tensor, d)
            kwargs |= {"attention_mask": attention_mask, "position_embeddings": position_embeddings}
            if self._fused:  # an argument, not an attribute: one compiled layer serves every layer
                kwargs["fused"] = self._fused[i]
            return forward(hidden, *args, past_key_values=cache, **kwargs)

        for i, (layer, forward) in enumerate(zip(self.layers, forwards, strict=True)):
            layer.forward = functools.partial(call, forward, i)
            if self._fused:
                layer.self_attn.forward = _FusedAttention.forward
        try:  # one compiled variant per kind of call (decode or prefill) and shape class: more than dynamo's 8
            with self._adapter_copies(), torch._dynamo.config.patch(recompile_limit=64):
                yield
        finally:
            for layer in self.layers:
                del layer.forward
                if self._fused:
                    del layer.self_attn.forward

    @contextmanager
    def _adapter_copies(self):
        saved = [p.data for p, _ in self._copies]
        for p, copy in self._copies:
            p.data = copy
        try:
            yield
        finally:
            for (p, _), data in zip(self._copies, saved, strict=True):
                p.data = data

    def _run_step(self, s: _Slots, temperature: float, capture_only=False) -> None:
        if not self.graphs:
            if not capture_only:
                with self._compiled_layers():
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
        with self._compiled_layers():
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
