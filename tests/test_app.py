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
    assert {"/family_pick", "/pool_status"} <= names
    assert not any(name.startswith("/lambda") for name in names)
