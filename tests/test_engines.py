"""Engines own their concurrency: the driver's line, limit and places, and what happens when a
batch fails, a driver stops answering, a learner leaves, or the engine is unloaded. Driven on
a scripted batch (conftest's fake engine): what is checked is the policy, so no test waits for
a model or races a clock; where a test waits, it waits for a state, with a generous deadline."""

import threading
import time

import pytest
from conftest import FakeRequest

from qwenlab.engines import Waiting
from qwenlab.engines.stream import iterate
from qwenlab.errors import EngineFailed, EngineStalled, Refused

pytestmark = pytest.mark.pure


def read(stream, pieces: list | None = None) -> list:
    """Every piece of a stream, as it comes, then the error it ended with, if any."""
    pieces = [] if pieces is None else pieces
    try:
        for piece in iterate(stream.__aiter__()):
            pieces.append(piece)
    except Exception as exc:
        pieces.append(exc)
    return pieces


def read_in_thread(stream):
    out: list = []
    thread = threading.Thread(target=read, args=(stream, out))
    thread.start()
    return out, thread


def until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the state never came"
        time.sleep(0.01)


def test_at_most_limit_answers_are_written_and_the_rest_learn_their_place(fake_engine):
    engine = fake_engine(limit=2)
    engine.script.hold()  # no step until every request is in
    streams = [engine.submit(FakeRequest([10 * i + 1, 10 * i + 2, 10 * i + 3])) for i in range(4)]
    readers = [read_in_thread(stream) for stream in streams]
    engine.script.allow()
    for _, thread in readers:
        thread.join(30)
    pieces = [out for out, _ in readers]
    for i, out in enumerate(pieces):
        assert [p for p in out if isinstance(p, int)] == [10 * i + 1, 10 * i + 2, 10 * i + 3]
    assert not any(isinstance(p, Waiting) for p in pieces[0] + pieces[1])
    assert [p.place for p in pieces[2] if isinstance(p, Waiting)] == [1]
    assert [p.place for p in pieces[3] if isinstance(p, Waiting)] in ([2], [2, 1])
    assert all(p.at_once == 2 for out in pieces for p in out if isinstance(p, Waiting))
    assert engine.script.widest == 2 and engine.stats() == {"active": 0, "waiting": 0, "limit": 2}


def test_a_batch_that_fails_fails_each_of_its_answers_and_the_next_is_answered(fake_engine):
    engine = fake_engine(limit=4)
    engine.script.hold()
    engine.script.fail_at = {3}
    failed = [engine.submit(FakeRequest([1, 2, 3, 4, 5])) for _ in range(2)]
    readers = [read_in_thread(stream) for stream in failed]
    engine.script.allow()
    for _, thread in readers:
        thread.join(30)
    for out, _ in readers:  # each had written what it could before step 3, then heard why
        assert out[:-1] == [1, 2][:len(out) - 1] and isinstance(out[-1], EngineFailed)
        assert "scripted failure at step 3" in str(out[-1]) and "Ask again" in str(out[-1])
    assert read(engine.submit(FakeRequest([7, 8]))) == [7, 8]
    assert engine.script.batches == 2 and engine.driver.failures == 1


def test_leaving_the_line_moves_everyone_up_and_stop_ends_one_answer(fake_engine):
    engine = fake_engine(limit=1)
    engine.script.hold()
    first = engine.submit(FakeRequest(range(100, 200)))
    until(lambda: engine.stats()["active"] == 1)
    second, third = (engine.submit(FakeRequest([2])) for _ in range(2))
    out, thread = read_in_thread(third)
    engine.script.allow(1)  # one step: the second and third are told their places
    until(lambda: [p.place for p in out if isinstance(p, Waiting)] == [2])
    second.cancel()          # the learner closed the tab while waiting
    engine.script.allow(1)   # places move between steps
    until(lambda: [p.place for p in out if isinstance(p, Waiting)] == [2, 1])
    first.cancel()           # Stop: the first answer ends at the next step
    engine.script.allow()
    thread.join(30)
    assert out[-1] == 2 and engine.stats()["waiting"] == 0


def test_a_full_line_refuses_new_requests_clearly(fake_engine):
    engine = fake_engine(limit=1, max_waiting=1)
    engine.script.hold()
    engine.submit(FakeRequest([1]))
    until(lambda: engine.stats()["active"] == 1)
    engine.submit(FakeRequest([1]))  # waits
    with pytest.raises(Refused, match="1 requests are already waiting for fake.*Try again"):
        engine.submit(FakeRequest([1]))


def test_a_driver_that_stops_answering_ends_its_requests_and_a_new_one_answers(fake_engine):
    engine = fake_engine(limit=2, stall_s=0.5)
    engine.script.hang_at = {1}  # the first step never returns (until released at teardown)
    stuck = read(engine.submit(FakeRequest([1, 2])))
    assert isinstance(stuck[-1], EngineStalled) and "has not answered" in str(stuck[-1])
    assert read(engine.submit(FakeRequest([3, 4]))) == [3, 4]  # a fresh driver thread


def test_unloading_an_engine_ends_every_request_with_a_clear_error(fake_engine):
    engine = fake_engine(limit=1)
    engine.script.hold()
    running = engine.submit(FakeRequest(range(50)))
    until(lambda: engine.stats()["active"] == 1)
    waiting = engine.submit(FakeRequest([1]))
    readers = [read_in_thread(running), read_in_thread(waiting)]
    engine.driver.close()
    engine.script.allow()
    for _, thread in readers:
        thread.join(30)
    for out, _ in readers:
        assert isinstance(out[-1], EngineFailed) and "unloaded" in str(out[-1])
    with pytest.raises(Refused, match="unloaded"):
        engine.submit(FakeRequest([1]))


