"""One GRPO update (grpo.update, the local backend's) timed, with the peak memory it adds, on sequences shaped like
training's: the real prompt of a tool episode (system prompt, tool schema, question) and a completion of a tool call.

    python -m benchmarks.update --model qwen2.5-coder-0.5b --sequences 16 --micro-batch 16 --repeats 3
    python -m benchmarks.update --chains 4 --micro-batch 4 [--apart]     # four-turn demo episodes, as trained

With --chains N the sequences are those of N four-turn episodes under the demo prompt (three chained calls and the
answer), as grpo.samples_of makes them (one sequence an episode), or with --apart one sequence per turn (before).

Prints seconds per update (the first, a warm-up, apart) and the peak memory above the loaded model (CUDA:
max_memory_allocated; CPU: the process's peak RSS, so run one configuration per process). Runs at any commit that has
grpo.update, to compare versions of it on one machine.
"""

import argparse
import json
import resource
import time

import torch

import grpo
from dataset import load_problems
from engines import models
from engines.lora import load_policy
from episode import TOOL_PROMPTS, system_prompt, template_ignores_tools, tool_call_text, tools_of

COMPLETION = tool_call_text("9145*117")


def samples_of(tokenizer, n: int) -> list[grpo.Sample]:
    tools_in_prompt = template_ignores_tools(tokenizer)
    out = []
    for i, p in enumerate(load_problems("dev")[:n]):
        messages = [{"role": "system", "content": system_prompt(True, tools_in_prompt)},
                    {"role": "user", "content": p.question}]  # fmt: skip
        tools = None if tools_in_prompt else tools_of("one-op")
        prompt = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
        completion = tokenizer(COMPLETION * (1 + i % 3))["input_ids"]  # 1-3 calls: completions of unequal length
        out.append(grpo.Sample(tokenizer(prompt)["input_ids"], completion, 0.5 if i % 2 else -0.5))
    return out


def chain_samples(tokenizer, n: int, apart: bool) -> list[grpo.Sample]:
    """The training sequences of n scripted four-turn demo episodes, tokenized as the local engine does."""
    tools_in_prompt = template_ignores_tools(tokenizer)
    tools = None if tools_in_prompt else tools_of("demo")
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    script = [(tool_call_text("4*25"), "100"), (tool_call_text("100-30"), "70"), (tool_call_text("70/5"), "14"),
              ("<answer>14</answer>", None)]  # fmt: skip
    out = []
    for i, p in enumerate(load_problems("dev")[:n]):
        messages = [{"role": "system", "content": system_prompt(True, tools_in_prompt, "demo")},
                    *TOOL_PROMPTS["demo"].demo, {"role": "user", "content": p.question}]  # fmt: skip
        turns = []
        for text, result in script:
            prompt = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
            ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            turns.append(grpo.Sample(ids, tokenizer(text, add_special_tokens=False)["input_ids"] + [end], 0.0))
            messages += [{"role": "assistant", "content": text}] + [{"role": "tool", "content": result}] * bool(result)
        advantage = 0.5 if i % 2 else -0.5
        episode = argparse.Namespace(turns=turns)
        out += (
            [grpo.Sample(t.prompt_ids, t.completion_ids, advantage) for t in turns]
            if apart
            else grpo.samples_of(episode, advantage)
        )
    return out


def peak_gib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="qwen2.5-coder-0.5b", help="offline alias, GGUF file or folder")
    p.add_argument("--sequences", type=int, default=16, help="training sequences in the update")
    p.add_argument("--micro-batch", type=int, default=16, help="sequences per forward/backward pass")
    p.add_argument("--repeats", type=int, default=3, help="timed updates after the warm-up")
    p.add_argument("--chains", type=int, default=0, help="sequences of this many four-turn demo episodes instead")
    p.add_argument("--apart", action="store_true", help="with --chains: one sequence per turn, not per episode")
    args = p.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = models.resolve_model(args.model)
    tokenizer = models.load_tokenizer(resolved)
    lora = argparse.Namespace(lora_r=16, lora_alpha=32, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"])
    lm = load_policy(resolved, device, lora)  # simple_train.py's default adapter
    optimizer = torch.optim.SGD([q for q in lm.parameters() if q.requires_grad], lr=0.0)  # the weights stay as they are
    samples = (
        chain_samples(tokenizer, args.chains, args.apart) if args.chains else samples_of(tokenizer, args.sequences)
    )
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() / 2**30 if device == "cuda" else peak_gib(device)
    times = []
    for _ in range(args.repeats + 1):
        t0 = time.perf_counter()
        grpo.update(lm, optimizer, samples, pad_id=tokenizer.pad_token_id, micro_batch=args.micro_batch)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    row = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "sequences": len(samples),
        "micro_batch": args.micro_batch,
        "tokens": sum(len(s.prompt_ids) + len(s.completion_ids) for s in samples),
        # every turn's completion, also those merged into a later turn's sequence (older grpo.Sample: no `earlier`)
        "completion_tokens": sum(len(s.completion_ids) + sum(n for _, n in getattr(s, "earlier", ())) for s in samples),
        "warmup_s": round(times[0], 2),
        "update_s": round(sum(times[1:]) / args.repeats, 2),
        "peak_added_gib": round(peak_gib(device) - base, 2),
    }
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main()
