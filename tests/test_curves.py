"""The training curves a person reads: labelled axes, the reward on its own panel, a visible one-step run, and
reproduce.py's figure of every seed's in-training evals on each set."""

import json
from types import SimpleNamespace

import reproduce
import runs


def row(step, train_acc, eval_acc=None, reward=0.5, **evals):
    return {"step": step, "train_acc": train_acc, "eval_acc": eval_acc, "reward_mean": reward, "reward_std": 0.1,
            **evals}  # fmt: skip


def test_run_curve_has_labels_and_the_reward_apart():
    fig = runs.curve_figure([row(1, 0.2), row(2, 0.4, 0.5, reward=0.8), row(3, 0.6, 0.7, reward=1.0)], "train")
    acc, reward = fig.axes
    assert acc.get_ylabel() == "accuracy" and reward.get_ylabel() == "reward" and reward.get_xlabel() == "step"
    assert "train" in acc.get_title()
    assert [line.get_label() for line in acc.lines] == ["train accuracy (sampled)", "test accuracy (greedy)"]
    (mean,) = reward.lines  # the reward is not drawn over the accuracies
    assert list(mean.get_ydata()) == [0.5, 0.8, 1.0]


def test_the_curves_start_at_the_untrained_evals_of_every_set():
    untrained = {"step": 0, "data_pos": 0, "eval_acc": 0.1, "eval_acc_ood": 0.05, "eval_acc_dev": 0.12}
    rows = [untrained, row(1, 0.2), row(2, 0.4, 0.5, eval_acc_ood=0.3, eval_acc_dev=0.55)]
    acc, reward = runs.curve_figure(rows, "train").axes
    lines = {line.get_label(): line for line in acc.lines}
    assert list(lines) == ["train accuracy (sampled)", "test accuracy (greedy)", "test-ood accuracy (greedy)",
                           "dev accuracy (greedy)"]  # fmt: skip
    assert list(lines["train accuracy (sampled)"].get_xdata()) == [1, 2]  # step 0 trained on nothing
    assert list(lines["test-ood accuracy (greedy)"].get_xdata()) == [0, 2]
    assert list(lines["test-ood accuracy (greedy)"].get_ydata()) == [0.05, 0.3]
    assert list(lines["dev accuracy (greedy)"].get_ydata()) == [0.12, 0.55]
    assert reward.get_xlim()[0] < 0


def test_a_one_step_run_is_drawn_on_usable_axes():
    fig = runs.curve_figure([row(1, 0.25, 0.5)], "train")
    acc, reward = fig.axes
    low, high = reward.get_xlim()
    assert low < 1 < high and high - low >= 1
    assert acc.get_ylim()[1] - acc.get_ylim()[0] > 1
    assert all(line.get_marker() not in (None, "None", "") for line in acc.lines)  # a single point is visible


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_reproduce_curves_show_each_seeds_in_training_evals_per_set_from_step_0(tmp_path):
    args = SimpleNamespace(models=["smollm2-135m"], seeds=[0, 1], out=str(tmp_path))
    for seed in (0, 1):
        rows = [{"step": s, "eval_acc": a, "eval_acc_ood": a / 2} for s, a in [(0, 0.02), (10, 0.5), (30, 0.78)]]
        if seed == 1:
            rows = [r | {"eval_acc_dev": 0.1} for r in rows] + [{"step": 31, "eval_acc": None}]
        text = "\n".join(json.dumps(r) for r in rows) + "\n"
        write(runs.seed_dir(tmp_path, "smollm2-135m", seed) / "train" / "metrics.jsonl", text)
    (ax,) = reproduce.curve_figure(args).axes
    assert ax.get_title() and ax.get_ylabel() and ax.get_xlabel() == "GRPO step"
    lines = {line.get_label(): line for line in ax.lines}
    assert sorted(lines) == ["smollm2-135m seed 0: test", "smollm2-135m seed 0: test-ood", "smollm2-135m seed 1: dev",
                             "smollm2-135m seed 1: test", "smollm2-135m seed 1: test-ood"]  # fmt: skip
    ood = lines["smollm2-135m seed 1: test-ood"]
    assert list(ood.get_xdata()) == [0, 10, 30] and list(ood.get_ydata()) == [0.01, 0.25, 0.39]  # step 0 is there
    assert (
        ood.get_color()
        == lines["smollm2-135m seed 1: test"].get_color()
        != lines["smollm2-135m seed 0: test"].get_color()
    )
