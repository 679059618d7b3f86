"""The vision demo on the tiny Qwen2-VL / Qwen2.5-VL checkpoints: the pixel plan is what the
processor really sends, awkward uploads are converted or explained, follow-ups keep the image."""

import re

import pytest
from awkward_images import BAD_IMAGES, REFUSED
from PIL import Image

from demos.vision.images import ImageProblem, open_image, pixels, plan
from demos.vision.samples import QUESTIONS, SALES, make_samples, receipt_lines
from qwenlab.prompts import build_inputs, prepare_messages

IMAGE_PAD = 151655


@pytest.mark.pure
def test_plan_follows_qwens_arithmetic():
    # the library defaults make a full-HD frame 2,691 tokens (39 x 69 blocks of 28x28)
    assert plan(1920, 1080, 4, 16384).tokens == 2691
    p = plan(448, 448, 4, 16384)
    assert (p.width, p.height, p.tokens) == (448, 448, 256)
    assert plan(1, 1, 64, 256).tokens == 64                    # scaled up to the minimum
    assert plan(4000, 3000, 64, 256).tokens <= 256             # scaled down to the maximum
    with pytest.raises(ImageProblem, match="200:1"):
        plan(3000, 10, 4, 256)
    with pytest.raises(ImageProblem, match="above the maximum"):
        plan(100, 100, 512, 256)


@pytest.mark.pure
def test_samples_are_drawn_and_their_answers_are_known(tmp_path):
    paths = make_samples(tmp_path)
    assert set(paths) == set(QUESTIONS) == {"sales-chart", "receipt", "scene"}
    for path in paths.values():
        with Image.open(path) as image:
            assert image.format == "PNG" and image.mode == "RGB" and min(image.size) >= 300
    lines, total = receipt_lines()
    assert f"{total:.2f}" in lines[-3] and total == 20.52
    assert max(SALES, key=SALES.get) == "Q4" and min(SALES, key=SALES.get) == "Q3"


@pytest.mark.pure
@pytest.mark.parametrize("case", BAD_IMAGES)
def test_each_awkward_upload_is_converted_or_explained(bad_images, case):
    if case in REFUSED:
        with pytest.raises(ImageProblem, match=re.escape(BAD_IMAGES[case])):
            open_image(bad_images[case])
        return
    prepared = open_image(bad_images[case])
    assert prepared.image.mode == "RGB"
    assert any(BAD_IMAGES[case] in note for note in prepared.notes)
    assert max(prepared.image.size) <= 2048
    if case == "rgba":  # transparent corners become white, not black
        assert prepared.image.getpixel((0, 0)) == (255, 255, 255)
    if case == "animated-gif":  # the first frame, which is red
        assert prepared.image.getpixel((5, 5))[0] > 200


@pytest.mark.model
@pytest.mark.parametrize("key", ["qwen2-vl-2b", "qwen2.5-vl-3b"])
@pytest.mark.parametrize("size, limits", [((1920, 1080), (16, 64)), ((1, 1), (4, 64)),
                                          ((640, 480), (256, 1280)), ((100, 3000), (4, 300))])
def test_planned_tokens_are_the_tokens_the_processor_sends(pool, key, size, limits):
    p = plan(*size, *limits)
    image = Image.new("RGB", size, (10, 20, 30))
    messages = [{"role": "user", "content": [
        {"type": "image", "image": image, "min_pixels": pixels(limits[0]),
         "max_pixels": pixels(limits[1])}, {"type": "text", "text": "What is this?"}]}]
    with pool.lease(key) as loaded:
        inputs = build_inputs(loaded, prepare_messages(messages, vision=True), None)
    assert int((inputs["input_ids"] == IMAGE_PAD).sum()) == p.tokens
    assert inputs["image_grid_thw"].tolist() == [[1, p.height // 14, p.width // 14]]


def _stats_numbers(stats):
    match = re.search(r"= (\d+) visual tokens of the (\d+)-token prompt", stats)
    return int(match[1]), int(match[2])


@pytest.mark.app
def test_vision_answers_about_a_sample_and_follows_up(client):
    from gradio_client import handle_file

    receipt = make_samples()["receipt"]
    args = (64, 256, "qwen2-vl-2b", "bf16", 16)
    plan_text = client.predict(handle_file(receipt), 64, 256, api_name="/vision_plan")
    planned = int(re.search(r"\*\*(\d+) visual tokens\*\*", plan_text)[1])
    history, stats = client.predict(handle_file(receipt), "What is the total?", [], *args,
                                    api_name="/vision")
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "qwen2-vl-2b bf16 on cpu" in stats and "peak +" in stats
    visual, prompt = _stats_numbers(stats)
    assert visual == planned and prompt > visual
    history, stats = client.predict(handle_file(receipt), "And how much was the tax?", history,
                                    *args, api_name="/vision")
    assert [m["role"] for m in history] == ["user", "assistant"] * 2
    visual2, prompt2 = _stats_numbers(stats)
    # the follow-up re-sends the image with the first question, the answer and the new question
    assert visual2 == visual and prompt2 > prompt + 5


@pytest.mark.app
@pytest.mark.parametrize("case", BAD_IMAGES)
def test_vision_api_handles_each_awkward_upload(client, bad_images, case):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = handle_file(str(bad_images[case]))
    assert BAD_IMAGES[case] in client.predict(path, 64, 256, api_name="/vision_plan")
    if case in REFUSED:
        with pytest.raises(AppError, match=re.escape(BAD_IMAGES[case])):
            client.predict(path, "What is in this picture?", [], 64, 256, "qwen2-vl-2b", "bf16", 16,
                           api_name="/vision")
        return
    history, stats = client.predict(path, "What is in this picture?", [], 64, 256,
                                    "qwen2-vl-2b", "bf16", 16, api_name="/vision")
    assert history[-1]["role"] == "assistant" and "visual tokens" in stats


@pytest.mark.app
def test_vision_refuses_a_missing_image_and_an_empty_question(client):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Upload an image or pick one of the samples"):
        client.predict(None, "What is this?", [], 64, 256, "qwen2-vl-2b", "bf16", 16,
                       api_name="/vision")
    with pytest.raises(AppError, match="Type a question first"):
        client.predict(handle_file(make_samples()["scene"]), "  ", [], 64, 256, "qwen2-vl-2b",
                       "bf16", 16, api_name="/vision")


@pytest.mark.pure
def test_sixteen_bit_scans_and_phone_rotation_are_converted(tmp_path):
    scan = Image.new("I;16", (64, 48))
    scan.putpixel((10, 10), 60000)
    scan.save(tmp_path / "scan.png")
    prepared = open_image(tmp_path / "scan.png")
    assert prepared.image.mode == "RGB" and any("8 bits" in note for note in prepared.notes)
    assert prepared.image.getpixel((10, 10))[0] > 200  # the bright pixel stays bright
    photo = Image.new("RGB", (120, 60), (200, 30, 30))  # stored landscape, shot portrait
    exif = photo.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees clockwise to display
    photo.save(tmp_path / "phone.jpg", exif=exif)
    assert open_image(tmp_path / "phone.jpg").image.size == (60, 120)


@pytest.mark.pure
def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    Image.new("RGB", (400, 300)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # as if it were 120,000 x 90,000
    with pytest.raises(ImageProblem, match="too large to open safely"):
        open_image(tmp_path / "bomb.png")
