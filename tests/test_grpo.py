"""GRPO's math on fakes: advantages, skipped groups, and that only completion tokens carry loss."""

from types import SimpleNamespace

import pytest
import torch

import grpo

VOCAB = 11


class PositionLogits(torch.nn.Module):
    """A fake causal LM whose logits at position t are a learnable row t: gradients show which positions count."""

    def __init__(self, width=32):
        super().__init__()
        self.table = torch.nn.Parameter(torch.randn(width, VOCAB))

    def forward(self, input_ids, logits_to_keep=0):  # transformers' meaning: 0 keeps every position
        logits = self.table[: input_ids.shape[1]][-logits_to_keep:]
        return SimpleNamespace(logits=logits.expand(input_ids.shape[0], -1, -1))


def test_group_advantages():
    assert grpo.group_advantages([0.5, 0.5, 0.5], scale=False) is None
    adv = grpo.group_advantages([1.0, 0.0, 0.0, 0.0], scale=False)
    assert adv == [0.75, -0.25, -0.25, -0.25]
    scaled = torch.tensor(grpo.group_advantages([1.0, 0.0, 0.0, 0.0], scale=True))
    assert abs(scaled.mean()) < 1e-6 and abs(scaled.pow(2).mean().sqrt() - 1) < 1e-6


def test_zero_variance_groups_are_skipped_and_counted():
    turn = SimpleNamespace(prompt_ids=[1, 2], completion_ids=[3, 4])
    ep = SimpleNamespace(turns=[turn, turn])  # two turns: two sequences
    samples, skipped = grpo.batch_samples([[ep, ep], [ep, ep]], [[1.0, 0.0], [0.2, 0.2]], scale=False)
    assert skipped == 1 and len(samples) == 4 and [s.advantage for s in samples] == [0.5, 0.5, -0.5, -0.5]


def test_only_completion_positions_get_gradient():
    model = PositionLogits()
    sample = grpo.Sample([1, 2, 3, 4, 5], [6, 7, 8], advantage=1.0)
    short = grpo.Sample([1], [6, 7], advantage=-0.5)  # padded in the same batch
    logps = grpo.completion_logprobs(model, [sample, short], pad_id=0)
    expected = torch.log_softmax(model.table[4:7], -1)[[0, 1, 2], [6, 7, 8]]
    assert torch.allclose(logps[0], expected)
    sum(lp.sum() for lp in logps).backward()
    rows = model.table.grad.abs().sum(-1) > 0
    # prompt length 5: positions 4, 5, 6 predict the 3 completion tokens; prompt length 1: positions 0, 1.
    assert rows.nonzero().flatten().tolist() == [0, 1, 4, 5, 6]


def test_loss_is_normalized_by_completion_tokens_only():
    def loss_of(prompt):
        model = PositionLogits()
        torch.manual_seed(0)
        model.table.data = torch.randn_like(model.table)
        batch = [grpo.Sample(prompt, [6, 7, 8], 1.0), grpo.Sample(prompt, [9], -1.0)]
        logps = [lp.detach() for lp in grpo.completion_logprobs(model, batch, pad_id=0)]
        stats = grpo.update(model, torch.optim.SGD(model.parameters(), lr=0.0), batch, pad_id=0, micro_batch=1)
        return stats, logps

    stats, logps = loss_of([1, 2])
    assert stats["tokens"] == 4  # completion tokens, not prompt or padding
    assert abs(stats["loss"] - (-(logps[0].sum() - logps[1].sum()) / 4).item()) < 1e-5
    longer, _ = loss_of([1, 2, 3, 4, 5, 1, 2, 3])  # a longer prompt adds no terms
    assert longer["tokens"] == 4


def test_clipped_ratio_stops_gradient_outside_the_trust_region():
    logp = torch.tensor([0.0, 0.0], requires_grad=True)
    old = torch.tensor([-1.0, -0.05])  # ratios e and ~1.05
    grpo.token_loss(logp, old, advantage=1.0, clip=0.2).sum().backward()
    assert logp.grad[0] == 0 and logp.grad[1] < 0


def test_several_updates_record_old_logprobs_first():
    model = PositionLogits()
    batch = [grpo.Sample([1, 2], [3, 4], 1.0), grpo.Sample([1, 2], [5], -1.0)]
    before = [lp.detach() for lp in grpo.completion_logprobs(model, batch, pad_id=0)]
    stats = grpo.update(model, torch.optim.SGD(model.parameters(), lr=0.5), batch, pad_id=0, updates=3)
    assert torch.equal(batch[0].old_logprobs, before[0]) and stats["tokens"] == 3
    assert grpo.completion_logprobs(model, batch[:1], pad_id=0)[0].sum() > before[0].sum()  # A > 0 went up


def test_turns_without_token_ids_are_refused():
    ep = SimpleNamespace(turns=[SimpleNamespace(prompt_ids=None, completion_ids=None)])
    with pytest.raises(ValueError, match="exact token ids"):
        grpo.samples_of(ep, 1.0)


