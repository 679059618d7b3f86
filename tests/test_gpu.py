"""bitsandbytes on CUDA and real release of GPU memory. Skipped without a GPU."""

import gc

import pytest

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("precision", ["int8", "nf4"])
def test_quantized_load_streams_and_eviction_returns_gpu_memory(tiny_env, precision):
    import torch

    from qwenlab.generation import stream_chat
    from qwenlab.pool import ModelPool

    gc.collect()
    torch.cuda.empty_cache()
    start = torch.cuda.memory_allocated()
    pool = ModelPool(budget_bytes=int(20e9), device="cuda")
    with pool.lease("qwen2.5-1.5b", precision) as loaded:
        *_, final = stream_chat(loaded, [{"role": "user", "content": "hi"}], max_new_tokens=4)
        assert loaded.model.device.type == "cuda"
        assert torch.cuda.memory_allocated() > start
    assert final.new_tokens >= 1
    pool.evict_idle()
    assert torch.cuda.memory_allocated() - start < 50e6
