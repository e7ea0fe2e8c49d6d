"""The training curves a person reads: labelled axes, the reward on its own panel, a visible one-step run, and
reproduce.py's figure showing what the tables report beside the in-training evals."""

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


def test_reproduce_curves_show_the_table_cells_beside_the_in_training_evals(tmp_path):
    args = SimpleNamespace(models=["smollm2-135m"], seeds=[0, 1], out=str(tmp_path), n=100)
    for seed, (untrained, trained) in enumerate([(0.01, 0.77), (0.02, 0.85)]):
        base = runs.seed_dir(tmp_path, "smollm2-135m", seed)
        lines = [json.dumps({"step": s, "eval_acc": a}) for s, a in [(10, 0.5), (20, 0.7), (30, 0.78)]]
        write(base / "train" / "metrics.jsonl", "\n".join(lines) + "\n")
        write(base / "tool" / "summary.json", json.dumps({"accuracy": untrained}))
        write(base / "trained" / "summary.json", json.dumps({"accuracy": trained}))
    (ax,) = reproduce.curve_figure(args).axes
    assert ax.get_title() and ax.get_ylabel() and ax.get_xlabel() == "GRPO step"
    tables = {line.get_label(): line for line in ax.lines if "table" in line.get_label()}
    assert set(tables) == {"smollm2-135m seed 0: table (its own draw)", "smollm2-135m seed 1: table (its own draw)"}
    seed1 = tables["smollm2-135m seed 1: table (its own draw)"]
    assert list(seed1.get_xdata()) == [0, 30] and list(seed1.get_ydata()) == [0.02, 0.85]  # step 0 is there
