"""The int4 ONNX Runtime GenAI engine on tiny checkpoints: converted by the real builder once
per session, served through the pool, streamed with the same events, stopped, evicted; and
the CLI with it. (The app runs it in test_edge: the lab's int4 row.)"""

import sys
from pathlib import Path

import pytest

from qwenlab.engines import onnx as ortgenai
from qwenlab.errors import PrecisionUnavailable
from qwenlab.events import Final, TextDelta
from qwenlab.generation import stream_chat
from qwenlab.loading import precision_problem
from qwenlab.pool import default_precision
from qwenlab.prompts import build_prompt
from qwenlab.registry import get_model

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def onnx_env(tiny_env, monkeypatch):
    monkeypatch.setenv("QWENLAB_CPU_ENGINE", "auto")
    return tiny_env


def test_int4_is_the_cpu_default_where_the_engine_covers_the_model(onnx_env, monkeypatch):
    assert default_precision("cpu", get_model("qwen2.5-0.5b")) == "int4"
    assert default_precision("cpu", get_model("qwen3-0.6b")) == "int4"
    assert default_precision("cpu", get_model("qwen2-vl-2b")) == "bf16"  # VL stays on transformers
    assert "stays on transformers" in precision_problem("int4", "cpu", get_model("qwen2-vl-2b"))
    assert "GPU" in precision_problem("int4", "cuda", get_model("qwen2.5-0.5b"))
    monkeypatch.setenv("QWENLAB_CPU_ENGINE", "transformers")
    assert default_precision("cpu", get_model("qwen2.5-0.5b")) == "bf16"
    monkeypatch.setitem(sys.modules, "onnxruntime_genai", None)  # as where it is not installed
    assert "pip install 'qwenlab[onnx]'" in precision_problem("int4", "cpu")


def test_pool_converts_once_then_streams_with_stats(onnx_env, make_pool):
    pool = make_pool(4)
    messages = []
    with pool.lease("qwen2.5-0.5b", progress=lambda stage, f, m: messages.append(m)) as loaded:
        assert loaded.precision == "int4" and loaded.nbytes > 0
        events = list(stream_chat(loaded, [{"role": "user", "content": "Hello!"}],
                                  max_new_tokens=12))
    final = events[-1]
    assert isinstance(final, Final) and final.engine == "onnxruntime-genai"
    assert final.precision == "int4" and final.new_tokens == 12 and final.finish_reason == "length"
    assert final.ttft_s > 0 and final.tokens_per_s > 0
    assert all(isinstance(e, TextDelta) for e in events[:-1])
    built = ortgenai.is_built(get_model("qwen2.5-0.5b"), loaded.source)
    assert built and (any("int4 ONNX" in m for m in messages))
    # evicted and asked again: loaded from the cache on disk, no second conversion
    pool.evict_idle()
    again = []
    with pool.lease("qwen2.5-0.5b", progress=lambda stage, f, m: again.append(m)) as loaded:
        assert loaded.precision == "int4"
    assert not any("Converting" in m for m in again)
    assert pool.stats()["loads"] == 2 and pool.stats()["evictions"] == 1


def test_stop_ends_an_int4_stream_and_thinking_models_work(onnx_env, stop_midway, make_pool):
    pool = make_pool(4)
    with pool.lease("qwen3-0.6b") as loaded:
        event = stop_midway(loaded, "Count to 100.", after=3, max_new_tokens=300)
        assert isinstance(event, Final) and event.finish_reason == "cancelled"
        assert event.new_tokens < 300 and event.engine == "onnxruntime-genai"


def test_vision_models_refuse_int4_clearly(onnx_env, make_pool):
    pool = make_pool(4)
    with pytest.raises(PrecisionUnavailable, match="stays on transformers"):
        pool.acquire("qwen2-vl-2b", "int4")


def test_cli_prefetch_converts_and_chat_answers_on_int4(onnx_env, qwenlab_cli):
    prefetch = qwenlab_cli("prefetch", "qwen3-0.6b", "--onnx")
    assert prefetch.returncode == 0, prefetch.stderr
    assert "qwen3-0.6b int4 ONNX:" in prefetch.stdout
    chat = qwenlab_cli("chat", "qwen3-0.6b", "Hello", "--no-think", "--max-new-tokens", "8")
    assert chat.returncode == 0, chat.stderr
    assert "qwen3-0.6b int4 on cpu (onnxruntime-genai)" in chat.stdout
    assert "Converting" not in chat.stderr  # prefetch already did it


