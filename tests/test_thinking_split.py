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
    assert qwen3_tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>",
                                            "<think>", "</think>"]) == [151643, 151644, 151645, 151667, 151668]


def test_one_think_block_splits_reasoning_from_answer(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nTwo plus two: add them.\n</think>\n\nThe answer is 4.")
    assert 151667 in ids and 151668 in ids  # the tags are single tokens, as in Qwen3
    thought, answer = split_tokens(qwen3_tokenizer, ids)
    assert thought == "Two plus two: add them.\n"
    assert answer == "The answer is 4."


def test_no_closing_tag_keeps_everything_as_reasoning_when_it_opened(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("<think>\nStill weighing the options")
    assert split_tokens(qwen3_tokenizer, ids) == ("Still weighing the options", "")


def test_output_without_a_think_block_is_all_answer(qwen3_tokenizer):
    ids = qwen3_tokenizer.encode("Paris is the capital of France.")
    assert split_tokens(qwen3_tokenizer, ids) == ("", "Paris is the capital of France.")


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
