"""Classroom limits: answers per model at once, the line and places in it, requests per learner
per minute; refused requests say which limit and what to do."""

import threading
import time

import pytest

from qwenlab import config
from qwenlab.admission import Admission, Refused
from qwenlab.web.ui import answer_stream


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def admit(ticket):
    return list(ticket.places())


@pytest.mark.pure
def test_one_model_writes_at_most_per_model_answers_and_the_rest_wait_in_order():
    gate = Admission(per_model=1, max_waiting=10, per_minute=100)
    first = gate.enter("qwen3-0.6b")
    assert admit(first) == []                      # nobody ahead: straight in
    second, third = gate.enter("qwen3-0.6b"), gate.enter("qwen3-0.6b")
    other = gate.enter("qwen2.5-0.5b")
    assert admit(other) == []                      # another model has its own line
    places = {"second": [], "third": []}

    def wait(name, ticket):
        for place in ticket.places(poll_s=0.01):
            places[name].append(place)

    threads = [threading.Thread(target=wait, args=("second", second)),
               threading.Thread(target=wait, args=("third", third))]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert gate.stats()["waiting"] == {"qwen3-0.6b": 2}
    first.close()
    threads[0].join(5)
    assert second.admitted and not third.admitted
    time.sleep(0.2)                                # third sees itself move up to first place
    second.close()
    threads[1].join(5)
    assert third.admitted
    assert places == {"second": [1], "third": [2, 1]}
    third.close(), other.close()
    assert gate.stats()["active"] == {} and gate.stats()["waiting"] == {}


@pytest.mark.pure
def test_leaving_the_line_moves_everyone_up():
    gate = Admission(per_model=1, max_waiting=10, per_minute=100)
    first = gate.enter("m")
    admit(first)
    second, third = gate.enter("m"), gate.enter("m")
    assert next(third.places()) == 2
    second.close()                                 # the learner closed the tab while waiting
    assert next(third.places()) == 1
    first.close()
    assert admit(third) == []


@pytest.mark.pure
def test_a_full_line_refuses_new_requests_clearly():
    gate = Admission(per_model=1, max_waiting=1, per_minute=100)
    admit(gate.enter("m"))
    gate.enter("m")                                # waits
    with pytest.raises(Refused, match="1 requests are already waiting.*Try again in a minute"):
        gate.enter("m")


@pytest.mark.pure
def test_each_learner_has_a_rate_and_lesson_cells_do_not_count():
    clock = Clock()
    gate = Admission(per_model=10, max_waiting=10, per_minute=2, clock=clock)
    for _ in range(2):
        gate.enter("m", "learner-a").close()
    with pytest.raises(Refused, match="asked 2 times in the last minute.*Try again in 60 s"):
        gate.enter("m", "learner-a")
    gate.enter("m", "learner-b").close()           # another learner is not affected
    gate.enter("m", None).close()                  # lesson cells carry no learner
    clock.now += 61
    gate.enter("m", "learner-a").close()


@pytest.mark.model
def test_a_second_learner_sees_their_place_then_gets_their_answer(pool):
    pool.admission = Admission(per_model=1, max_waiting=10, per_minute=100)
    messages = [{"role": "user", "content": "Hello"}]
    first = answer_stream(pool, "qwen3-0.6b", messages, max_new_tokens=4, learner="a")
    next(first)                                    # the first learner holds the only slot
    second = answer_stream(pool, "qwen3-0.6b", messages, max_new_tokens=4, learner="b")
    assert "Number 1 in line for qwen3-0.6b" in next(second).loading
    list(first)                                    # the first answer finishes
    updates = list(second)
    assert updates[-1].final is not None and updates[-1].final.new_tokens == 4
    assert pool.admission.stats()["active"] == {}


@pytest.mark.model
def test_a_learner_over_the_rate_gets_a_clear_error(pool):
    import gradio as gr

    pool.admission = Admission(per_model=2, max_waiting=10, per_minute=1)
    messages = [{"role": "user", "content": "Hello"}]
    list(answer_stream(pool, "qwen3-0.6b", messages, max_new_tokens=2, learner="a"))
    with pytest.raises(gr.Error, match="asked 1 times in the last minute"):
        list(answer_stream(pool, "qwen3-0.6b", messages, max_new_tokens=2, learner="a"))


@pytest.mark.pure
@pytest.mark.parametrize("device,batching,expected", [
    ("cuda", "auto", 16), ("cpu", "auto", 2), ("cpu", "on", 16), ("cuda", "off", 2)])
def test_more_answers_at_once_where_they_are_batched(monkeypatch, device, batching, expected):
    monkeypatch.delenv("QWENLAB_MAX_ACTIVE_PER_MODEL", raising=False)
    monkeypatch.setenv("QWENLAB_BATCHING", batching)
    assert Admission.from_config(device).per_model == expected
    monkeypatch.setenv("QWENLAB_MAX_ACTIVE_PER_MODEL", "5")  # the operator's word wins
    assert Admission.from_config(device).per_model == 5


@pytest.mark.pure
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_gradio_has_a_thread_for_every_learner_who_can_wait(monkeypatch, device):
    # a waiting learner holds a worker thread: with Gradio's default 40 a full line (64) would
    # take them all and the answers it waits for could never stream to their end
    from types import SimpleNamespace

    from qwenlab.web.shell.app import queue_sizes

    monkeypatch.delenv("QWENLAB_MAX_ACTIVE_PER_MODEL", raising=False)
    admission = Admission.from_config(device)
    concurrency, threads = queue_sizes(SimpleNamespace(admission=admission, device=device))
    answers = config.max_active_per_model(device, batched=True)
    assert concurrency >= answers  # a whole batch of learners runs at once
    assert threads >= admission.max_waiting + 2 * answers + 40
    assert config.max_active_per_model("cpu", batched=True) == 32  # eight int4 lanes of four


def test_streamed_updates_thin_out_as_the_class_grows():
    """One learner sees the answer grow every 80 ms; with many answers at once the server
    sends about UI_UPDATES_PER_S updates in all, so serving them leaves the cores to the model."""
    from qwenlab.web.ui import UI_INTERVAL_S, UI_UPDATES_PER_S, ui_interval

    assert ui_interval(0) == ui_interval(1) == UI_INTERVAL_S
    for answers in (16, 32):
        assert answers / ui_interval(answers) <= UI_UPDATES_PER_S
    admission = Admission(per_model=2, max_waiting=4, per_minute=100)
    tickets = [admission.enter("qwen3-0.6b") for _ in range(3)]
    for ticket in tickets[:2]:
        list(ticket.places())  # admitted at once: two answers at a time, the third waits
    assert admission.active("qwen3-0.6b") == 2 and admission.active("other") == 0
    for ticket in tickets:
        ticket.close()
    assert admission.active("qwen3-0.6b") == 0
