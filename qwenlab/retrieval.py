"""Retrieval over the course's own lessons: passages, an embedding index on disk, search.

A lesson file is cut into passages at its `##` and `###` headings (quiz and task blocks left
out, long sections split at paragraphs). The index is the passages' Qwen3-Embedding vectors,
written under the cache folder in a directory named by a digest of the model and every
passage's text: a lesson that changes gets a new index, an unchanged one is read back. A build
writes its batches into a `.partial` directory as it goes (a restart picks up the batches that
are there) and becomes the index by one rename at the end, so a half-built index is never read.
`Builds` runs one build per (language, model) in a thread, with progress, for any number of
learners asking at once. Scoring itself is qwenlab.scoring's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from qwenlab import config, scoring
from qwenlab.errors import N_, Message, QwenLabError

EMBEDDER = "qwen3-embedding-0.6b"
RERANKER = "qwen3-reranker-0.6b"
CHUNK_CHARS = 1500       # a passage's length at most, about 400 tokens of English
BATCH = 8                # passages embedded at once
VERSION = 1              # bump when the chunking changes: every index is rebuilt
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*(?:\{#[\w-]+\})?\s*$", re.MULTILINE)
_SKIPPED = re.compile(r"^(`{3,}|~{3,})(quiz|task)\b.*?^\1\s*$", re.MULTILINE | re.DOTALL)
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


@dataclass(frozen=True)
class Passage:
    lesson: str      # the lesson's id
    title: str       # the lesson's title
    section: str     # the heading it sits under
    text: str


def passages(lessons) -> list[Passage]:
    """Every lesson's prose and code, cut at its headings into passages of at most
    CHUNK_CHARS (quizzes and tasks left out: they ask, they do not teach)."""
    out = []
    for lesson in lessons:
        text = _SKIPPED.sub("", _FRONT.sub("", Path(lesson.path).read_text(encoding="utf-8")))
        marks = list(_HEADING.finditer(text))
        sections = [(lesson.title, text[:marks[0].start()] if marks else text)]
        sections += [(m[2], text[m.end():(marks[i + 1].start() if i + 1 < len(marks) else None)])
                     for i, m in enumerate(marks)]
        for section, body in sections:
            for piece in _pieces(body.strip()):
                out.append(Passage(lesson.id, lesson.title, section, piece))
    return out


def _pieces(body: str) -> list[str]:
    """`body` in pieces of at most CHUNK_CHARS, cut between paragraphs where it can be."""
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", body):
        while len(paragraph) > CHUNK_CHARS:  # one paragraph longer than a passage
            pieces.append(paragraph[:CHUNK_CHARS])
            paragraph = paragraph[CHUNK_CHARS:]
        if current and len(current) + 2 + len(paragraph) > CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def digest(model: str, found: list[Passage]) -> str:
    h = hashlib.sha256(f"{VERSION}\n{model}\n".encode())
    for passage in found:
        h.update(json.dumps(asdict(passage), ensure_ascii=False).encode() + b"\n")
    return h.hexdigest()[:16]


def index_dir(lang: str, model: str, found: list[Passage]) -> Path:
    return config.cache_dir() / "retrieval" / f"{lang}-{model}-{digest(model, found)}"


@dataclass
class Index:
    passages: list[Passage]
    vectors: object             # numpy float32, one unit-length row per passage
    model: str

    def search(self, vector, k: int = 8) -> list[tuple[float, Passage]]:
        """The k passages closest to a unit-length query vector (cosine), best first."""
        import numpy as np

        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-scores)[:k]
        return [(float(scores[i]), self.passages[i]) for i in order]


def load(folder: Path, found: list[Passage], model: str) -> Index | None:
    """The finished index in `folder`, or None (never a partial one)."""
    import numpy as np

    if not (folder / "vectors.npy").is_file():
        return None
    return Index(found, np.load(folder / "vectors.npy"), model)


def build(loaded, folder: Path, found: list[Passage], report=None) -> Index:
    """Embed every passage with `loaded` (the embedding model) into `folder`, BATCH at a time;
    batches already in `folder`.partial from an interrupted build are kept."""
    import numpy as np

    report = report or (lambda fraction, message: None)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(found), BATCH)
    for done, start in enumerate(starts):
        part = partial / f"{start:06d}.npy"
        if not part.is_file():
            vectors = scoring.embed(loaded, [p.text for p in found[start:start + BATCH]])
            np.save(part.with_suffix(".tmp.npy"), vectors.cpu().numpy().astype(np.float32))
            os.replace(part.with_suffix(".tmp.npy"), part)
        report((done + 1) / len(starts), Message(N_("{done} of {total} passages embedded"),
                                                 done=min(start + BATCH, len(found)),
                                                 total=len(found)))
    vectors = np.concatenate([np.load(partial / f"{start:06d}.npy") for start in starts])
    np.save(partial / "vectors.npy", vectors)
    (partial / "passages.json").write_text(json.dumps([asdict(p) for p in found],
                                                      ensure_ascii=False), encoding="utf-8")
    for start in starts:
        (partial / f"{start:06d}.npy").unlink()
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)  # one rename: the index appears whole or not at all
    return Index(found, vectors, loaded.spec.key)


@dataclass
class State:
    """Where one language's index stands: ready (index set), building, or failed (error)."""

    index: Index | None = None
    fraction: float = 0.0
    message: str = ""                  # a Message (qwenlab.errors): translated as a template
    error: str = ""                    # a Message too
    thread: threading.Thread | None = None


