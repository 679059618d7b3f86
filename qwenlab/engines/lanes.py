"""A classroom on a CPU: int4 answers written in batches by ONNX Runtime GenAI, one driver
thread for the model.

An og generator takes a batch of prompts of any lengths (padded on the right, which is how its
attention reads a batch: greedy answers come out exactly as they do alone) and writes every
row with one forward pass per token; on a 2-core AMD EPYC a step for sixteen rows costs about
five times a step for one. og.Engine (0.18) batches too, but for CPU models its static
scheduler stops at four rows (src/engine/scheduler.cpp), and four-row batches side by side
gave 150 tokens/s at 16 learners against 190 for one batch of sixteen.

So the model's `_Lanes` batch (driven by engines/driver.py) holds a few *groups*, each an og
generator of up to LANE_WIDTH rows, and steps each in turn:
- classmates who ask within GATHER_S share a group; while groups are running, a newcomer
  waits BUSY_GATHER_S for more, since a wider group costs little more than a narrow one;
- a group that has written at most FOLD_STEPS tokens is *folded* with the newcomers: its
  answers go on, in one wider generator, from their prompts plus what they have written, so a
  learner who asked a moment early does not run beside the class in a group of one (reading
  those tokens again goes through the batched prefill: the answer goes on exactly as a fresh
  request for the prompt plus them would, see tests/test_ortgenai.py);
- a hybrid model (Qwen3.5: Gated DeltaNet layers beside attention) batches only prompts of
  equal length and never folds: its linear-attention layers take no mask, so padding would
  run through a row's state; classmates asking the same question still share a group;
- every group fits the memory the model's lanes may fill (`reserve`, charged to the pool): a
  generator holds each row's cache at the group's full length from the start, and the prefill
  computes logits for every prompt position, so long prompts or long answers make narrower
  groups, never an out-of-memory kill; one group always runs.
Stop, a closed tab, an end-of-turn token and each answer's own token limit end one row without
disturbing the others (the row is computed until its group ends, its tokens dropped). The
generators are driven through the C API (engines/oga.py), which lets go of the GIL during a
forward pass. Nothing here knows about Gradio.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from qwenlab.engines import Engine, Request
from qwenlab.engines.driver import Driver, Job
from qwenlab.engines.onnx import ENGINE, _search_options

log = logging.getLogger(__name__)
LANE_WIDTH = 16       # the most answers one forward pass carries
GATHER_S = 0.02       # how long an idle machine waits for classmates who asked at the same moment
BUSY_GATHER_S = 0.25  # ... and a busy one, where a new group would only share the cores
FOLD_STEPS = 32       # a group this young still folds into a wider one
RESERVE_TOKENS = 1024        # cache set aside per answer at once: prompt and answer this long
PREFILL_TOKENS = 1024        # logits set aside for one prefill: rows times the longest prompt
MAX_RESERVE = 4 * 1024 ** 3  # never more than this for one model's lanes


@dataclass(frozen=True)
class Row:
    """One answer as a generator row: what it reads (prompt plus anything already written)
    and how many tokens it may still write."""

    ids: list[int]
    left: int

    @classmethod
    def of(cls, job: Job) -> Row:
        request: Request = job.request
        return cls(request.prompt.ids + job.written, request.max_new_tokens - len(job.written))


@dataclass(frozen=True)
class Shape:
    """What a group's memory depends on, from the model's genai_config.json and, for a hybrid
    model (Qwen3.5), the checkpoint's config.json: only its attention layers keep keys and
    values per token; each Gated DeltaNet layer keeps a fixed state per row."""

    pad_id: int
    kv_bytes: int         # keys and values of one token in every attention layer (fp32 on a CPU)
    vocab: int
    state_bytes: int = 0  # a row's fixed linear-attention state (conv window and recurrence)

    @property
    def hybrid(self) -> bool:
        """Rows must not be padded: the linear-attention layers take no mask, so padding would
        run through each row's state (the builder's dense export)."""
        return self.state_bytes > 0

    @classmethod
    def of(cls, folder: str | Path, checkpoint: dict | None = None) -> Shape:
        model = json.loads((Path(folder) / "genai_config.json").read_text())["model"]
        decoder = model["decoder"]
        text = (checkpoint or {}).get("text_config", checkpoint or {})
        kinds = text.get("layer_types") or ["full_attention"] * decoder["num_hidden_layers"]
        attention = sum(kind == "full_attention" for kind in kinds)
        kv = 2 * attention * decoder["num_key_value_heads"] * decoder["head_size"] * 4
        state = 0
        if "past_conv_names" in decoder["inputs"]:
            keys, values = text["linear_num_key_heads"], text["linear_num_value_heads"]
            kdim, vdim = text["linear_key_head_dim"], text["linear_value_head_dim"]
            conv = (2 * keys * kdim + values * vdim) * (text["linear_conv_kernel_dim"] - 1)
            state = (len(kinds) - attention) * (conv + values * kdim * vdim) * 4
        return cls(int(model["pad_token_id"]), kv, int(model["vocab_size"]), state)

    def bytes(self, rows: list[Row]) -> int:
        """A group's memory: its cache and its prefill's logits (see `logits`)."""
        return self.cache(rows) + self.logits(rows)

    def cache(self, rows: list[Row]) -> int:
        """The generator's cache, which holds every row at the group's full length throughout,
        and each row's fixed state in a hybrid model."""
        if not rows:
            return 0
        longest = max(len(r.ids) for r in rows) + max(r.left for r in rows)
        return len(rows) * (longest * self.kv_bytes + self.state_bytes)

    def logits(self, rows: list[Row]) -> int:
        """The prefill's logits: a row of the vocabulary for every prompt position of every row
        (this builder computes them all); gone once the prompts are read."""
        return len(rows) * max((len(r.ids) for r in rows), default=0) * self.vocab * 4


