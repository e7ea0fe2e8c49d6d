"""The machinery behind `episode.run_episode`: engines that play assistant turns, model loading, and the updaters
that train a policy for simple_train.py's loop.

    local.py     LocalEngine: transformers (+ peft) on this machine, turns of all running episodes decoded together
    decoder.py   StaticDecoder: continuous batching over a fixed-size KV cache, CUDA graphs on a GPU
    attention.py the decoder's attention: grouped-query products, fused q/k/v and o projections with LoRA
    server.py    OpenAIEngine: any OpenAI-compatible server (vLLM, `transformers serve`)
    models.py    what `--model` names (offline aliases, GGUF files, folders, hub ids), loaded for inference or LoRA
    lora.py      LocalUpdater: a peft LoRA trained by grpo.update, with resumable checkpoints
    art.py       the art backend: ARTEngine (rollouts through ART's vLLM server) and ARTUpdater (ART's training)

An engine's `chat(messages, tools, sampling)` returns an `episode.Turn`; an updater's `update(groups, rewards)`
trains on scored groups of episodes and returns the backend's step number with its loss statistics.
"""

import importlib.util


class EngineError(Exception):
    """A backend that cannot run here; the message is one line for the user."""


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