def test_padded_batch_logprobs_equal_single_sequences(smollm2):
    """Right padding without a mask: a real model gives every sequence the log-probs it gets alone."""
    from engines import models

    tokenizer, lm = models.load_tokenizer(smollm2), models.load_model(smollm2, "cpu")
    short = grpo.Sample(tokenizer("What is 2+2?")["input_ids"], tokenizer(" It is 4.")["input_ids"], 1.0)
    long = grpo.Sample(tokenizer("A much longer question about 12 boxes of 34 pens each?")["input_ids"],
                       tokenizer(" That makes 408 pens in all.")["input_ids"], 1.0)  # fmt: skip
    with torch.no_grad():
        together = grpo.completion_logprobs(lm, [short, long], pad_id=tokenizer.pad_token_id)
        alone = [grpo.completion_logprobs(lm, [s], pad_id=tokenizer.pad_token_id)[0] for s in (short, long)]
        # and what the whole forward gives (completion_logprobs asks only for the completion positions' logits)
        full = torch.log_softmax(lm(input_ids=torch.tensor([long.prompt_ids + long.completion_ids])).logits[0], -1)
    start, targets = len(long.prompt_ids), torch.tensor(long.completion_ids)
    expected = full[start - 1 : start - 1 + len(targets)].gather(-1, targets[:, None])[:, 0]
    assert torch.allclose(alone[1], expected, atol=1e-4)
    for a, b in zip(together, alone, strict=True):
        assert torch.allclose(a, b, atol=1e-4)


class TokenScripted:
    """Plays fixed assistant texts with a real tokenizer as LocalEngine does: the chat template renders the whole
    conversation, the tokenizer encodes it without special tokens, and a completion ends with ChatML's end of turn."""

    def __init__(self, tokenizer, *texts):
        self.tokenizer, self.texts = tokenizer, list(texts)

    async def chat(self, messages, tools, sampling):
        from episode import Turn

        text = self.texts.pop(0)
        rendered = self.tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
        prompt = self.tokenizer(rendered, add_special_tokens=False)["input_ids"]
        end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        completion = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [end]
        return Turn(text, "stop", len(prompt), len(completion), prompt_ids=prompt, completion_ids=completion)


def test_the_turns_of_a_real_episode_train_as_one_sequence_with_each_turns_logprobs(qwen):
    """Qwen's template re-renders a conversation as it was sampled, so a four-turn chain under the demo prompt is one
    training sequence: same trained tokens and the same log-probs as the four turn-by-turn sequences, with the
    prefix (system prompt, worked episode, question) through the model once instead of four times."""
    import asyncio

    from dataset import Problem
    from engines import models
    from episode import Sampling, run_episode, tool_call_text

    tokenizer = models.load_tokenizer(qwen)
    problem = Problem("p-3", "Ava buys 5 boxes of 12 pens, gives away 7 and shares the rest among 3 friends and "
                      "herself. How many pens does each get?", "13.25", "(5*12-7)/4", "chain", 3)  # fmt: skip
    script = [tool_call_text(e) for e in ("5*12", "60-7", "53/4")] + ["<answer>13.25</answer>"]
    ep = asyncio.run(run_episode(TokenScripted(tokenizer, *script), problem, True, 5, False, Sampling(1.0, 0, 64),
                                 "demo"))  # fmt: skip
    assert ep.correct and len(ep.turns) == 4
    (merged,) = grpo.samples_of(ep, 0.5)
    apart = [grpo.Sample(t.prompt_ids, t.completion_ids, 0.5) for t in ep.turns]
    assert merged.trained_tokens() == sum(len(t.completion_ids) for t in ep.turns)
    assert merged.prompt_ids + merged.completion_ids == apart[-1].prompt_ids + apart[-1].completion_ids
    assert sum(len(s.prompt_ids) + len(s.completion_ids) for s in apart) > 3 * len(merged.prompt_ids)
    lm = models.load_model(qwen, "cpu")
    with torch.no_grad():
        together = grpo.completion_logprobs(lm, [merged], pad_id=tokenizer.pad_token_id)[0]
        alone = torch.cat(grpo.completion_logprobs(lm, apart, pad_id=tokenizer.pad_token_id))
    assert together.shape == alone.shape and torch.allclose(together, alone, atol=1e-4)


def test_a_turn_whose_prompt_does_not_continue_the_sequence_starts_its_own():
    def turn(prompt, completion):
        return SimpleNamespace(prompt_ids=prompt, completion_ids=completion)

    # The second prompt continues the first sequence; the third re-tokenized it differently (2, 9 for 2, 3, 4).
    ep = SimpleNamespace(turns=[turn([1, 2], [3, 4]), turn([1, 2, 3, 4, 5], [6]), turn([1, 2, 9, 5, 6, 7], [8])])
    first, second = grpo.samples_of(ep, -1.0)
    assert (first.prompt_ids, first.completion_ids, first.spans()) == ([1, 2, 3, 4, 5], [6], [(2, 2), (5, 1)])
    assert (second.prompt_ids, second.completion_ids, second.earlier) == ([1, 2, 9, 5, 6, 7], [8], ())
    model = PositionLogits()
    logps = grpo.completion_logprobs(model, [first, second], pad_id=0)
    table = torch.log_softmax(model.table, -1)
    assert torch.allclose(logps[0], table[[1, 2, 4], [3, 4, 6]]) and torch.allclose(logps[1], table[[5], [8]])
    sum(lp.sum() for lp in logps).backward()
    # Positions 1, 2 and 4 predict the merged sequence's trained tokens, 5 the other's; 0 and 3 predict prompt tokens.
    assert (model.table.grad.abs().sum(-1) > 0).nonzero().flatten().tolist() == [1, 2, 4, 5]
    stats = grpo.update(model, torch.optim.SGD(model.parameters(), lr=0.0), [first, second], pad_id=0)
    assert stats["tokens"] == 4
