"""LoRA fine-tuning on tiny checkpoints: the loss falls on the training set, bad input is
refused clearly, Stop ends a run between steps, the private copy is charged and freed, one run
trains at a time, and the saved adapter loads back with PeftModel. Qwen3.5's targets reach
each kind of its layers and not its vision tower, and a GPU without hardware bf16 trains in fp32."""

import threading

import pytest
from conftest import drained

from qwenlab.demos.finetune import EXAMPLES, run, settings_from
from qwenlab.demos.finetune.checks import compared_own_prompt, loss_fell
from qwenlab.errors import BadRequest
from qwenlab.finetune import (
    Finished,
    LoraSettings,
    Started,
    Step,
    activation_bytes,
    encode,
    parse_examples,
    train,
)

pytestmark = pytest.mark.model
FAST = dict(steps=8, learning_rate=5e-3, batch_size=4, max_length=64)


def test_a_few_real_lora_steps_make_the_training_loss_fall(pool):
    with pool.lease("qwen2.5-0.5b", "fp32") as borrowed:
        pass  # warm: the private copy below must not be this one
    loaded = pool.acquire("qwen2.5-0.5b", "fp32", private=True)
    try:
        events = list(train(loaded.model, loaded.tokenizer, parse_examples(EXAMPLES[:8]),
                            LoraSettings(**FAST), threading.Event()))
    finally:
        pool.release(loaded)
    started, steps, finished = events[0], [e for e in events if isinstance(e, Step)], events[-1]
    assert isinstance(started, Started) and 0 < started.trainable < started.total / 100
    losses = [s.loss for s in steps]
    assert len(losses) == 8 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    assert isinstance(finished, Finished) and not finished.stopped
    assert borrowed.model is not None  # the shared copy was never wrapped with LoRA
    assert not hasattr(borrowed.model, "peft_config")


def test_stop_ends_training_between_steps(pool):
    loaded, cancel = pool.acquire("qwen2.5-0.5b", "fp32", private=True), threading.Event()
    try:
        done = []
        for event in train(loaded.model, loaded.tokenizer, parse_examples(EXAMPLES[:4]),
                           LoraSettings(**FAST | {"steps": 50}), cancel):
            if isinstance(event, Step) and event.step == 2:
                cancel.set()
            done.append(event)
    finally:
        pool.release(loaded)
    assert done[-1].stopped and done[-1].steps_done == 2


@pytest.mark.parametrize("rows, message", [
    ([], "at least two examples"),
    ([["Q", "A"], ["only a prompt", ""]], "Row 2 needs both"),
    ([["Q", "A"], ["x" * 3000, "A"]], "longer than 2,000"),
])
def test_bad_datasets_are_refused_by_row(rows, message):
    with pytest.raises(BadRequest, match=message):
        parse_examples(rows)


@pytest.mark.parametrize("change, message", [
    ({"rank": 0}, "rank must be between 1 and 64"),
    ({"learning_rate": 5.0}, "learning rate must be between"),
    ({"steps": 100000}, "steps must be between"),
    ({"target_modules": ("q_proj", "attention")}, "attention is not one"),
    ({"target_modules": ()}, "Target modules"),
])
def test_absurd_settings_are_refused_with_the_range(change, message):
    with pytest.raises(BadRequest, match=message):
        LoraSettings(**change).checked()


def test_only_the_answer_is_learned(qwen3_tokenizer):
    from qwenlab.finetune import Example

    ids = encode(qwen3_tokenizer, Example("What is 2+2?", "Answer: 4"), 128, True)
    learned = [t for t, label in zip(ids["input_ids"], ids["labels"]) if label != -100]
    assert qwen3_tokenizer.decode(learned) == "Answer: 4<|im_end|>"
    assert ids["labels"][:len(ids["labels"]) - len(learned)] == [-100] * (len(ids["labels"]) - len(learned))


def test_the_demo_run_charges_a_private_copy_frees_it_and_saves_a_loadable_adapter(pool, tmp_path):
    import zipfile

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    settings = settings_from(6, 8, 16, 5e-3, ["q_proj", "v_proj"], 4, 64)
    charges, base = [], pool.stats()["used_bytes"]  # tokenizers kept for counting, if any
    for update in drained(run(pool, [list(e) for e in EXAMPLES[:8]], "qwen2.5-0.5b", "fp32",
                              settings, "What is 2+2?\nName a colour.")):
        charges.append(pool.stats()["used_bytes"])
    assert [row[0] for row in update.compare] == ["What is 2+2?", "Name a colour."]
    assert update.summary["steps"] == 6 and len(update.losses) == 6
    assert max(charges) > base and pool.stats()["used_bytes"] == base  # charged while training
    assert "PeftModel.from_pretrained" in update.status
    with zipfile.ZipFile(update.adapter) as zipped:
        zipped.extractall(tmp_path)
        names = zipped.namelist()
    assert any(n.endswith("adapter_model.safetensors") for n in names)
    folder = tmp_path / names[0].split("/")[0]
    base = AutoModelForCausalLM.from_pretrained(pool_source(pool), dtype="float32")
    tuned = PeftModel.from_pretrained(base, folder)
    assert list(tuned.peft_config) == ["default"]
    assert loss_fell(update.summary, 5)[0] is (update.summary["end"] < update.summary["start"])
    assert not loss_fell(update.summary, 7)[0]  # only 6 steps ran
    assert compared_own_prompt(update.compare)[0]


