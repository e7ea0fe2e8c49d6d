"""GRPO for the local backend: group advantages, the training sequences of an episode's turns, the token-level loss.

Every assistant turn is trained on the exact ids the model was shown (`Turn.prompt_ids`) followed by the ids it
sampled (`Turn.completion_ids`); nothing is re-tokenized. Where a turn's prompt ids begin with the previous turn's
whole sequence (the usual case: the chat template re-renders the conversation as it was sampled), the two turns are
one sequence with both completions trained, so the shared prefix runs through the model once, not once per turn; the
log-probs are those of separate sequences, as every trained token sees exactly the context it was sampled in. The
loss covers completion positions only: system and user prompts and tool results are never trained on. The summed
token loss is divided by the number of completion tokens in the batch (all groups, all turns).

With one update per batch the loss is the plain policy gradient -A * log p(token); with more, the PPO clipped
ratio against the log-probs recorded before the first update. No KL term.
"""

import math
from dataclasses import dataclass

import torch


@dataclass
class Sample:
    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float
    old_logprobs: torch.Tensor | None = None  # per trained token, recorded before the first update
    earlier: tuple[tuple[int, int], ...] = ()  # (start, length) of earlier turns' completions inside prompt_ids

    def spans(self) -> list[tuple[int, int]]:
        """(start, length) of every trained stretch of prompt_ids + completion_ids, in order."""
        return [*self.earlier, (len(self.prompt_ids), len(self.completion_ids))]

    def trained_tokens(self) -> int:
        return sum(n for _, n in self.spans())


def group_advantages(rewards: list[float], scale: bool) -> list[float] | None:
    """Reward minus the group mean (divided by the group std if `scale`); None when all rewards are equal."""
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    if std < 1e-9:
        return None  # no signal: every advantage would be 0
    return [(r - mean) / std if scale else r - mean for r in rewards]


def samples_of(episode, advantage: float) -> list[Sample]:
    """The training sequences of the episode's assistant turns, all with the episode's advantage: a turn whose prompt
    ids continue the previous sequence extends it, any other starts a new one."""
    out = []
    for turn in episode.turns:
        if turn.prompt_ids is None or turn.completion_ids is None:
            raise ValueError("training needs the exact token ids of every turn (use the local engine)")
        if not turn.completion_ids:
            continue
        prompt, completion = list(turn.prompt_ids), list(turn.completion_ids)
        last = out[-1] if out else None
        if last and prompt[: len(last.prompt_ids) + len(last.completion_ids)] == last.prompt_ids + last.completion_ids:
            out[-1] = Sample(prompt, completion, advantage, earlier=tuple(last.spans()))
        else:
            out.append(Sample(prompt, completion, advantage))
    return out


def batch_samples(groups: list[list], group_rewards: list[list[float]], scale: bool) -> tuple[list[Sample], int]:
    """The training sequences of every group that has a signal, and the number of zero-variance groups skipped."""
    samples, skipped = [], 0
    for episodes, rewards in zip(groups, group_rewards, strict=True):
        advantages = group_advantages(rewards, scale)
        if advantages is None:
            skipped += 1
            continue
        for ep, adv in zip(episodes, advantages, strict=True):
            samples += samples_of(ep, adv)
    return samples, skipped


def completion_logprobs(model, batch: list[Sample], pad_id: int, temperature: float = 1.0) -> list[torch.Tensor]:
    """log p(trained token | everything before it) for each sample (its spans in order), from one right-padded
    forward pass."""
    device = next(model.parameters()).device
    rows = [s.prompt_ids + s.completion_ids for s in batch]
    width = max(map(len, rows))
    ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows], device=device)
    # No attention mask: with right padding, causal attention alone keeps every real token from seeing padding, and
    # a padding mask would leave fully masked rows whose NaNs leak into the gradients through sdpa's backward.
    # Logits only from the batch's first trained position on: the prompts' vocabulary-wide logits are most of the
    # forward's memory and are never used (a merged episode also keeps those of the tool results between its turns).
    keep = width - min(s.spans()[0][0] for s in batch) + 1
    logits = model(input_ids=ids, logits_to_keep=keep).logits
    offset = width - keep  # logits[:, j] are those of position offset + j
    out = []
    for i, s in enumerate(batch):
        parts = []
        for start, n in s.spans():  # logits at position t predict token t + 1
            step_logits = logits[i, start - 1 - offset : start - 1 - offset + n].float() / temperature
            targets = ids[i, start : start + n]
            parts.append(torch.log_softmax(step_logits, -1).gather(-1, targets[:, None])[:, 0])
        out.append(torch.cat(parts))
    return out


def token_loss(logp: torch.Tensor, old: torch.Tensor | None, advantage: float, clip: float) -> torch.Tensor:
    """Per-token loss: -A * log p on-policy (`old` None), else PPO's clipped ratio against the old log-probs."""
    if old is None:
        return -advantage * logp
    ratio = torch.exp(logp - old)
    return -torch.minimum(ratio * advantage, torch.clamp(ratio, 1 - clip, 1 + clip) * advantage)


def micro_batches(samples: list[Sample], size: int) -> list[list[Sample]]:
    ordered = sorted(samples, key=lambda s: len(s.prompt_ids) + len(s.completion_ids))  # less padding
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def update(
    model,
    optimizer,
    samples: list[Sample],
    *,
    pad_id: int,
    micro_batch: int = 4,
    updates: int = 1,
    clip: float = 0.2,
    temperature: float = 1.0,
    max_grad_norm: float = 1.0,
) -> dict:
    """`updates` optimizer steps on the batch, gradients accumulated over micro-batches. Returns loss stats."""
    n_tokens = sum(s.trained_tokens() for s in samples)
    if n_tokens == 0:
        return {"loss": None, "tokens": 0, "grad_norm": None}
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if updates > 1:
        with torch.no_grad():
            for batch in micro_batches(samples, micro_batch):
                for s, lp in zip(batch, completion_logprobs(model, batch, pad_id, temperature), strict=True):
                    s.old_logprobs = lp
    losses, norms = [], []
    for _ in range(updates):
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for batch in micro_batches(samples, micro_batch):
            logps = completion_logprobs(model, batch, pad_id, temperature)
            loss = sum(
                token_loss(lp, s.old_logprobs, s.advantage, clip).sum() for s, lp in zip(batch, logps, strict=True)
            )
            (loss / n_tokens).backward()
            total += loss.item() / n_tokens
        norms.append(torch.nn.utils.clip_grad_norm_(params, max_grad_norm).item())
        if math.isfinite(norms[-1]):
            optimizer.step()  # a non-finite gradient would turn the adapter into NaNs: that batch is skipped
        losses.append(total)
    optimizer.zero_grad(set_to_none=True)
    model.eval()
    return {"loss": losses[0], "tokens": n_tokens, "grad_norm": norms[0]}
