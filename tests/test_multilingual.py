"""The multilingual lesson and its demo: the cells and their Run buttons ask for the same thing,
the token counts the lesson quotes are the real tokenizers' (Qwen3's vocabulary and Qwen3.5's),
and the try-it checks judge what the learner did (tokens used, sentences counted), which
random-weight answers can satisfy."""

import ast
import re

import pytest
from conftest import drained

from qwenlab.demos.multilingual import (
    COMPARE_COLUMNS,
    LANGUAGES,
    NEW,
    OLD,
    RATIO,
    VOCABULARIES,
    answer_all,
    answer_got_cheaper,
    compare_rows,
    compare_table,
    count_tokens,
    counted_own_sentence,
    default_model,
    run_answer,
    run_count,
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
    assert f"PresencePenalty({preset.presence_penalty}, prompt_length)" in source
    assert "enable_thinking=False" in source


@pytest.mark.pure
def test_the_chat_defaults_to_qwen3_5():
    assert default_model("cpu") == "qwen3.5-0.8b" and default_model("cuda") == "qwen3.5-2b"
    assert bound_cell("answer").run["model"] == "qwen3.5-0.8b"


@pytest.mark.pure
def test_the_count_cell_counts_the_demos_sentences():
    cell = bound_cell("count")
    tree = ast.parse(cell.source)
    table = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", "") == "sentences")
    assert ast.literal_eval(table) == {lang: s for lang, (_, _, s) in LANGUAGES.items()}
    assert all(get_model(key).hub_id in cell.source for key in VOCABULARIES.values())
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
    theirs = {"language": "Urdu", "sentence": LANGUAGES["Urdu"][2], OLD: 17, NEW: 12, RATIO: 0.71,
              "bytes": 38, "characters": 21}
    assert not counted_own_sentence([])[0]
    assert not counted_own_sentence([theirs])[0]
    own = dict(theirs, language="Welsh", sentence="Shwmae, sut wyt ti heddiw?", **{OLD: 11, NEW: 9})
    done, message = counted_own_sentence([theirs, own])
    assert done and message.startswith("Welsh: 11 tokens with Qwen3's vocabulary, 9 with Qwen3.5's")


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
    # the prose's table: | language | Qwen3 tokens | Qwen3.5 tokens | Qwen3.5 ÷ Qwen3 |
    both = {row["language"]: row for row in compare_rows(sentences())}
    table = re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \| ([\d.]+) \|$", prose(), re.MULTILINE)
    assert {"Punjabi", "Burmese", "Urdu"} <= {lang for lang, *_ in table}
    for lang, old, new, ratio in table:
        row = both[lang]
        assert (row[OLD], row[NEW], row[RATIO]) == (int(old), int(new), float(ratio)), lang


def test_the_table_counts_the_same_under_any_pages_headers(tiny_env):
    """The page shows the sentences under headers and language names in its own language, and
    gradio_client sends {"headers", "data"}: the rows are read by position, not by name."""
    from qwenlab.web.i18n import t

    english = compare_rows(sentences())
    swahili = sentences("sw")
    assert list(swahili.columns) == [t("language", "sw"), t("sentence", "sw")] != ["language", "sentence"]
    counted = compare_rows(swahili)
    assert [row[NEW] for row in counted] == [row[NEW] for row in english]
    assert counted[0]["language"] == t("English", "sw") != "English"
    sent = {"headers": ["a", "b"], "data": swahili.values.tolist()}
    assert [row[OLD] for row in compare_rows(sent)] == [row[OLD] for row in english]


@pytest.mark.model
def test_the_new_vocabulary_counts_the_course_languages_for_less(tiny_env):
    frame = compare_table(compare_rows(sentences()), "Qwen3.5")
    assert list(frame.columns) == COMPARE_COLUMNS and frame["language"][0] == "Punjabi"
    rows = {row["language"]: row for row in compare_rows(sentences())}
    for lang in ("Punjabi", "Burmese", "Marathi", "Hindi", "Urdu"):
        assert rows[lang][RATIO] < 0.75, rows[lang]
    assert rows["English"][OLD] == rows["English"][NEW] == 7


@pytest.mark.model
def test_the_count_run_button_prints_both_vocabularies(tiny_env):
    *_, text = drained(run_count(None))
    assert all(column in text for column in COMPARE_COLUMNS)
    assert text.index("Punjabi") < text.index("English")  # dearest first


@pytest.mark.model
def test_the_split_greeting_figures_hold(qwen3_tokenizer):
    def tokens(text):
        return len(qwen3_tokenizer.encode(text))

    assert (tokens("ਸਤ ਸ੍ਰੀ ਅਕਾਲ"), tokens("Hello")) == (18, 1)
    assert (tokens("ਅੱਜ ਤੁਸੀਂ ਕਿਵੇਂ ਹੋ?"), tokens("How are you today?")) == (29, 5)
    text = prose()
    assert all(f in text for f in ("takes 18 tokens", "takes 29", "takes 5", "takes 1;"))


@pytest.mark.model
def test_the_split_greeting_figures_hold_for_qwen3_5_too(tiny_env):
    from qwenlab.counting import load_tokenizer

    tokenizer = load_tokenizer(get_model("qwen3.5-0.8b"))
    assert [len(tokenizer.encode(t)) for t in ("ਸਤ ਸ੍ਰੀ ਅਕਾਲ", "ਅੱਜ ਤੁਸੀਂ ਕਿਵੇਂ ਹੋ?")] == [9, 15]
    assert "the same two parts take 9 and 15" in prose()


@pytest.mark.model
def test_the_count_table_has_bytes_and_characters_and_normalises(tiny_env):
    decomposed = "nin\u0303o"  # "niño" with a combining tilde: NFC makes it one character
    frame = compare_table(compare_rows([["Spanish", decomposed], ["English", "  "]]))
    assert list(frame.columns) == COMPARE_COLUMNS
    assert len(frame) == 1 and frame.values.tolist()[0][-2:] == [5, 4]  # empty rows are skipped


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
    assert text.count("tokens/s") == 2 and "qwen3.5-0.8b" in text
