"""Damaged checkpoints, on real runs of simple_train.py (SmolLM2, tiny settings): a rerun passes over a damaged last
checkpoint (or an unfinished `step-NNNN.tmp` save) with one warning line and resumes from the previous good one; with
none good it stops with one line. An adapter holding NaN is never saved, and never rotates a good checkpoint away.
`runs.py pack` and `unpack` carry a run to another machine in parts under 16 MiB, refusing a damaged or missing part."""

import json
import shutil
from types import SimpleNamespace

import pytest
import torch
from conftest import assert_one_line_error, run_script
from safetensors.torch import load_file, save_file
from test_train import TINY

import runs

ADAPTER = "adapter_model.safetensors"


@pytest.fixture(scope="module")
def trained(smollm2, tmp_path_factory):
    """A finished 2-step run: checkpoints step-0001 and step-0002."""
    out = tmp_path_factory.mktemp("trained") / "run"
    result = run_script("simple_train.py", *TINY, "--steps", "2", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def overwrite_with_ff(ckpt):  # the case: 2 MB of 0xff over the adapter loaded as NaN tensors
    with open(ckpt / ADAPTER, "r+b") as f:
        f.seek(1 << 20)
        f.write(b"\xff" * (2 << 20))


def truncate_optimizer(ckpt):
    path = ckpt / "optimizer.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def delete_state(ckpt):
    (ckpt / "state.json").unlink()


def nan_with_its_manifest(ckpt):  # as a save that did not check would have left it: the manifest matches
    tensors = load_file(ckpt / ADAPTER)
    next(iter(tensors.values()))[0] = float("nan")
    save_file(tensors, ckpt / ADAPTER, metadata={"format": "pt"})
    runs.write_manifest(ckpt)


def unfinished_save(ckpt):  # killed while saving step 3 (no fsync): state.json is there, the adapter is cut
    tmp = ckpt.with_name("step-0003.tmp")
    shutil.copytree(ckpt, tmp)
    (tmp / "state.json").write_text(json.dumps({"step": 3, "data_pos": 3}) + "\n")
    (tmp / ADAPTER).write_bytes((tmp / ADAPTER).read_bytes()[:1000])


TIMING = {"step_s", "rollout_s", "update_s", "eval_s"}


def timeless(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.mark.parametrize(
    "damage, steps, resumed, skipped",
    [
        (overwrite_with_ff, 2, "step-0001", "step-0002 (adapter_model.safetensors is changed)"),
        (truncate_optimizer, 2, "step-0001", "step-0002 (optimizer.pt is changed)"),
        (delete_state, 2, "step-0001", "step-0002 (state.json is missing)"),
        (nan_with_its_manifest, 2, "step-0001", "step-0002 (NaN or inf in the adapter)"),
        (unfinished_save, 3, "step-0002", "step-0003.tmp (an unfinished save)"),
    ],
    ids=["adapter-0xff", "optimizer-truncated", "state-deleted", "adapter-nan", "leftover-tmp"],
)
def test_a_damaged_last_checkpoint_is_passed_over(trained, tmp_path, damage, steps, resumed, skipped):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    damage(out / "checkpoints" / "step-0002")
    result = run_script("simple_train.py", *TINY, "--steps", steps, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: skipped {skipped}; resuming from {resumed}"], result.stderr[-2000:]
    played = [json.loads(line)["step"] for line in result.stdout.splitlines() if line.startswith("{")]
    assert played == list(range(int(resumed[-4:]) + 1, steps + 1))
    before = timeless(runs.read_metrics(trained))
    assert timeless(runs.read_metrics(out))[: len(before)] == before  # the same steps again
    kept = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert resumed in kept and kept == [f"step-{s:04d}" for s in (steps - 1, steps)]
    assert all(runs.checkpoint_problem(out / "checkpoints" / name) is None for name in kept)
    assert json.loads((out / "summary.json").read_text())["step"] == steps


def test_with_no_good_checkpoint_left_the_run_stops_with_one_line(trained, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    overwrite_with_ff(out / "checkpoints" / "step-0002")
    truncate_optimizer(out / "checkpoints" / "step-0001")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = run_script("simple_train.py", *TINY, "--steps", "3", "--out", out, timeout=300)
    assert_one_line_error(result, "no good checkpoint in")
    assert "step-0002 (adapter_model.safetensors is changed); step-0001 (optimizer.pt is changed)" in result.stderr
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing touched


def test_an_adapter_with_nan_is_never_saved(smollm2, tmp_path):
    from engines.lora import load_policy

    args = SimpleNamespace(lora_r=16, lora_alpha=32, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"])
    lm = load_policy(smollm2, "cpu", args)
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-3)
    for step in (1, 2):
        runs.save_checkpoint(tmp_path, step, lm, optimizer)
    with torch.no_grad():
        next(p for p in lm.parameters() if p.requires_grad)[0, 0] = float("nan")
    with pytest.raises(Exception, match="step 3 left NaN or inf in the adapter; not saved") as error:
        runs.save_checkpoint(tmp_path, 3, lm, optimizer)
    assert isinstance(error.value, runs.CheckpointError)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-0001", "step-0002"]
    assert runs.latest_checkpoint(tmp_path).name == "step-0002"


def files(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_packed_run_unpacks_elsewhere_and_resumes(trained, tmp_path):
    parts, moved = tmp_path / "parts", tmp_path / "elsewhere" / "run"
    packed = run_script("runs.py", "pack", trained, parts, "--part-mib", "1", timeout=300)
    assert packed.returncode == 0, packed.stderr[-2000:]
    manifest = json.loads((parts / "manifest.json").read_text())
    names = sorted(p.name for p in parts.iterdir())
    assert names == sorted(["manifest.json", *(p["name"] for p in manifest["parts"])]) and len(manifest["parts"]) > 2
    assert all(p.stat().st_size <= 1 << 20 for p in parts.iterdir())
    unpacked = run_script("runs.py", "unpack", parts, moved, timeout=300)
    assert unpacked.returncode == 0, unpacked.stderr[-2000:]
    # Every file but the older checkpoint's, byte for byte.
    kept = {k: v for k, v in files(trained).items() if not k.startswith("checkpoints/step-0001")}
    assert files(moved) == kept and "checkpoints/step-0002/adapter_model.safetensors" in kept
    assert runs.latest_checkpoint(moved).name == "step-0002"
    resumed = run_script("simple_train.py", *TINY, "--steps", "3", "--out", moved)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [r["step"] for r in runs.read_metrics(moved)] == [0, 1, 2, 3]
    assert runs.latest_checkpoint(moved).name == "step-0003"

    damaged = tmp_path / "damaged"
    shutil.copytree(parts, damaged)
    with open(damaged / "part-0001", "r+b") as f:
        f.seek(100)
        f.write(b"\0" * 8)
    refused = run_script("runs.py", "unpack", damaged, tmp_path / "never", timeout=120)
    assert_one_line_error(refused, "part-0001 in")
    assert "is damaged" in refused.stderr and not (tmp_path / "never").exists()
    (damaged / "part-0002").unlink()
    shutil.copy(parts / "part-0001", damaged / "part-0001")
    missing = run_script("runs.py", "unpack", damaged, tmp_path / "never", timeout=120)
    assert_one_line_error(missing, "part-0002 is missing")
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["pack", "{tmp}", "{tmp}/parts"], "is no run folder (no config.json)"),
        (["pack", "{tmp}", "{tmp}/parts", "--part-mib", "16"], "--part-mib must be between 1 and 15"),
        (["unpack", "{tmp}", "{tmp}/dest"], "no readable manifest.json in"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_pack_and_unpack_refuse_bad_input_with_one_line(tmp_path, args, message):
    result = run_script("runs.py", *[a.format(tmp=tmp_path) for a in args], timeout=120)
    assert_one_line_error(result, message)


def test_a_pack_of_an_art_run_keeps_only_its_newest_checkpoint(tmp_path):
    run, checkpoints = tmp_path / "run", tmp_path / "run" / "art" / "calc-rl" / "models" / "m" / "checkpoints"
    for step, data in (("0003", b"old"), ("0012", b"new")):
        (checkpoints / step).mkdir(parents=True)
        (checkpoints / step / "adapter_model.safetensors").write_bytes(data)
    (run / "config.json").write_text("{}\n")
    runs.pack(run, tmp_path / "parts", 1)
    runs.unpack(tmp_path / "parts", tmp_path / "dest")
    newest = "art/calc-rl/models/m/checkpoints/0012/adapter_model.safetensors"
    assert files(tmp_path / "dest") == {"config.json": b"{}\n", newest: b"new"}
