"""One GRPO update (grpo.update, the local backend's) timed, with the peak memory it adds, on sequences shaped like
training's: the real prompt of a tool episode (system prompt, tool schema, question) and a completion of a tool call.

    python -m benchmarks.update --model qwen2.5-coder-0.5b --sequences 16 --micro-batch 16 --repeats 3

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
from episode import system_prompt, template_ignores_tools, tool_call_text, tools_of

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
    args = p.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = models.resolve_model(args.model)
    tokenizer = models.load_tokenizer(resolved)
    lora = argparse.Namespace(lora_r=16, lora_alpha=32, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"])
    lm = load_policy(resolved, device, lora)  # simple_train.py's default adapter
    optimizer = torch.optim.SGD([q for q in lm.parameters() if q.requires_grad], lr=0.0)  # the weights stay as they are
    samples = samples_of(tokenizer, args.sequences)
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
        "completion_tokens": sum(len(s.completion_ids) for s in samples),
        "warmup_s": round(times[0], 2),
        "update_s": round(sum(times[1:]) / args.repeats, 2),
        "peak_added_gib": round(peak_gib(device) - base, 2),
    }
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main()
