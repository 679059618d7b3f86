"""Qwen Lab in Marathi, Urdu, Burmese, Punjabi and Swahili: every UI string has a translation,
every lesson has one that mirrors the English (same cells in the same order, identical code and
Run bindings, the same numbers, quiz answers, tasks and links), and none is stale."""

import re
import shutil
from collections import Counter

import pytest

from qwenlab.languages import LANGUAGES
from qwenlab.lessons import LESSON_ROOT, load_lessons, parse_lesson, source_hash
from qwenlab.web.i18n import table
from qwenlab.web.shell.keys import all_keys

pytestmark = pytest.mark.pure
LANGS = [code for code in LANGUAGES if code != "en"]
ENGLISH = {lesson.id: lesson for lesson in load_lessons("en")}
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


@pytest.fixture(scope="module")
def keys():
    return all_keys()


@pytest.mark.parametrize("lang", LANGS)
def test_every_ui_string_is_translated(lang, keys):
    missing = sorted(key for key in keys if key not in table(lang))
    assert not missing, (f"{lang} lacks {len(missing)} of {len(keys)} strings, e.g. "
                         f"{missing[:3]}; `python -m qwenlab.web.shell.keys missing {lang}` lists them")


@pytest.mark.parametrize("lang", LANGS)
def test_the_table_keeps_placeholders_and_holds_nothing_stale(lang, keys):
    for english, translated in table(lang).items():
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", translated)), \
            f"{lang}: {english!r} and its translation name different placeholders"
    gone = sorted(set(table(lang)) - keys)
    assert not gone, f"{lang} translates strings the app no longer shows: {gone[:3]}"


def translation(lang: str, lesson_id: str):
    path = ENGLISH[lesson_id].path
    translated = LESSON_ROOT / lang / path.name
    assert translated.is_file(), f"{lang} has no {path.name}"
    return parse_lesson(translated.read_text(encoding="utf-8"), translated)


def numbers(lesson) -> Counter:
    prose = " ".join(cell.source for cell in lesson.cells if cell.kind == "markdown")
    return Counter(NUMBER.findall(prose))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("lesson_id", list(ENGLISH))
def test_a_translated_lesson_mirrors_the_english(lang, lesson_id):
    english, found = ENGLISH[lesson_id], translation(lang, lesson_id)
    assert (found.id, found.order, found.demo, found.models, found.minutes, found.before) == \
        (english.id, english.order, english.demo, english.models, english.minutes, english.before)
    assert len(found.outcomes) == len(english.outcomes)
    assert [c.kind for c in found.cells] == [c.kind for c in english.cells]
    for mine, theirs in zip(found.cells, english.cells):
        if theirs.kind == "code":
            assert (mine.source, mine.language, mine.run, mine.in_notebook) == \
                (theirs.source, theirs.language, theirs.run, theirs.in_notebook)
    assert set(numbers(found)) == set(numbers(english)), \
        f"numbers differ: {set(numbers(found)) ^ set(numbers(english))}"
    assert found.links and [url for _, url in found.links] == [url for _, url in english.links]
    assert len(found.takeaways) == len(english.takeaways)
    assert [(t.id, t.check, t.args) for t in found.tasks] == \
        [(t.id, t.check, t.args) for t in english.tasks]
    for mine, theirs in zip(found.quiz, english.quiz):
        assert (mine.id, mine.kind, len(mine.options)) == (theirs.id, theirs.kind, len(theirs.options))
        assert [o.correct for o in mine.options] == [o.correct for o in theirs.options]
        assert (mine.answer, mine.tolerance) == (theirs.answer, theirs.tolerance)
        assert set(theirs.accept) <= set(mine.accept)  # the English answers still count
    assert len(found.quiz) == len(english.quiz)


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_has_a_glossary(lang):
    glossary = LESSON_ROOT / lang / "GLOSSARY.md"
    assert glossary.is_file() and glossary.read_text(encoding="utf-8").count("|") > 40


def test_no_translation_is_stale():
    stale = [f"{lang}/{lesson.path.name}" for lang in LANGS for lesson in load_lessons(lang)
             if lesson.stale]
    assert not stale, f"translated from an earlier English version: {stale}"


def test_a_stale_or_missing_translation_says_so(tmp_path):
    from qwenlab.web.shell.page import notice_text

    root = tmp_path / "lessons"
    shutil.copytree(LESSON_ROOT, root)
    english = sorted((root / "en").glob("[0-9][0-9]-*.md"))
    first, second = english[0], english[1]
    (root / "sw").mkdir(exist_ok=True)
    text = first.read_text(encoding="utf-8")
    front, body = text.split("\n---\n", 1)
    (root / "sw" / first.name).write_text(
        f"{front}\nsource: {source_hash(first)}\n---\n{body}", encoding="utf-8")
    (root / "sw" / second.name).unlink(missing_ok=True)
    fresh = {lesson.id: lesson for lesson in load_lessons("sw", root)}
    first_id = parse_lesson(text).id
    assert not fresh[first_id].stale and not fresh[first_id].fallback
    first.write_text(text + "\nOne more sentence.\n", encoding="utf-8")  # the English moves on
    later = {lesson.id: lesson for lesson in load_lessons("sw", root)}
    second_id = parse_lesson(second.read_text(encoding="utf-8")).id
    assert later[first_id].stale and "?lang=en" in notice_text(later[first_id], "sw")
    assert later[second_id].fallback and later[second_id].lang == "en"
    assert "Kiswahili" in notice_text(later[second_id], "sw")
