"""The `qwenlab` command as a user runs it, in a subprocess."""


import pytest

from qwenlab.registry import MODELS

pytestmark = pytest.mark.model


def test_models_lists_every_key_with_memory_per_precision(qwenlab_cli):
    result = qwenlab_cli("models")
    assert result.returncode == 0
    for key in MODELS:
        assert key in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("qwen2.5-0.5b "))
    assert "nf4 GB" in result.stdout and "0.98" in row and "0.45" in row


def test_chat_streams_and_ends_with_a_stats_line(qwenlab_cli):
    result = qwenlab_cli("chat", "qwen3-0.6b", "Why is the sky blue?", "--max-new-tokens", "5",
                         "--no-think")
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("-- 5 tokens") and "tokens/s" in last and "qwen3-0.6b bf16 on cpu" in last
    assert "[ready]" in result.stderr


def test_chat_at_nf4_on_cpu(qwenlab_cli):
    result = qwenlab_cli("chat", "qwen2.5-0.5b", "hi", "--precision", "nf4", "--max-new-tokens", "2")
    assert result.returncode == 0, result.stderr
    assert "qwen2.5-0.5b nf4 on cpu" in result.stdout


def test_chat_with_unknown_model_says_which_exist(qwenlab_cli):
    result = qwenlab_cli("chat", "qwen9", "hi")
    assert result.returncode == 1 and "Known models" in result.stderr and "Traceback" not in result.stderr


def test_prefetch_offline_says_what_to_do(tmp_path, qwenlab_cli):
    result = qwenlab_cli("prefetch", "qwen3-0.6b",
                         env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "QWENLAB_MODEL_DIR": ""})
    assert result.returncode == 1
    assert "HF_HUB_OFFLINE=1" in result.stderr and "Traceback" not in result.stderr


def test_tiny_checkpoints_carry_real_templates(tiny_dir):
    for key in MODELS:
        folder = tiny_dir / key
        assert (folder / "model.safetensors").stat().st_size < 40e6
        template = "chat_template.jinja"
        assert (folder / template).is_file() or "chat_template" in (folder / "tokenizer_config.json").read_text()


def test_serve_is_registered_by_the_app_not_imported_by_the_core(qwenlab_cli):
    result = qwenlab_cli("serve", "--help")
    assert result.returncode == 0 and "--port" in result.stdout