def pool_source(pool):
    from qwenlab.loading import local_source
    from qwenlab.registry import get_model

    return local_source(get_model("qwen2.5-0.5b"))


def test_one_run_trains_at_a_time_and_the_next_sees_its_place(pool):
    settings = settings_from(2, 4, 8, 1e-3, ["q_proj"], 2, 64)
    first = drained(run(pool, [list(e) for e in EXAMPLES[:4]], "qwen2.5-0.5b", "fp32", settings,
                        "Hi?", "learner-1"))
    next(first)  # the first learner's run has started: it holds the only place
    second = drained(run(pool, [list(e) for e in EXAMPLES[:4]], "qwen2.5-0.5b", "fp32",
                         settings, "Hi?", "learner-2"))
    assert "Number 1 in line to train" in next(second).status
    for _ in first:
        pass
    statuses = [update.status for update in second]
    assert statuses[-1].count("Adapter saved") == 1


def test_the_charge_for_training_grows_with_the_batch():
    config = {"num_hidden_layers": 24, "hidden_size": 896}
    small = activation_bytes(config, LoraSettings(batch_size=1, max_length=128))
    assert activation_bytes(config, LoraSettings(batch_size=4, max_length=128)) > 3 * small


def test_without_hardware_bf16_a_gpu_trains_in_fp32(monkeypatch):
    """A T4 answers the bare is_bf16_supported() with yes (bf16 emulated): ask without emulation."""
    import torch

    from qwenlab.demos.finetune import default_precision

    monkeypatch.setattr(torch.cuda, "is_bf16_supported",  # a T4: yes only with emulation
                        lambda including_emulation=True: including_emulation)
    assert default_precision("cuda") == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert default_precision("cuda") == "bf16"


def test_qwen35_targets_cover_the_language_model_and_not_the_vision_tower(tiny_env):
    """Counted on the meta device: every adapted matrix adds r x (in + out), the sum is peft's
    own count, each kind of Qwen3.5 layer is reached, and the vision tower is left alone."""
    from qwenlab.demos.finetune import run_targets
    from qwenlab.demos.finetune.targets import QWEN35_TARGETS, count_adapter, default_targets
    from qwenlab.registry import get_model

    count = count_adapter(tiny_env / "qwen3.5-0.8b", True, 8, QWEN35_TARGETS)
    assert [row[0] for row in count.rows] == list(QWEN35_TARGETS) and not count.missing
    assert sum(row[2] for row in count.rows) == count.trainable and count.vision == 0
    assert 0 < count.share < 0.01
    dense = count_adapter(tiny_env / "qwen2.5-0.5b", False, 8, ["q_proj", "in_proj_qkv"])
    assert dense.missing == ["in_proj_qkv"] and [row[0] for row in dense.rows] == ["q_proj"]
    assert "q_proj" in default_targets(get_model("qwen3.5-0.8b"))
    assert len(default_targets(get_model("qwen3.5-0.8b"))) > 2
    assert default_targets(get_model("qwen2.5-0.5b")) == ["q_proj", "v_proj"]
    shown = next(run_targets(None))
    assert "`in_proj_qkv`" in shown and "vision tower: 0" in shown


def test_qwen35_trains_and_its_adapter_loads_on_the_class_that_trained_it(pool, tmp_path):
    import zipfile

    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from qwenlab.demos.finetune.checks import trained_model
    from qwenlab.demos.finetune.targets import default_targets
    from qwenlab.loading import local_source
    from qwenlab.registry import get_model

    spec = get_model("qwen3.5-0.8b")
    settings = settings_from(2, 4, 8, 5e-3, default_targets(spec), 4, 48)
    *_, update = drained(run(pool, [list(e) for e in EXAMPLES[:4]], spec.key, "fp32", settings,
                             "What is 2+2?"))
    assert update.summary["model"] == spec.key and update.summary["steps"] == 2
    assert "AutoModelForImageTextToText.from_pretrained" in update.status
    assert trained_model(update.summary, spec.key, 2)[0]
    assert not trained_model(update.summary, spec.key, 5)[0]
    assert not trained_model(update.summary, "qwen2.5-0.5b", 2)[0]
    with zipfile.ZipFile(update.adapter) as zipped:
        zipped.extractall(tmp_path)
        folder = tmp_path / zipped.namelist()[0].split("/")[0]
    base = AutoModelForImageTextToText.from_pretrained(local_source(spec), dtype="float32")
    tuned = PeftModel.from_pretrained(base, folder)
    adapted = [name for name, _ in tuned.named_parameters() if "lora_B" in name]
    assert adapted and not [name for name in adapted if "visual" in name]