def test_a_classroom_shares_int4_lanes_and_gets_the_answers_it_would_get_alone(onnx_env, make_pool):
    """Six learners at once, prompts of different lengths, greedy: each answer is the one the
    learner gets alone (batching changes who waits, not what is said); one learner's Stop ends
    only that answer; the model's line lets 32 in while it is loaded, then goes back to 2."""
    import threading

    from qwenlab.engines import lanes
    from qwenlab.registry import Sampling

    pool = make_pool(4)
    greedy = Sampling(do_sample=False)
    questions = [f"Question {i}: " + "tell me more " * (i * 3) for i in range(6)]

    def answer(loaded, question, cancel=None):
        """(text, Final); with `cancel`, Stop is pressed at the first piece of text."""
        text = ""
        for event in stream_chat(loaded, [{"role": "user", "content": question}], thinking=False,
                                 max_new_tokens=10, sampling=greedy, cancel=cancel):
            if isinstance(event, TextDelta):
                text += event.text
                if cancel is not None:
                    cancel.set()
        return text, event

    with pool.lease("qwen2.5-0.5b") as loaded:
        assert isinstance(loaded.engine, lanes.LanesEngine)
        assert loaded.engine.at_once == 32
        alone = [answer(loaded, q)[0] for q in questions]
        together, stopped = [None] * 6, threading.Event()

        def ask(i):
            together[i] = answer(loaded, questions[i])

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        stopper = threading.Thread(target=lambda: together.append(
            answer(loaded, questions[0], cancel=stopped)))
        for thread in threads + [stopper]:
            thread.start()
        for thread in threads + [stopper]:
            thread.join(timeout=120)
        assert loaded.engine.tally.widest >= 2  # some of them really shared a forward pass
    assert [text for text, _ in together[:6]] == alone
    assert all(final.new_tokens == 10 for _, final in together[:6])
    assert together[6][1].finish_reason == "cancelled" and together[6][1].new_tokens < 10


def test_qwen3_5s_hybrid_layers_share_lanes_only_with_prompts_of_their_length(onnx_env,
                                                                                make_pool):
    """Qwen3.5's Gated DeltaNet layers take no padding mask: learners whose prompts have the
    same length share a forward pass and each gets the answer given alone; a prompt of another
    length waits for a group of its own rather than being padded into a wrong answer."""
    import threading

    from qwenlab.engines import lanes
    from qwenlab.registry import Sampling

    greedy = Sampling(do_sample=False)
    questions = [f"Question {i}: tell me more" for i in range(4)] + ["Why? " * 12]
    with make_pool(4).lease("qwen3.5-0.8b", "int4") as loaded:
        assert isinstance(loaded.engine, lanes.LanesEngine) and loaded.engine.shape.hybrid
        alone = [_greedy_text(loaded, q, 8, greedy)[0] for q in questions]
        together = [None] * len(questions)

        def ask(i):
            together[i] = _greedy_text(loaded, questions[i], 8, greedy)[0]

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert loaded.engine.tally.widest >= 2
    assert together == alone


def _greedy_text(loaded, question, max_new_tokens, sampling, engine=None):
    text = ""
    for event in stream_chat(loaded, [{"role": "user", "content": question}], thinking=False,
                             max_new_tokens=max_new_tokens, sampling=sampling, engine=engine):
        if isinstance(event, TextDelta):
            text += event.text
    return text, event


def test_an_int4_forward_pass_lets_the_rest_of_the_app_run(onnx_env, make_pool):
    """onnxruntime-genai's Python module holds the GIL through a forward pass; the lanes call
    its C API, which lets go of it, so the server can send tokens while the next are written."""
    import threading

    from qwenlab.engines import oga

    counted, running = [0], [True]

    def count():
        while running[0]:
            counted[0] += 1

    with make_pool(4).lease("qwen2.5-0.5b") as loaded:
        rows = [[1000 + (row * 7 + i) % 5000 for i in range(400)] for row in range(2)]
        counter = threading.Thread(target=count)
        counter.start()
        try:
            before = counted[0]
            generator = oga.Generator(loaded.model, {"max_length": 404, "do_sample": False}, rows,
                                      pad_id=0)  # one call: both prompts read in one pass
            during = counted[0] - before
            assert len(generator.step()) == 2
            generator.close()
        finally:
            running[0] = False
            counter.join()
    # holding the GIL, the counter would stand still for the whole call
    assert during > 100_000


def _ids(engine, prompt_ids, max_new_tokens, greedy, started=None):
    """Token ids of one answer straight from the engine (no template, no decoding); `started`
    is set at the first one."""
    from qwenlab.engines import Prompt, Request
    from qwenlab.engines.stream import iterate

    ids = []
    for piece in iterate(engine.submit(Request(Prompt.of_ids(prompt_ids), greedy,
                                               max_new_tokens)).__aiter__()):
        if isinstance(piece, int):
            ids.append(piece)
            if started is not None:
                started.set()
    return ids


