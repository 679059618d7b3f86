"""The two-pass thinking budget (Qwen's documented method) on real Qwen3 token sequences."""

import pytest

from qwenlab.engines.plain import TransformersEngine
from qwenlab.events import TextDelta, ThinkingDelta
from qwenlab.generation import stream_chat
from qwenlab.thinking import EARLY_STOP, THINK_END, ThinkSplitter, plan_second_pass, token_id

pytestmark = pytest.mark.model
EOS = {151645, 151643}
THINK_END_ID = 151668  # Qwen3's vocabulary; the code reads it from the tokenizer


def test_the_end_of_thinking_id_is_read_from_the_tokenizer(qwen3_tokenizer):
    assert token_id(qwen3_tokenizer, THINK_END) == THINK_END_ID
    assert token_id(qwen3_tokenizer, "<not a token>") is None


def test_thinking_that_closes_inside_the_budget_needs_no_second_pass(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nShort.\n</think>\n\nDone.<|im_end|>")
    assert ids[-1] == 151645
    assert plan_second_pass(ids, budget=64, max_new_tokens=128, eos=EOS, early_stop=[1],
                            think_end=THINK_END_ID) is None


def test_thinking_cut_by_the_budget_gets_the_early_stop_text(qwen3_tokenizer):
    stop = qwen3_tokenizer.encode(EARLY_STOP)
    assert THINK_END_ID in stop  # the documented text closes the think block
    ids = qwen3_tokenizer.encode("<think>\nLet me consider every case one by one, starting with")
    extra, left = plan_second_pass(ids, budget=len(ids), max_new_tokens=100, eos=EOS, early_stop=stop,
                                   think_end=THINK_END_ID)
    # Qwen's documented code counts the appended text against max_new_tokens
    assert extra == stop and left == 100 - len(ids) - len(stop)


def test_budget_spent_after_thinking_closed_continues_the_answer(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nok\n</think>\n\nThe answer begins")
    extra, left = plan_second_pass(ids, budget=len(ids), max_new_tokens=50, eos=EOS, early_stop=[9],
                                   think_end=THINK_END_ID)
    assert extra == [] and left == 50 - len(ids)


def test_the_documented_early_stop_text_exactly():
    # Qwen3 docs, getting_started/quickstart.md ("Thinking Budget"): no full stop after </think>
    assert EARLY_STOP == ("\n\nConsidering the limited time by the user, I have to give the "
                          "solution based on the thinking directly now.\n</think>\n\n")


def test_a_first_pass_that_ended_the_turn_gets_no_second_pass(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nDone thinking.\n</think>\n\nYes.<|im_end|>")
    assert plan_second_pass(ids, budget=len(ids), max_new_tokens=500, eos=EOS,
                            early_stop=[1], think_end=THINK_END_ID) is None


def test_no_room_left_means_no_second_pass(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nthinking")
    assert plan_second_pass(ids, budget=len(ids), max_new_tokens=len(ids), eos=EOS,
                            early_stop=[1], think_end=THINK_END_ID) is None


def test_the_early_stop_reads_as_reasoning_then_a_clean_answer(qwen3_tokenizer):
    text = "<think>\nHmm, many cases" + EARLY_STOP + "It is 4."
    splitter = ThinkSplitter(True)
    events = [e for ch in text for e in splitter.feed(ch)] + splitter.flush()
    thought = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert thought.startswith("Hmm, many cases") and "directly now." in thought
    assert answer == "It is 4."


class Recording(TransformersEngine):
    """The real engine, remembering the prompt each pass was given."""

    def __init__(self, model):
        super().__init__(model, "recording", 1, 4)
        self.prompts = []

    def submit(self, request):
        self.prompts.append((request.prompt.ids, request.max_new_tokens))
        return super().submit(request)


def test_budgeted_stream_runs_two_passes_on_a_real_model(pool, qwen3_tokenizer):
    stop = qwen3_tokenizer.encode(EARLY_STOP)
    limit = 6 + len(stop) + 8  # budget, the early-stop text, 8 tokens of answer
    with pool.lease("qwen3-0.6b") as loaded:
        engine = Recording(loaded.model)
        *_, final = stream_chat(loaded, [{"role": "user", "content": "Count the primes below 20."}],
                                thinking=True, thinking_budget=6, max_new_tokens=limit,
                                engine=engine)
        engine.close()
    (first_prompt, first_max), (second_prompt, second_max) = engine.prompts
    assert first_max == 6 and second_max == 8
    assert second_prompt[:len(first_prompt)] == first_prompt
    assert second_prompt[len(first_prompt) + 6:] == stop  # random weights never close thinking
    assert final.injected_tokens == len(stop) and final.new_tokens == 14
    assert final.thinking_tokens == 6  # what the model wrote before the injected </think>
    assert final.finish_reason == "length"