@dataclass
class Tally:
    """What the lanes have done, for tests and stats."""

    widest: int = 0  # the most answers one forward pass has carried
    folds: int = 0   # young groups folded into wider ones


class _Group:
    """Answers written together by one og generator."""

    def __init__(self, model, shape: Shape, jobs: list[Job]):
        from qwenlab.engines import oga

        rows = [Row.of(job) for job in jobs]
        self.jobs: list[Job | None] = list(jobs)  # by row; None once a row's answer has ended
        self.sampling = jobs[0].request.sampling
        self.steps = 0
        self.cost = shape.cache(rows)  # the logits are freed as soon as the prompts are read
        longest = max(len(r.ids) for r in rows) + max(r.left for r in rows)
        self.generator = oga.Generator(model, _search_options(self.sampling, longest),
                                       [r.ids for r in rows], shape.pad_id)

    def live(self) -> list[Job]:
        return [job for job in self.jobs if job is not None]

    def step(self, eos: frozenset[int]) -> None:
        """One token for every row; finishes the answers that ended."""
        tokens = self.generator.step()
        self.steps += 1
        for row, token in enumerate(tokens):
            job = self.jobs[row]
            if job is None:
                continue
            job.written.append(token)
            job.emit(token)
            if token in eos or len(job.written) >= job.request.max_new_tokens:
                self.jobs[row] = None
                job.finish()
        if self.generator.done():  # the longest row reached the group's length
            for row, job in enumerate(self.jobs):
                if job is not None:
                    self.jobs[row] = None
                    job.finish()

    def drop(self, job: Job) -> None:
        self.jobs = [None if held is job else held for held in self.jobs]

    def close(self) -> None:
        self.generator.close()


