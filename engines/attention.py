"""How the model's layers run inside the static decoder (decoder.py): grouped-query attention by matrix products,
q/k/v and o projections fused with a LoRA adapter's matrices, the slot KV cache every row writes into, and the
patching of the model's layer forwards that puts these in place (`Layers.active`).
"""

import functools
import inspect
from contextlib import contextmanager

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import AttentionInterface

MATMUL_TOKENS = 64  # queries of up to this many tokens a row attend by matrix products, longer ones by fused kernels


def _grouped_sdpa(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention for grouped-query models that reads each key/value head once: the query heads sharing a key/value
    head are stacked along the query axis (transformers' sdpa copies keys and values per query head when a mask is
    given, which makes decoding over a long cache memory-bound).

    Decoding and small prefills multiply by hand (softmax in float32, as transformers' eager attention): the fused
    kernels give each (row, key/value head) one thread block that walks the whole cache, slower at every row count
    measured (benchmarks/RESULTS.md)."""
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
    cuDNN's attention: it plans every new shape on the host."""
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


class FusedAttention:
    """A decoder layer's attention (Qwen2's, Llama's) with q, k, v as one `_Stack` product and o_proj as another:
    with LoRA on q, k, v and o, 4 products a layer instead of 12 (a decode step at few rows is bound by kernel
    launches)."""

    KINDS = ("Qwen2Attention", "LlamaAttention")

    def __init__(self, attn, dtype):
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
        # Indexed on the cache itself: written through a transposed view, the compiled step copied whole caches.
        rows = (self.every_row if self.rows is None else self.rows)[:, None]
        keys[rows, :, self.slots] = key.transpose(1, 2)
        values[rows, :, self.slots] = value.transpose(1, 2)
        if self.rows is None:
            return keys, values
        return keys[self.rows], values[self.rows]


class LayerCache:
    """One layer's part of a SlotCache, handed to a compiled layer instead of the whole cache: the layer number
    (which `update` receives) then never reaches compiled code, so one compiled layer serves every layer."""

    def __init__(self, cache: SlotCache, layer: int):
        self.cache, self.keys, self.values = cache, cache.keys[layer], cache.values[layer]

    def update(self, key, value, *args, **kwargs):
        return self.cache.write(self.keys, self.values, key, value)


class Layers:
    """The model's decoder layers as the decoder runs them: compiled (default: on CUDA; one compiled layer serves all,
    each given its own part of the cache), their attention fused where the architecture allows (`FusedAttention`),
    and a LoRA adapter's weights in the model's dtype (peft keeps them in float32, which in a bf16 decode step costs
    float32 products without tensor cores, casts and split-K sums). Fused stacks and adapter copies are copies:
    `sync` takes the current weights again."""

    def __init__(self, model, dtype, compile: bool):
        self.layers = model.get_decoder().layers
        self.compiled = [torch.compile(layer.forward) for layer in self.layers] if compile else None
        try:
            self.fused = [FusedAttention(layer.self_attn, dtype) for layer in self.layers]
        except (AttributeError, ValueError):
            self.fused = None
        self.copies = [
            (p, torch.empty_like(p, dtype=dtype))
            for name, p in model.named_parameters()
            if "lora_" in name and p.is_floating_point() and p.dtype != dtype
        ]

    @torch.no_grad()
    def sync(self) -> None:
        """Take the adapter's current weights (after an update, before decoding)."""
        for p, copy in self.copies:
            copy.copy_(p)
        for fused in self.fused or ():
            fused.qkv.sync()
            fused.o.sync()

    @contextmanager
    def active(self):
        """Run the model through the layers as described above; its own forwards are back afterwards."""
        forwards = self.compiled or [layer.forward for layer in self.layers]

        def call(forward, i, hidden, *args, past_key_values, attention_mask, position_embeddings, **kwargs):
            cache, (cos, sin) = LayerCache(past_key_values, i), position_embeddings
            # Rows, tokens and cache length vary: compile for any, not once per shape (heads and widths stay fixed).
            dynamic = [(hidden, (0, 1)), (attention_mask, (0, 2, 3)), (cos, (0, 1)), (sin, (0, 1)),
                       (cache.keys, (0, 2)), (cache.values, (0, 2)), (past_key_values.slots, (0, 1)),
                       (past_key_values.every_row, (0,)), (past_key_values.rows, (0,))]  # fmt: skip
            for tensor, dims in dynamic if self.compiled else ():
                for d in dims if tensor is not None else ():
                    torch._dynamo.maybe_mark_dynamic(tensor, d)
            kwargs |= {"attention_mask": attention_mask, "position_embeddings": position_embeddings}
            if self.fused:  # an argument, not an attribute: one compiled layer serves every layer
                kwargs["fused"] = self.fused[i]
            return forward(hidden, *args, past_key_values=cache, **kwargs)

        for i, (layer, forward) in enumerate(zip(self.layers, forwards, strict=True)):
            layer.forward = functools.partial(call, forward, i)
            if self.fused:
                layer.self_attn.forward = FusedAttention.forward
        try:  # one compiled variant per kind of call (decode or prefill) and shape class: more than dynamo's 8
            with self._adapter_copies(), torch._dynamo.config.patch(recompile_limit=64):
                yield
        finally:
            for layer in self.layers:
                del layer.forward
                if self.fused:
                    del layer.self_attn.forward

    @contextmanager
    def _adapter_copies(self):
        saved = [p.data for p, _ in self.copies]
        for p, copy in self.copies:
            p.data = copy
        try:
            yield
        finally:
            for (p, _), data in zip(self.copies, saved, strict=True):
                p.data = data