def test_a_young_batch_folds_into_a_wider_one_and_goes_on_from_what_it_wrote(
        onnx_env, make_pool, monkeypatch):
    """A learner who asked a moment before two classmates is folded into their batch: their row
    is read again from its prompt plus what it had written, then goes on with the classmates.

    What is guaranteed is the arithmetic of each path, not that two paths agree to the last bit.
    Up to the fold the answer is the one given alone (the same path). After it, the row reads
    its tokens again through the batched prefill and decodes three rows wide, whose int8 kernels
    differ from a one-row decode's on AVX2: where two tokens' logits are within a hair, the wider
    batch may pick the other one (measured under bench/avx2only.py: 0.6968 against 0.6963, logits
    spread 0.16, at the 129th token). So: the fold's generator reads exactly the prompt and what
    was written, and every token written after it, and the classmates', is the greedy choice
    given all that came before it, up to such a tie. (The tiny model's greedy answers repeat one
    token, so the answers alone cannot tell a fold that lost a token from one that kept it; the
    rows it reads can.)"""
    import threading

    from qwenlab.engines import lanes, oga
    from qwenlab.registry import Sampling

    monkeypatch.setattr(lanes, "FOLD_STEPS", 10_000)   # however far the first answer has got
    monkeypatch.setattr(lanes, "BUSY_GATHER_S", 0.0)
    folds = []  # (prompt length, tokens written) of each answer at each fold
    fold = lanes._Lanes._fold

    def spy(self, young, newcomers):
        folds.extend((len(job.request.prompt.ids), len(job.written)) for job in young.live())
        return fold(self, young, newcomers)

    monkeypatch.setattr(lanes._Lanes, "_fold", spy)
    reads = []  # the rows each of the engine's generators was made with

    class Recording(oga.Generator):
        def __init__(self, model, search, rows, pad_id):
            reads.append([list(row) for row in rows])
            super().__init__(model, search, rows, pad_id)

    monkeypatch.setattr(oga, "Generator", Recording)
    greedy = Sampling(do_sample=False)
    with make_pool(4).lease("qwen2.5-0.5b") as loaded:
        engine = loaded.engine
        prompts = [build_prompt(loaded, [{"role": "user", "content": q}], False, None).ids
                   for q in ("Tell me a long story " * 3, "Hi!", "What is 2 + 2?")]
        lengths = (600, 60, 60)
        alone = [_ids(engine, p, n, greedy) for p, n in zip(prompts, lengths)]
        together, started, asked = [None] * 3, threading.Event(), len(reads)

        def ask(i, signal=None):
            together[i] = _ids(engine, prompts[i], lengths[i], greedy, signal)

        threads = [threading.Thread(target=ask, args=(0, started))]
        threads[0].start()
        assert started.wait(60)
        threads += [threading.Thread(target=ask, args=(i,)) for i in (1, 2)]
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert engine.tally.folds >= 1 and engine.tally.widest == 3
        points = [written for read, written in folds if read == len(prompts[0])]
        assert points and 0 < points[0] < lengths[0]
        first = together[0]
        assert first[:points[0]] == alone[0][:points[0]]
        # each fold's generator reads the row's prompt and exactly what it had written, and
        # every row read while they asked together is a prompt and the start of its answer
        rows = [row for made in reads[asked:] for row in made]
        assert all(prompts[0] + first[:at] in rows for at in points)
        assert all(any(row[:len(p)] == p and row[len(p):] == together[i][:len(row) - len(p)]
                       for i, p in enumerate(prompts)) for row in rows)
        assert len(first) > points[0]
        folder = ortgenai.folder_for(loaded.spec, loaded.source)
        assert _not_greedy(folder, prompts[0], first, after=points[0]) == []
        for i in (1, 2):
            assert together[i] == alone[i] or _not_greedy(folder, prompts[i], together[i]) == []


TIE = 0.01  # logits this close are a near-tie that the kernels' rounding may decide either way


def _not_greedy(folder, prompt, answer, after=0):
    """The positions of `answer` (from `after` on) whose token is not the model's greedy choice
    given the prompt and the answer before it, up to a near-tie: (position, token's logit, best
    logit). Read one token at a time through onnxruntime-genai's own generator."""
    import numpy as np
    import onnxruntime_genai as og

    model = og.Model(str(folder))
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(prompt) + len(answer) + 1, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(prompt + answer[:after])
    wrong = []
    for position in range(after, len(answer)):
        logits = np.asarray(generator.get_logits())[0, -1]
        token = answer[position]
        if logits[token] < logits.max() - TIE:
            wrong.append((position, float(logits[token]), float(logits.max())))
        generator.append_tokens([token])
    return wrong


