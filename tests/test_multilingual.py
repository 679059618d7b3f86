"""The multilingual lesson and its demo: the cells and their Run buttons ask for the same thing,
the token counts the lesson quotes are the real tokenizer's, and the try-it checks judge what the
learner did (tokens used, sentences counted), which random-weight answers can satisfy."""

import ast
import re

import pytest
from conftest import drained

from qwenlab.demos.multilingual import (
    LANGUAGES,
    answer_all,
    answer_got_cheaper,
    count_tokens,
    counted_own_sentence,
    run_answer,
    runs_markdown,
    sentences,
    tokens_used,
)
from qwenlab.lessons import load_lessons
from qwenlab.registry import get_model

LESSON = next(lesson for lesson in load_lessons() if lesson.id == "multilingual")


def bound_cell(runner: str):
    return next(c for c in LESSON.cells if c.run and c.run["runner"] == f"multilingual.{runner}")


def prose() -> str:
    return "\n".join(c.source for c in LESSON.cells if c.kind == "markdown")


# -- the cells and their Run bindings agree ------------------------------------------------------
@pytest.mark.pure
def test_the_answer_cell_and_its_run_button_ask_the_same():
    cell = bound_cell("answer")
    run, source = cell.run, cell.source
    assert f'question = "{run["question"]}"' in source
    loop = re.search(r"for language in (\[.*?\]):", source).group(1)
    assert ast.literal_eval(loop) == run["languages"].split(",")
    assert f"max_new_tokens={run['max_new_tokens']}," in source
    spec = get_model(run["model"])
    assert f'model_id = "{spec.hub_id}"' in source
    preset = spec.preset(thinking=False)  # what answer_all samples with
    assert (f"temperature={preset.temperature}, top_p={preset.top_p}, top_k={preset.top_k}, "
            f"min_p={preset.min_p}") in source
    assert "enable_thinking=False" in source


@pytest.mark.pure
def test_the_count_cell_counts_the_demos_sentences():
    cell = bound_cell("count")
    tree = ast.parse(cell.source)
    table = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", "") == "sentences")
    assert ast.literal_eval(table) == {lang: s for lang, (_, _, s) in LANGUAGES.items()}
    assert get_model(cell.run["model"]).hub_id in cell.source
    assert "thirteen languages" in prose() and len(LANGUAGES) == 13


# -- the try-it checks --------------------------------------------------------------------------
@pytest.mark.pure
def test_cheaper_answer_needs_two_urdu_runs_and_fewer_tokens_in_the_latest():
    assert answer_got_cheaper([])[0] is False
    assert "first" in answer_got_cheaper([{"English": 40}])[1]
    one = answer_got_cheaper([{"English": 40, "Urdu": 128}])
    assert not one[0] and "128 tokens" in one[1]
    assert not answer_got_cheaper([{"Urdu": 64}, {"English": 10}, {"Urdu": 64}])[0]
    done, message = answer_got_cheaper([{"Urdu": 128}, {"Urdu": 200}, {"Urdu": 96}])
    assert done and "128 → 96" in message  # compared with the first, whatever came between
    assert answer_got_cheaper([{"Swahili": 9}, {"Swahili": 4}], language="Swahili")[0]


@pytest.mark.pure
def test_own_sentence_check_wants_a_sentence_that_is_not_the_demos():
    theirs = {"language": "Urdu", "sentence": LANGUAGES["Urdu"][2], "tokens": 17, "bytes": 38,
              "characters": 21}
    assert not counted_own_sentence([])[0]
    assert not counted_own_sentence([theirs])[0]
    own = dict(theirs, language="Welsh", sentence="Shwmae, sut wyt ti heddiw?", tokens=11)
    done, message = counted_own_sentence([theirs, own])
    assert done and message.startswith("Welsh: 11 tokens")


@pytest.mark.pure
def test_runs_are_listed_run_by_run():
    assert runs_markdown([]) == ""
    text = runs_markdown([{"English": 7, "Urdu": 128}, {"Urdu": 32}])
    assert "Run 1: English 7 · Urdu 128" in text and "Run 2: Urdu 32" in text


# -- the real tokenizer (the tiny checkpoints carry Qwen's real vocabulary) ---------------------
@pytest.mark.model
def test_the_counts_the_lesson_quotes_are_the_tokenizers(tiny_env):
    counts = dict(count_tokens(sentences(), "qwen3-0.6b")[["language", "tokens"]].values.tolist())
    quoted = re.findall(r"(\d+)\s+(?:tokens\s+)?in\s+(\w+)", prose())
    quoted = [(int(n), lang) for n, lang in quoted if lang in LANGUAGES]
    assert len(quoted) >= 6
    assert all(counts[lang] == n for n, lang in quoted), (quoted, counts)


@pytest.mark.model
def test_the_split_greeting_figures_hold(qwen3_tokenizer):
    def tokens(text):
        return len(qwen3_tokenizer.encode(text))

    assert (tokens("ਸਤ ਸ੍ਰੀ ਅਕਾਲ"), tokens("Hello")) == (18, 1)
    assert (tokens("ਅੱਜ ਤੁਸੀਂ ਕਿਵੇਂ ਹੋ?"), tokens("How are you today?")) == (29, 5)
    text = prose()
    assert all(f in text for f in ("takes 18 tokens", "takes 29", "takes 5", "takes 1;"))


@pytest.mark.model
def test_the_count_table_has_bytes_and_characters_and_normalises(tiny_env):
    decomposed = "nin\u0303o"  # "niño" with a combining tilde: NFC makes it one character
    frame = count_tokens([["Spanish", decomposed], ["English", "  "]], "qwen3-0.6b")
    assert list(frame.columns) == ["language", "tokens", "bytes", "characters"]
    assert frame.values.tolist()[0][2:] == [5, 4]  # empty rows are skipped


@pytest.mark.model
def test_a_lower_limit_makes_the_urdu_answer_cheaper_even_with_random_weights(pool):
    runs = []
    for limit in (24, 12):
        *_, updates = drained(answer_all(pool, "What is water?", ["English", "Urdu"],
                                         max_new_tokens=limit))
        runs.append(tokens_used(updates))
    assert set(runs[0]) == {"English", "Urdu"}
    done, message = answer_got_cheaper(runs, language="Urdu")
    assert done, (runs, message)


@pytest.mark.model
def test_the_run_button_streams_each_language_with_its_stats(pool):
    *_, text = drained(run_answer(pool, "What is water?", "English,Urdu", max_new_tokens="8"))
    assert text.index("**English**") < text.index("**Urdu**")
    assert text.count("tokens/s") == 2 and "qwen3-0.6b" in text