class _Lanes:
    """The groups of one model, as its driver's batch."""

    def __init__(self, model, shape: Shape, budget: int, eos: frozenset[int], tally: Tally):
        self.model, self.shape, self.budget, self.eos, self.tally = model, shape, budget, eos, tally
        self.groups: list[_Group] = []

    @property
    def jobs(self) -> list[Job]:
        return [job for group in self.groups for job in group.live()]

    def _in_use(self) -> int:
        return sum(group.cost for group in self.groups)

    def insert(self, offered: list[Job]) -> list[Job]:
        """Newcomers that sample alike, once the classmates who asked with them are here: folded
        into a young group, else a group of their own, within the memory."""
        wait = BUSY_GATHER_S if self.groups else GATHER_S
        if len(offered) < LANE_WIDTH and time.monotonic() - offered[0].arrived < wait:
            return []  # gathering: the driver asks again in a moment
        sampling = offered[0].request.sampling
        young = None if self.shape.hybrid else next(  # a hybrid's state cannot be re-read padded
            (g for g in self.groups if g.steps <= FOLD_STEPS and g.sampling == sampling), None)
        if young is not None and (taken := self._fitting(offered, young)):
            self._fold(young, taken)
            return taken
        if taken := self._fitting(offered):
            self._start(taken)
        return taken

    def _fitting(self, offered: list[Job], base: _Group | None = None) -> list[Job]:
        """The offered jobs (oldest first) that sample like the first and fit in one group
        beside `base`'s answers, within the memory the other groups leave (an idle model
        always takes its first job, whatever its size)."""
        keep = base.live() if base is not None else []
        free = self.budget - self._in_use() + (base.cost if base is not None else 0)
        sampling, taken, length = offered[0].request.sampling, [], len(Row.of(offered[0]).ids)
        for job in offered:
            if job.request.sampling != sampling:
                continue
            if self.shape.hybrid and len(Row.of(job).ids) != length:
                continue  # no padding in a hybrid's group: equal prompts only
            rows = [Row.of(held) for held in keep + taken + [job]]
            if len(rows) > LANE_WIDTH:
                break
            if self.shape.bytes(rows) <= free or not (self.groups or taken):
                taken.append(job)
        return taken

    def _start(self, jobs: list[Job]) -> None:
        self.groups.append(_Group(self.model, self.shape, jobs))
        self.tally.widest = max(self.tally.widest, len(jobs))
        log.debug("int4 lanes: a group of %d", len(jobs))

    def _fold(self, young: _Group, newcomers: list[Job]) -> None:
        jobs = young.live() + newcomers  # the earlier ones first: they asked first
        self.groups.remove(young)
        young.close()
        self.tally.folds += 1
        self._start(jobs)

    def step(self) -> None:
        for group in list(self.groups):
            group.step(self.eos)
            if not group.live():
                self.groups.remove(group)
                group.close()

    def remove(self, job: Job) -> None:
        for group in self.groups:
            group.drop(job)

    def close(self) -> None:
        for group in self.groups:
            group.close()
        self.groups = []


def lanes_budget(shape: Shape, answers: int) -> int:
    """The memory the lanes may fill (charged to the pool beside the weights): RESERVE_TOKENS
    for each answer at once plus one prefill's logits, at most MAX_RESERVE. Groups are formed
    within it, so a class asking for long answers is written a few at a time rather than
    running out of memory."""
    return min(answers * RESERVE_TOKENS * shape.kv_bytes + PREFILL_TOKENS * shape.vocab * 4,
               MAX_RESERVE)


class LanesEngine(Engine):
    """int4 on a CPU for a classroom: up to `limit` answers at once, LANE_WIDTH to a forward
    pass."""

    name = ENGINE

    def __init__(self, model, folder: str | Path, eos: set[int], label: str, limit: int,
                 max_waiting: int, checkpoint: dict | None = None):
        self.model, self.shape, self.tally = model, Shape.of(folder, checkpoint), Tally()
        self.budget = lanes_budget(self.shape, limit)
        self.driver = Driver(label, lambda: _Lanes(model, self.shape, self.budget,
                                                   frozenset(eos), self.tally),
                             limit, max_waiting)

    def reserve(self) -> int:
        return self.budget

    def close(self) -> None:
        super().close()
        self.model = None


def groups_for(answers: int) -> int:
    """Generators needed for `answers` at once."""
    return max(1, math.ceil(answers / LANE_WIDTH))