def test_lanes_never_batch_past_the_memory_set_aside(onnx_env, make_pool, monkeypatch):
    """With room for two answers' cache and logits, six learners are written two at a time,
    and every one is answered; the pool is charged what the lanes may hold."""
    import threading

    from qwenlab.engines import lanes, onnx
    from qwenlab.registry import Sampling

    pool = make_pool(4)
    with pool.lease("qwen2.5-0.5b") as loaded:
        shape = loaded.engine.shape
        assert loaded.engine.reserve() <= lanes.MAX_RESERVE
        assert pool.stats()["models"][0]["charge"] >= loaded.nbytes + loaded.engine.reserve()
        prompt = build_prompt(loaded, [{"role": "user", "content": "Question 0"}], False, None).ids
        # room for two such answers (and a token or two to spare), not three
        monkeypatch.setattr(lanes, "MAX_RESERVE", shape.bytes([lanes.Row(prompt + [0, 0], 12)] * 2) + 1)
        small = lanes.LanesEngine(loaded.model, onnx.folder_for(loaded.spec, loaded.source),
                                  loaded.eos, "small", 32, 8)
        answers = [None] * 6

        def ask(i):
            answers[i] = _greedy_text(loaded, f"Question {i}", 12, Sampling(), engine=small)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert small.tally.widest == 2
        small.close()
    assert all(final.new_tokens == 12 and final.finish_reason == "length" for _, final in answers)


@pytest.mark.pure
def test_only_the_bound_minor_version_of_the_library_is_used(monkeypatch):
    """oga.py binds one minor version's C API: another version is refused with the range to
    install, before any C call (a changed signature would crash the process)."""
    from qwenlab import system
    from qwenlab.engines import oga

    assert oga.version_problem("0.18.0") is None and oga.version_problem("0.18.3") is None
    for other in ("0.17.1", "0.19.0", "1.0", None, "weird"):
        assert "onnxruntime-genai>=0.18,<0.19" in oga.version_problem(other)
    monkeypatch.setattr(system, "version", lambda name: "0.19.1")
    assert "binds the C API of 0.18.x" in precision_problem("int4", "cpu", get_model("qwen3-0.6b"))


def test_a_failing_int4_batch_tells_each_learner_and_the_next_is_answered(onnx_env, make_pool,
                                                                         monkeypatch):
    """The C library fails mid-batch (as a corrupt step or an exhausted allocator would): both
    learners in that batch get a clear error, at once, and the next learner is answered."""
    import threading

    from qwenlab.engines import oga
    from qwenlab.errors import EngineFailed
    from qwenlab.registry import Sampling

    step, calls = oga.Generator.step, [0]

    def failing(self):
        calls[0] += 1
        if calls[0] == 3:
            raise oga.GenAIError("scripted: the allocator gave up")
        return step(self)

    monkeypatch.setattr(oga.Generator, "step", failing)
    errors = []
    with make_pool(4).lease("qwen2.5-0.5b") as loaded:
        loaded.engine.driver.limit = 2
        def ask(i):
            try:
                _greedy_text(loaded, f"Question {i}", 40, Sampling(do_sample=False))
            except EngineFailed as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(errors) == 2 and all("the allocator gave up" in e for e in errors), errors
        text, final = _greedy_text(loaded, "And now?", 5, Sampling(do_sample=False))
    assert final.new_tokens == 5 and final.finish_reason == "length"


def test_a_conversion_that_fails_half_way_is_never_used(onnx_env, tmp_path, monkeypatch):
    """A corrupt checkpoint: the builder fails with a clear error, and what it had written is
    thrown away; the next try converts again from scratch."""
    import shutil

    from qwenlab.errors import LoadError
    from qwenlab.registry import get_model

    spec = get_model("qwen2.5-0.5b")
    broken = tmp_path / spec.key
    shutil.copytree(onnx_env / spec.key, broken)
    weights = next(broken.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:len(weights.read_bytes()) // 2])  # cut in half
    monkeypatch.setenv("QWENLAB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(LoadError, match="Converting qwen2.5-0.5b to ONNX failed"):
        ortgenai.build(spec, str(broken))
    assert not ortgenai.is_built(spec, str(broken))
    shutil.copy(onnx_env / spec.key / weights.name, weights)  # mended
    folder = ortgenai.build(spec, str(broken))
    assert ortgenai.is_built(spec, str(broken)) and (folder / "genai_config.json").is_file()
    assert not list(folder.parent.glob("*.partial"))
