"""simple_train.py --report-to: the per-step metrics lines also reach TensorBoard and Weights & Biases (offline)."""

import json
from pathlib import Path

from conftest import run_script

import runs

TINY = ["simple_train.py", "--model", "smollm2-135m", "--backend", "local", "--questions-per-step", "1",
        "--group-size", "2", "--max-new-tokens", "8", "--max-turns", "1", "--eval-n", "1"]  # fmt: skip


def numbers(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "step" and isinstance(v, int | float)}


def tensorboard_scalars(folder: Path) -> dict[int, dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    by_step: dict[int, dict] = {}
    for tag in events.Tags()["scalars"]:
        for e in events.Scalars(tag):
            by_step.setdefault(e.step, {})[tag] = e.value
    return by_step


def wandb_history(run_file: Path) -> list[dict]:
    """The history rows of an offline W&B run file: LevelDB-log records (32 KiB blocks, a 7-byte header each:
    crc, length, type) after a 7-byte file header, each a `Record` protobuf."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw, pos, part, rows = run_file.read_bytes(), 7, b"", []
    while pos + 7 <= len(raw):
        room = 32768 - pos % 32768
        length, kind = int.from_bytes(raw[pos + 4 : pos + 6], "little"), raw[pos + 6]
        if room < 7 or (length == 0 and kind == 0):  # block padding
            pos += room
            continue
        part, pos = part + raw[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a whole record, or its last piece
            record = pb.Record()
            record.ParseFromString(part)
            if record.WhichOneof("record_type") == "history":
                rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
            part = b""
    return rows


def test_metrics_reach_tensorboard_then_wandb_on_resume(smollm2, tmp_path):
    out = tmp_path / "run"
    first = run_script(*TINY, "--steps", "2", "--report-to", "tensorboard", "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = runs.read_metrics(out)
    scalars = tensorboard_scalars(out / "tensorboard")
    assert sorted(scalars) == [0, 1, 2]  # step 0: the untrained policy's evals
    for row in rows:
        assert scalars[row["step"]].keys() == numbers(row).keys()
        assert all(abs(scalars[row["step"]][k] - v) < 1e-6 for k, v in numbers(row).items())

    # The tracker is not part of the configuration: the run resumes with another one.
    again = run_script(*TINY, "--steps", "3", "--report-to", "wandb", "--out", out, env={"WANDB_MODE": "offline"})
    assert again.returncode == 0, again.stderr[-2000:]
    (run_file,) = (out / "wandb").glob("wandb/offline-run-*/run-*.wandb")
    (logged,) = wandb_history(run_file)
    third = runs.read_metrics(out)[-1]
    assert third["step"] == 3 and logged["_step"] == 3
    assert {k: logged[k] for k in numbers(third)} == numbers(third)


def test_no_tracker_imports_no_tracker(tmp_path):
    code = ("import sys, pathlib, runs; r = runs.Reporter('none', pathlib.Path(sys.argv[1]), {}); "
            "r.log({'step': 1, 'loss': 0.5}); r.close(); "
            "print(sorted(m for m in ('wandb', 'tensorboard') if m in sys.modules))")  # fmt: skip
    result = run_script("-c", code, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]
