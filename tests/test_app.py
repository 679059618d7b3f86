"""The app launched in a subprocess on tiny checkpoints, driven through gradio_client."""

import pytest

pytestmark = pytest.mark.app


def test_pool_status_reports_device_budget_and_models(client):
    stats = client.predict(api_name="/pool_status")
    assert stats["device"] == "cpu" and stats["budget_bytes"] == int(2e9)
    assert isinstance(stats["models"], list)


def test_family_pick_ranks_checkpoints_that_fit(client):
    table, summary = client.predict("hard reasoning", "T4 GPU (16 GB)", "quality",
                                    api_name="/family_pick")
    rows = table["data"]
    assert rows and all(row[1].startswith("qwen3") for row in rows)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0][3] == "fp16" and "T4 GPU" in summary and rows[0][2] in summary


def test_family_pick_refuses_an_unknown_device_clearly(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Toaster is not in the list of choices"):
        client.predict("chat", "Toaster", "quality", api_name="/family_pick")
    # and the app keeps serving
    assert client.predict(api_name="/pool_status")["device"] == "cpu"


def test_only_the_documented_endpoints_are_public(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/family_pick", "/pool_status", "/math", "/math_check", "/code", "/thinking",
            "/thinking_compare", "/multilingual", "/multilingual_tokens", "/vision",
            "/vision_plan", "/edge_compare", "/edge_calculator"} <= names
    assert not any(name.startswith("/lambda") for name in names)


def test_math_streams_a_solution_with_stats_and_an_honest_check(client):
    solution, answer, verdict, stats = client.predict(
        "Solve x^2 - 5x + 6 = 0.", "Chain of thought (CoT)", "qwen2.5-math-1.5b", 0.7, 0.8, 20, 24,
        api_name="/math")
    assert solution and "qwen2.5-math-1.5b" in stats and "tokens/s" in stats
    # random weights write no \boxed{}: the app must say so rather than invent a verdict
    assert ("No \\boxed{}" in answer and "Not checked" in verdict) or "Final answer" in answer


def test_math_check_of_a_learners_answer(client):
    good = client.predict("Find the derivative of x^3 - 6x^2 + 9x + 1 and its critical points.",
                          "x = 1, 3", api_name="/math_check")
    bad = client.predict("Solve 2x^2 - 8 = 0.", "x = 4", api_name="/math_check")
    assert "SymPy agrees" in good and "fprime" in good
    assert "SymPy disagrees" in bad and "solve(" in bad


def test_math_refuses_an_empty_problem(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Type a question first"):
        client.predict("   ", "Chain of thought (CoT)", "qwen2.5-math-1.5b", 0.7, 0.8, 20, 24,
                       api_name="/math")


def test_math_refuses_a_prompt_longer_than_the_4k_context(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="4,096"):
        # digits are one token each in Qwen's BPE: 5,000 characters, over 5,000 tokens
        client.predict("Add these digits: " + "1234567890" * 500, "Chain of thought (CoT)", "qwen2.5-math-1.5b",
                       0.7, 0.8, 20, 24, api_name="/math")


def test_code_streams_an_answer_and_extracts_code(client):
    answer, code, stats = client.predict(
        "Write a function that returns the median of a list.", "Python",
        "Raise ValueError on an empty list", "", "qwen2.5-coder-0.5b", 0.7, 0.8, 20, 24,
        api_name="/code")
    assert answer and "qwen2.5-coder-0.5b" in stats and "24 tokens" in stats
    assert isinstance(code, str)  # random weights rarely open a fence; the field is still there


def test_thinking_chat_streams_with_stats(client):
    chat, stats = client.predict([], "What is 12 * 12? /think", "qwen3-0.6b", True, 0, 16,
                                 api_name="/thinking")
    assert chat[0]["role"] == "user" and chat[-1]["role"] == "assistant"
    assert "qwen3-0.6b" in stats and "tokens/s" in stats


def test_thinking_budget_through_the_app(client, qwen3_tokenizer):
    from qwenlab.thinking import EARLY_STOP

    chat, stats = client.predict([], "Plan a three-step proof.", "qwen3-0.6b", True, 32, 60,
                                 api_name="/thinking")
    # 32 thinking, then the early-stop text (it counts against the 60, as in Qwen's code), then
    # the answer: random weights never close thinking themselves
    injected = len(qwen3_tokenizer.encode(EARLY_STOP, add_special_tokens=False))
    assert stats.startswith(f"{60 - injected} tokens")


def test_thinking_refuses_a_model_without_thinking(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError):
        client.predict([], "hi", "qwen2.5-0.5b", True, 0, 16, api_name="/thinking")


def test_thinking_compare_runs_both_modes(client):
    on, off, table = client.predict("What is 2 + 2?", "qwen3-0.6b", 16, api_name="/thinking_compare")
    modes = [row[0] for row in table["data"]]
    assert modes == ["thinking on", "thinking off"] and on and off


def test_multilingual_answers_in_each_picked_language(client):
    *panels, stats = client.predict("What is water?", ["English", "Urdu"], "Answer the question",
                                    "qwen3-0.6b", 32, api_name="/multilingual")
    assert len(panels) == 13
    assert stats.count("tokens/s") == 2 and stats.startswith("English:") and "Urdu:" in stats


def test_multilingual_refuses_no_language_and_too_many(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="at least one language"):
        client.predict("hi", [], "Answer the question", "qwen3-0.6b", 32, api_name="/multilingual")
    with pytest.raises(AppError, match="at most 6"):
        client.predict("hi", ["English", "Chinese", "Spanish", "French", "German", "Japanese", "Hindi"],
                       "Translate the text", "qwen3-0.6b", 32, api_name="/multilingual")


def test_multilingual_token_counts_match_the_lesson(client):
    from qwenlab.demos.multilingual import sentences

    frame = sentences()
    chart, table = client.predict({"headers": list(frame.columns), "data": frame.values.tolist()},
                                  "qwen3-0.6b", api_name="/multilingual_tokens")
    counts = {row[0]: row[1] for row in table["data"]}
    # the figures lessons/en/03-multilingual.md quotes
    assert {k: counts[k] for k in ["English", "Chinese", "Hindi", "Marathi", "Burmese", "Punjabi"]} == \
        {"English": 7, "Chinese": 5, "Hindi": 23, "Marathi": 27, "Burmese": 44, "Punjabi": 48}
    assert table["data"][0][0] == "Punjabi"  # most expensive first


def test_the_classroom_bench_asks_as_a_browser_does(app_url):
    """bench/classroom.py's learners speak Gradio's queue protocol themselves (join, read the
    event stream, apply the streamed diffs): two of them get their answers, counted from the
    stats line, with the time of their first text."""
    import asyncio
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import classroom

    results, began, _ = asyncio.run(classroom.sse_round(app_url, 2, "qwen3-0.6b", 16, 120))
    assert [r["error"] for r in results] == [None, None]
    assert [r["tokens"] for r in results] == [16, 16]
    assert all(0 < r["ttft"] <= r["done"] - began for r in results)
    row = classroom.summary(2, results, began, 120)
    assert row["errors"] == 0 and row["tokens/s"] > 0
