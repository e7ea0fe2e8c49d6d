"""LocalUpdater: the local backend of simple_train.py. One peft LoRA model both samples (LocalEngine reads its
weights in place) and trains (grpo.update); a checkpoint after every step (runs.save_checkpoint) makes a killed run
resume where it stopped, with the optimizer moments and RNG states of the uninterrupted run.
"""

import random

import grpo
import runs
from engines.local import LocalEngine
from engines.models import load_model, load_tokenizer, resolve_model
from episode import template_ignores_tools


def load_policy(resolved, device: str, args, checkpoint=None):
    """The PEFT model that both samples and trains: a fresh LoRA, or the checkpoint's adapter."""
    from peft import LoraConfig, get_peft_model

    if checkpoint:
        return load_model(resolved, device, adapter=str(checkpoint), trainable=True)
    lora = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, target_modules=args.lora_targets,
                      lora_dropout=0.0, task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(load_model(resolved, device), lora)


class LocalUpdater:
    """Loads the policy (resuming from OUT's last checkpoint), then trains it one GRPO step per `update`."""

    def __init__(self, args, out):
        import torch

        random.seed(args.seed)
        torch.manual_seed(args.seed)  # the LoRA init
        self.args, self.out = args, out
        resolved = resolve_model(args.model)
        self.model_sha256 = resolved.sha256
        self.tokenizer = load_tokenizer(resolved)
        self.tools_in_prompt = template_ignores_tools(self.tokenizer)
        checkpoint = runs.latest_checkpoint(out)
        self.lm = load_policy(resolved, "cuda" if torch.cuda.is_available() else "cpu", args, checkpoint)
        params = [p for p in self.lm.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
        self.step = runs.load_checkpoint(checkpoint, self.optimizer)["step"] if checkpoint else 0
        self.engine = LocalEngine(self.lm, self.tokenizer, batch_size=args.batch_size)

    async def update(self, groups: list[list], scores: list[list[float]]) -> dict:
        """One GRPO step on the groups that have a signal (every turn's exact sampled ids)."""
        a = self.args
        samples, _ = grpo.batch_samples(groups, scores, a.scale_rewards)
        stats = grpo.update(self.lm, self.optimizer, samples, pad_id=self.tokenizer.pad_token_id,
                            micro_batch=a.micro_batch, updates=a.updates_per_batch, clip=a.clip,
                            temperature=a.temperature)  # fmt: skip
        self.step += 1
        return {"step": self.step, "train_tokens": stats["tokens"]} | {k: stats[k] for k in ("loss", "grad_norm")}

    def save(self, step: int) -> str:
        """Checkpoint the step (after its metrics are written: a step logged but not saved runs again)."""
        return str(runs.save_checkpoint(self.out, step, self.lm, self.optimizer))

    async def close(self) -> None:
        self.engine.close()