class Builds:
    """One index per (language, model), built once in a background thread however many ask."""

    def __init__(self, pool, lessons_of, model: str = EMBEDDER):
        self.pool, self.lessons_of, self.model = pool, lessons_of, model
        self.lock = threading.Lock()
        self.states: dict[str, State] = {}

    def get(self, lang: str) -> State:
        """The state of `lang`'s index, starting its build if nothing is there yet (or the
        last build failed, or a lesson changed since)."""
        found = passages(self.lessons_of(lang))
        folder = index_dir(lang, self.model, found)
        with self.lock:
            state = self.states.get(lang)
            fresh = state is not None and state.index is not None and \
                state.index.passages == found
            if fresh or (state and state.thread and state.thread.is_alive()):
                return state
            index = load(folder, found, self.model)
            if index is not None:
                self.states[lang] = State(index=index, fraction=1.0)
                return self.states[lang]
            state = State(message=Message(N_("starting")))
            state.thread = threading.Thread(target=self._build, args=(state, folder, found),
                                            name=f"index-{lang}", daemon=True)
            self.states[lang] = state
            state.thread.start()
            return state

    def _build(self, state: State, folder: Path, found: list[Passage]) -> None:
        def report(fraction, message):
            state.fraction, state.message = fraction, message

        try:
            with self.pool.lease(self.model) as loaded:
                state.index = build(loaded, folder, found, report)
        except QwenLabError as exc:
            state.error = exc.message
        except Exception as exc:  # noqa: BLE001 - a failed build is reported, the next retries
            state.error = Message(N_("The index could not be built: {error}"), error=str(exc))


def search(pool, index: Index, question: str, k: int = 8) -> list[tuple[float, Passage]]:
    """The passages closest to `question` by embedding (the query with its instruction)."""
    with pool.lease(index.model) as loaded:
        vector = scoring.embed(loaded, [scoring.query_text(question)])[0]
    return index.search(vector.cpu().numpy(), k)


def rerank(pool, question: str, found: list[tuple[float, Passage]],
           model: str = RERANKER) -> list[tuple[float, Passage]]:
    """`found` scored again by the reranker (P("yes")), best first."""
    if not found:
        return []
    with pool.lease(model) as loaded:
        scores = scoring.rerank(loaded, question, [p.text for _, p in found])
    return sorted(zip(scores, (p for _, p in found)), key=lambda pair: -pair[0])
