"""The live </think> split, on token sequences from the real Qwen3 tokenizer."""

import pytest

from qwenlab.events import TextDelta, ThinkingDelta
from qwenlab.generation import IncrementalDecoder
from qwenlab.thinking import ThinkSplitter

pytestmark = pytest.mark.model


def split_tokens(qwen3_tokenizer, ids, thinking=True):
    splitter, decoder = ThinkSplitter(thinking), IncrementalDecoder(qwen3_tokenizer)
    events = [e for token in ids for e in splitter.feed(decoder.add(token))] + splitter.flush()
    thought = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return thought, answer


def test_special_tokens_sit_at_their_real_ids(qwen3_tokenizer):
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    assert qwen3_tokenizer.convert_tokens_to_ids(names) == [151643, 151644, 151645, 151667, 151668]


def test_one_think_block_splits_reasoning_from_answer(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nTwo plus two: add them.\n</think>\n\nThe answer is 4.")
    assert 151667 in ids and 151668 in ids  # the tags are single tokens, as in Qwen3
    thought, answer = split_tokens(qwen3_tokenizer, ids)
    assert thought == "Two plus two: add them.\n"
    assert answer == "The answer is 4."


def test_no_closing_tag_keeps_everything_as_reasoning_when_it_opened(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nStill weighing the options")
    assert split_tokens(qwen3_tokenizer, ids) == ("Still weighing the options", "")


# The cases of vLLM's own parser tests, vllm-project/vllm
# tests/reasoning/test_qwen3_reasoning_parser.py (thinking on): (output, reasoning, answer).
VLLM_CASES = {
    # <think> in the prompt (Qwen3-*-Thinking-2507, QwQ): only </think> in the output
    "without_start_token": ("This is a reasoning section</think>This is the rest",
                            "This is a reasoning section", "This is the rest"),
    "without_start_token_complete_reasoning": ("This is a reasoning section</think>",
                                               "This is a reasoning section", ""),
    "with_think": ("<think>This is a reasoning section</think>This is the rest",
                   "This is a reasoning section", "This is the rest"),
    # thinking on and no tags at all: cut off before </think>, so all of it is reasoning
    "without_think": ("This is the rest", "This is the rest", ""),
    "complete_reasoning": ("<think>This is a reasoning section</think>",
                           "This is a reasoning section", ""),
    "multiline_reasoning": ("<think>This is a reasoning\nsection</think>This is the rest\nThat",
                            "This is a reasoning\nsection", "This is the rest\nThat"),
    "only_open_tag": ("<think>This is a reasoning section", "This is a reasoning section", ""),
    "truncated_no_start_token": ("This is a reasoning section", "This is a reasoning section", ""),
}


@pytest.mark.parametrize("case", VLLM_CASES)
def test_the_split_agrees_with_vllms_qwen3_parser(qwen3_tokenizer, case):
    output, reasoning, answer = VLLM_CASES[case]
    assert split_tokens(qwen3_tokenizer, qwen3_tokenizer.encode(output)) == (reasoning, answer)
    for size in (1, 3):  # and streamed as text in small chunks, as a remote engine sends it
        splitter = ThinkSplitter(True)
        events = [e for i in range(0, len(output), size) for e in splitter.feed(output[i:i + size])]
        events += splitter.flush()
        assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == reasoning
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer


@pytest.mark.parametrize("output", ["This is plain content", "Some output without think tokens"])
def test_with_thinking_off_output_is_all_answer(qwen3_tokenizer, output):
    # vLLM's THINKING_DISABLED_CASES (enable_thinking=False)
    assert split_tokens(qwen3_tokenizer, qwen3_tokenizer.encode(output), thinking=False) == ("", output)


def test_thinking_off_passes_tags_through_as_text(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>x</think>y")
    assert split_tokens(qwen3_tokenizer, ids, thinking=False) == ("", "<think>x</think>y")


def test_empty_think_block_from_no_think_gives_empty_reasoning(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\n\n</think>\n\nHello!")
    assert split_tokens(qwen3_tokenizer, ids) == ("", "Hello!")


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_tag_split_across_stream_chunks(size):
    text = "<think>\nfirst a, then b</think>\n\nb"
    splitter = ThinkSplitter(True)
    events = [e for i in range(0, len(text), size) for e in splitter.feed(text[i:i + size])]
    events += splitter.flush()
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "first a, then b"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "b"
    assert not any("<" in e.text for e in events)


def test_incremental_decoder_holds_back_half_a_character(qwen3_tokenizer):
    text = "Burmese: မြန်မာ and emoji 🙂"
    ids = qwen3_tokenizer.encode(text)
    decoder = IncrementalDecoder(qwen3_tokenizer)
    pieces = [decoder.add(token) for token in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)