def test_a_consumer_that_walks_away_cancels_its_request(fake_engine):
    engine = fake_engine(limit=1)
    engine.script.hold()
    stream = engine.submit(FakeRequest(range(1000)))
    pieces = iterate(stream.__aiter__())
    engine.script.allow()
    assert next(pieces) == 0
    pieces.close()  # the learner closed the tab
    until(lambda: engine.stats()["active"] == 0)
    assert read(engine.submit(FakeRequest([5]))) == [5]


# -- the pool around engines: what it frees, and when ----------------------------------------------
def fake_loader(gate: threading.Event | None = None, engines: list | None = None):
    """A pool loader that builds a fake engine instead of loading weights (waiting for `gate`
    first, when given); each Loaded is charged 1 GB."""
    from conftest import make_fake_engine

    from qwenlab.loading import Loaded

    def load(spec, precision, device, progress=None):
        if gate is not None:
            if progress:
                progress("load", None, f"Loading {spec.key}")
            assert gate.wait(30)
        engine = make_fake_engine()
        if engines is not None:
            engines.append(engine)
        return Loaded(spec, precision, device, object(), None, engine, nbytes=int(1e9))

    return load


def test_eviction_is_chosen_under_the_lock_and_done_outside_it(monkeypatch):
    """Stopping an engine can take seconds (a batch finishing its step): meanwhile every other
    lease and the header's pool line go on."""
    from qwenlab.pool import ModelPool

    engines = []
    # the estimate from the registry, not from tiny checkpoints another test may have pointed at
    monkeypatch.delenv("QWENLAB_MODEL_DIR", raising=False)
    monkeypatch.setattr("qwenlab.pool.estimate_bytes", lambda spec, precision: int(1.5e9))
    pool = ModelPool(budget_bytes=int(2.5e9), device="cpu", loader=fake_loader(engines=engines))
    pool.release(pool.acquire("qwen2.5-0.5b", "bf16"))
    closing, finish = threading.Event(), threading.Event()
    slow_close = engines[0].close

    def close():
        closing.set()
        finish.wait(30)
        slow_close()

    monkeypatch.setattr(engines[0], "close", close)
    evicting = threading.Thread(target=lambda: pool.release(pool.acquire("qwen3-0.6b", "bf16")))
    evicting.start()  # needs the room: the idle model is evicted, its engine closed (slowly)
    assert closing.wait(30)
    looked = threading.Thread(target=lambda: [pool.stats(), pool.ready("qwen2.5-0.5b", "bf16")])
    looked.start()
    looked.join(10)
    assert not looked.is_alive()  # the pool answered while the engine was still closing
    finish.set()
    evicting.join(30)
    assert [m["model"] for m in pool.stats()["models"]] == ["qwen3-0.6b"]


def test_a_learner_who_leaves_during_a_load_leaves_nothing_pinned():
    """The app's acquire (qwenlab.web.ui) is closed while the model loads: when the load ends,
    its lease is given back, and the model can be evicted."""
    from qwenlab.pool import ModelPool
    from qwenlab.web.ui import acquire

    gate = threading.Event()
    pool = ModelPool(budget_bytes=int(4e9), device="cpu", loader=fake_loader(gate))
    messages = iterate(acquire(pool, "qwen3-0.6b", "bf16"))
    assert next(messages) == "Loading qwen3-0.6b"  # under way
    messages.close()  # the learner closed the tab
    gate.set()
    until(lambda: pool.stats()["models"][0]["state"] == "ready")
    until(lambda: pool.stats()["models"][0]["leases"] == 0)
    assert pool.evict_idle() == 1


def test_a_learners_rate_is_forgotten_a_minute_after_their_last_request():
    from qwenlab.admission import Rate

    now = [1000.0]
    rate = Rate(per_minute=2, clock=lambda: now[0])
    rate.check("a")
    rate.check("a")
    with pytest.raises(Refused, match="asked 2 times in the last minute.*Try again in 60 s"):
        rate.check("a")
    rate.check("b")  # another learner is not affected
    rate.check(None)  # lesson cells carry no learner
    assert rate.learners() == 2
    now[0] += 61
    assert rate.learners() == 0  # nobody is remembered for ever
    rate.check("a")


def test_long_jobs_run_one_at_a_time_and_stop_between_steps():
    """The fine-tuning line: the second job learns its place, the first stops when its learner
    presses Stop, and the second then runs."""
    from qwenlab.admission import JobLine

    line = JobLine("fine-tuning", 1, 4)
    started, steps = threading.Event(), []

    def job(name):
        def work(put, stopped):
            started.set()
            for step in range(200):
                if stopped():
                    return
                steps.append(name)
                put(f"{name} {step}")
                time.sleep(0.01)
        return work

    first = line.submit(job("first"))
    assert started.wait(30)
    second = line.submit(job("second"))
    second_out, second_thread = read_in_thread(second)
    until(lambda: second_out[:1] == [Waiting(1, 1)])
    first.cancel()
    second_thread.join(30)
    assert second_out[-1] == "second 199" and "first" not in steps[steps.index("second"):]
    line.close()
