"""The vision demo on the tiny Qwen2-VL, Qwen2.5-VL, Qwen3-VL and Qwen3.5 checkpoints: the pixel
plan is what the processor really sends, awkward uploads are converted or explained, follow-ups
keep the image."""

import re

import pytest
from awkward_images import BAD_IMAGES, REFUSED
from conftest import drained
from PIL import Image

from qwenlab.demos.vision.images import (
    MAX_PIXELS,
    ImageProblem,
    Prepared,
    blank,
    factor,
    image_part,
    open_image,
    pixels,
    plan,
)
from qwenlab.demos.vision.samples import QUESTIONS, SALES, make_samples, receipt_lines
from qwenlab.loading import Loaded
from qwenlab.prompts import build_inputs, prepare_messages
from qwenlab.registry import get_model

VL_MODELS = ["qwen2-vl-2b", "qwen2.5-vl-3b"]          # 14-pixel patches: 28x28 blocks
TODAY_VL = ["qwen3-vl-2b", "qwen3.5-0.8b"]             # 16-pixel patches: 32x32 blocks


@pytest.fixture(scope="module")
def processors(tiny_dir):
    """{key: Loaded} with just the tiny checkpoint's AutoProcessor: all build_inputs reads."""
    from transformers import AutoProcessor

    return {key: Loaded(get_model(key), "bf16", "cpu", None, None, None,
                        processor=AutoProcessor.from_pretrained(tiny_dir / key))
            for key in VL_MODELS + TODAY_VL}


def sent(loaded, image, limits):
    """What build_inputs sends for this image and budget: (<|image_pad|> ids, image_grid_thw)."""
    block = factor(loaded.spec.key)
    messages = [{"role": "user", "content": [
        image_part(image, pixels(limits[0], block), pixels(limits[1], block)),
        {"type": "text", "text": "What is this?"}]}]
    inputs = build_inputs(loaded, prepare_messages(messages, vision=True), None)
    pad = loaded.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    return int((inputs["input_ids"] == pad).sum()), inputs["image_grid_thw"].tolist()


def grid(p):
    """The image_grid_thw a plan means: patches of half a block's side."""
    return [[1, p.height // (p.block // 2), p.width // (p.block // 2)]]


@pytest.mark.model
@pytest.mark.parametrize("key", VL_MODELS)
def test_plan_follows_qwens_arithmetic(tiny_env, key):
    # the library defaults make a full-HD frame 2,691 tokens (39 x 69 blocks of 28x28)
    assert plan(blank(1920, 1080), 4, 16384, key).tokens == 2691
    p = plan(blank(448, 448), 4, 16384, key)
    assert (p.width, p.height, p.tokens) == (448, 448, 256)
    assert plan(blank(1, 1), 64, 256, key).tokens == 64              # scaled up to the minimum
    assert plan(blank(4000, 3000), 64, 256, key).tokens <= 256       # scaled down to the maximum
    with pytest.raises(ImageProblem, match="200:1"):
        plan(blank(3000, 10), 4, 256, key)
    with pytest.raises(ImageProblem, match="above the maximum"):
        plan(blank(100, 100), 512, 256, key)


@pytest.mark.model
@pytest.mark.parametrize("key", TODAY_VL)
def test_qwen3_vl_and_qwen3_5_cut_32_pixel_blocks(tiny_env, key):
    # 16-pixel patches merged 2x2: a full-HD frame is 60 x 34 blocks of 32x32 (1080 rounds to 1088)
    p = plan(blank(1920, 1080), 4, 16384, key)
    assert (p.block, p.width, p.height, p.tokens) == (32, 1920, 1088, 2040)
    assert plan(blank(1, 1), 64, 256, key).tokens == 64
    with pytest.raises(ImageProblem, match="200:1"):
        plan(blank(3000, 10), 4, 256, key)


@pytest.mark.model
@pytest.mark.parametrize("key", VL_MODELS)
def test_close_limits_are_counted_as_the_processor_rounds_them(tiny_env, key):
    # qwen_vl_utils rounds 1920x1080 down to 588x336 (252 tokens, under 256); the image
    # processor, given the same limits, scales that up to 616x364: 286, past the maximum of 257
    p = plan(blank(1920, 1080), 256, 257, key)
    assert (p.first_size, p.width, p.height, p.tokens) == ((588, 336), 616, 364, 286)


@pytest.mark.model
@pytest.mark.parametrize("key", VL_MODELS + TODAY_VL)
@pytest.mark.parametrize("size, limits", [((1920, 1080), (16, 64)), ((1, 1), (4, 64)),
                                          ((640, 480), (256, 1280)), ((100, 3000), (4, 300))])
def test_planned_tokens_are_the_tokens_the_processor_sends(pool, key, size, limits):
    p = plan(blank(*size), *limits, key)
    image = Image.new("RGB", size, (10, 20, 30))
    with pool.lease(key) as loaded:
        assert sent(loaded, image, limits) == (p.tokens, grid(p))


SIZES = [(1920, 1080), (640, 480), (1, 1), (100, 3000), (3000, 15), (15, 3000),
         (4000, 20), (5600, 28), (10000, 50), (14000, 70), (200, 1), (6000, 4000)]
LIMITS = [(4, 16), (4, 64), (64, 256), (256, 257), (252, 256), (256, 1280), (4, 16384)]


@pytest.mark.model
@pytest.mark.parametrize("limits", LIMITS, ids=lambda lim: f"{lim[0]}-{lim[1]}")
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("key", VL_MODELS + TODAY_VL)
def test_the_preview_counts_the_image_pads_sent_for_a_grid_of_cases(tiny_env, processors, key,
                                                                     size, limits):
    """The preview's count is the number of <|image_pad|> ids build_inputs sends, or a refusal
    that build_inputs would make too, naming a maximum that does go through."""
    image = blank(*size)
    try:
        p = plan(image, *limits, key)
    except ImageProblem as exc:
        with pytest.raises(ValueError):  # qwen_vl_utils or the image processor refuses it
            sent(processors[key], image.image, limits)
        hint = re.search(r"Set the maximum to (\d+) visual tokens", str(exc))
        if hint is None:
            return
        limits = (limits[0], int(hint[1]))
        p = plan(image, *limits, key)
    assert p.tokens > 0
    assert sent(processors[key], image.image, limits) == (p.tokens, grid(p))


@pytest.mark.model
@pytest.mark.parametrize("key", VL_MODELS)
def test_an_exactly_200_to_1_upload_is_taken_and_keeps_its_budget(tiny_env, processors, tmp_path,
                                                                   key):
    Image.new("RGB", (10000, 50), "white").save(tmp_path / "strip.png")
    strip = open_image(tmp_path / "strip.png")
    assert strip.image.size == (10000, 50)           # not cut to 2048x10, which is 204.8:1
    p = plan(strip, 256, 1280, key)
    assert p.tokens == plan(blank(10000, 50), 256, 1280, key).tokens == 714
    assert sent(processors[key], strip.image, (256, 1280))[0] == 714
    # too big to keep whole: scaled down by area, still 200:1, and the budget decides the count
    Image.new("RGB", (40000, 200), "white").save(tmp_path / "banner.jpg", quality=70)
    banner = open_image(tmp_path / "banner.jpg")
    w, h = banner.image.size
    assert w * h <= MAX_PIXELS + w and w / h <= 200 and banner.source_size == (40000, 200)
    # qwen_vl_utils' rounding lets exactly 200:1 through only where the short side comes out a
    # whole number of blocks (here 1, 2, 3 or 4 blocks: 200, 800, 1800 or 3200 tokens)
    with pytest.raises(ImageProblem, match="40000×200 image to 25312×112, longer than 200:1.*"
                                           "Set the maximum to 3212 visual tokens"):
        plan(banner, 4, 4096, key)
    p = plan(banner, 4, 3200, key)
    assert p.tokens == sent(processors[key], banner.image, (4, 3200))[0]
    # the budget decides, not the thumbnail: short of the full-size count by one column of
    # blocks at most, from rounding the scaled-down size (a 2048-pixel side refused it)
    assert plan(blank(40000, 200), 4, 3200, key).tokens == 3200
    assert 3200 - p.height // 28 <= p.tokens <= 3200
    with pytest.raises(ImageProblem, match=r"40001×200 pixels, longer than 200:1"):
        plan(Prepared(banner.image, "banner.jpg", (40001, 200)), 4, 4096, key)


@pytest.mark.model
@pytest.mark.parametrize("limits", [(64, 256), (4, 4096)])
def test_a_50_megapixel_photo_is_counted_as_sent(tiny_env, processors, bad_images, limits):
    photo = open_image(bad_images["50-megapixel"])
    for key in VL_MODELS + TODAY_VL:
        p = plan(photo, *limits, key)
        assert sent(processors[key], photo.image, limits) == (p.tokens, grid(p))


@pytest.mark.model
@pytest.mark.parametrize("key", VL_MODELS + TODAY_VL)
def test_the_preview_shows_the_processors_count_and_says_why(tiny_env, tmp_path, key):
    from qwenlab.demos.vision import describe

    Image.new("RGB", (1920, 1080), "white").save(tmp_path / "hd.png")
    text = describe(str(tmp_path / "hd.png"), 256, 257, key)
    block = factor(key)
    resized, first = ("616×364", "588×336") if block == 28 else ("704×416", "672×384")
    assert f"**{resized}**" in text and "**286 visual tokens**" in text
    assert first in text and "outside 256 to 257" in text and key in text
    assert f"`max_pixels=257*{block}*{block}`" in text and f"blocks of {block}×{block}" in text
    assert f"({block // 2}-pixel patches, merged 2×2 into one visual token per {block}×{block}" in text
    Image.new("RGB", (3000, 15), "white").save(tmp_path / "thin.png")
    text = describe(str(tmp_path / "thin.png"), 4, 16, key)
    assert text.startswith("⚠️") and "3000×15" in text and "Set the maximum to " in text
    assert block == 32 or "Set the maximum to 108" in text
    assert "visual tokens" in describe(str(tmp_path / "hd.png"))  # old callers: default model


@pytest.mark.model
def test_the_lessons_token_table_is_the_processors(tiny_env):
    """04-vision.md's table of 28- and 32-pixel blocks and its Run table: the numbers the prose
    quotes are the ones each model's own processor gives."""
    from qwenlab.demos.vision import run_tokens
    from qwenlab.lessons import load_lessons

    lesson = next(lesson for lesson in load_lessons() if lesson.demo == "vision")
    cell = next(c for c in lesson.cells if c.run and c.run["runner"] == "vision.tokens")
    args = {k: v for k, v in cell.run.items() if k != "runner"}
    assert args["models"] == "qwen2-vl-2b,qwen3.5-0.8b"  # a 14-pixel and a 16-pixel model
    pool = type("Pool", (), {"device": "cpu"})()
    table = "".join(run_tokens(pool, **args))
    prose = " ".join(lesson.path.read_text().split())
    for key, tokens in (("qwen2-vl-2b", "2,691"), ("qwen3.5-0.8b", "2,040")):
        hd, square = plan(blank(1920, 1080), 4, 16384, key), plan(blank(448, 448), 4, 16384, key)
        b = hd.block
        assert f"| {key} | {b}×{b} | 1920×1080 | {hd.width}×{hd.height} | {hd.tokens:,} |" in table
        assert f"{hd.tokens:,}" == tokens and f"{tokens} visual tokens" not in table
        assert (f"{hd.width}×{hd.height} = {hd.width // b}×{hd.height // b} = {hd.tokens:,} tokens"
                in prose)
        side = square.width // b
        assert f"{side}×{side} blocks = {square.tokens} tokens" in prose
    assert "2,691 visual tokens in Qwen2-VL and 2,040 in Qwen3.5" in prose
    # the quiz's number questions: a 512x512 image at 32 px, and 28-pixel limits read at 32
    quiz = {q.id: q for q in lesson.quiz}
    assert plan(blank(512, 512), 4, 16384, "qwen3.5-0.8b").tokens == quiz["tokens-512"].answer
    assert pixels(1280, 28) // 32 ** 2 == quiz["wrong-block"].answer
    assert plan(blank(4000, 3000), 4, pixels(1280, 28) // 32 ** 2, "qwen3.5-0.8b").tokens <= 980


@pytest.mark.model
@pytest.mark.parametrize("key", ["qwen3.5-0.8b", "qwen2-vl-2b"])
def test_the_lessons_story_of_the_second_resize_holds(tiny_env, processors, key):
    """04-vision.md, for the cell's Qwen3.5 and for Qwen2-VL: with wide defaults (4 to 16,384
    tokens) leaving the limits out of the processor call changes nothing for the sales chart at
    64 to 256; a processor saved with 256 to 1,280 (as the tiny checkpoints are) scales it up to
    273; limits of 256 to 257 tokens end at 286."""
    from qwen_vl_utils import process_vision_info

    from qwenlab.lessons import load_lessons

    block = factor(key)
    with Image.open(make_samples()["sales-chart"]) as chart:
        part = image_part(chart.convert("RGB"), pixels(64, block), pixels(256, block))
    images, _ = process_vision_info([{"role": "user", "content": [part]}],
                                    image_patch_size=block // 2)
    image_processor = processors[key].processor.image_processor

    def tokens(**kwargs):
        t, h, w = image_processor(images=images, **kwargs)["image_grid_thw"][0].tolist()
        return t * h * w // 4

    limits = {"shortest_edge": pixels(64, block), "longest_edge": pixels(256, block)}
    assert tokens(size=limits) == 228
    assert tokens(size={"shortest_edge": pixels(4, block),
                        "longest_edge": pixels(16384, block)}) == 228
    assert image_processor.size["longest_edge"] == pixels(1280, block) and tokens() == 273
    lesson = next(lesson for lesson in load_lessons() if lesson.demo == "vision")
    prose = " ".join(lesson.path.read_text().split())
    assert "228 visual tokens at 64 to 256" in prose and "up to 273" in prose
    close = plan(blank(1920, 1080), 256, 257, key)
    first = "{}×{}".format(*close.first_size)
    assert close.tokens == 286 and close.first_size[0] * close.first_size[1] // block ** 2 == 252
    if key == "qwen3.5-0.8b":
        assert f"down to {first} for Qwen3.5 (252 tokens" in prose
        assert f"up to {close.width}×{close.height}: 286 tokens" in prose
    else:
        assert f"with {first} and {close.width}×{close.height})" in prose


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
    # at most 2048x2048 in area (a cap on the longest side cut long thin images below budget)
    assert prepared.image.width * prepared.image.height <= MAX_PIXELS
    if case == "rgba":  # transparent corners become white, not black
        assert prepared.image.getpixel((0, 0)) == (255, 255, 255)
    if case == "animated-gif":  # the first frame, which is red
        assert prepared.image.getpixel((5, 5))[0] > 200


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
def test_vision_plan_takes_the_model_and_explains_thin_images(client, tmp_path):
    from gradio_client import handle_file

    receipt = handle_file(make_samples()["receipt"])
    old = client.predict(receipt, 64, 256, api_name="/vision_plan")  # callers without a model
    for key in VL_MODELS:
        text = client.predict(receipt, 64, 256, key, api_name="/vision_plan")
        assert f"counted by {key}'s image processor" in text and "**247 visual tokens**" in text
    assert "**247 visual tokens**" in old
    Image.new("RGB", (3000, 15), "white").save(tmp_path / "thin.png")
    text = client.predict(handle_file(str(tmp_path / "thin.png")), 4, 16, "qwen2-vl-2b",
                          api_name="/vision_plan")
    assert text.startswith("⚠️") and "Set the maximum to 108 visual tokens" in text


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


# -- the lesson's try-it tasks the app checks, and its Run buttons -------------------------------
def _lesson():
    from qwenlab.lessons import load_lessons

    return next(lesson for lesson in load_lessons() if lesson.demo == "vision")


def _task(check):
    return next(t for t in _lesson().tasks if t.check == check)


@pytest.mark.model
def test_the_receipt_budget_task_reads_the_processors_count(tiny_env, tmp_path):
    """budget_in_range, with the lesson's own args, on a copy of the receipt (Gradio hands the
    handler its cached copy, not the sample's path)."""
    from qwenlab.demos.vision import CHECKS

    check, task = CHECKS["budget_in_range"], _task("budget_in_range")
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(open(make_samples()["receipt"], "rb").read())
    low, high = task.args["low"], task.args["high"]
    for key in ["qwen3.5-0.8b", "qwen2-vl-2b"]:  # the lab's CPU default, and a 28-pixel model
        for limits in [(64, 256), (256, 1280), (4, 16384)]:  # CPU and GPU starts, the library's
            tokens = plan(open_image(receipt), *limits, key).tokens
            done, message = check.fn(str(receipt), *limits, key, **task.args)
            assert not done and f"{tokens} visual tokens" in message  # the defaults are not enough
        assert "Raise the maximum" in check.fn(str(receipt), 64, 256, key, **task.args)[1]
        assert "Lower" in check.fn(str(receipt), 256, 1280, key, **task.args)[1]
    for key in VL_MODELS + TODAY_VL:
        done, message = check.fn(str(receipt), 64, 400, key, **task.args)
        assert done and "384 visual tokens" in message and key in message
        assert f"blocks of {factor(key)}×{factor(key)}" in message
        assert low <= plan(open_image(receipt), 64, 400, key).tokens <= high
    # the hint's blocks and the own-size task's ceilings, per model
    lesson_text = " ".join(_lesson().path.read_text().split())
    for key, block in [("qwen3.5-0.8b", 32), ("qwen2-vl-2b", 28)]:
        own = plan(open_image(receipt), 4, 4096, key)
        assert own.tokens == plan(open_image(receipt), 4, 16384, key).tokens
        assert f"stop at {own.tokens}" in lesson_text
        columns, rows = round(540 / block), round(780 / block)
        assert f"{columns}×{rows} blocks of {block}×{block}" in _task("budget_in_range").hint
    scene = make_samples()["scene"]
    assert check.fn(scene, 64, 400, "qwen2-vl-2b", **task.args) == (
        False, "Pick the *receipt* sample under the upload box first.")
    assert not check.fn(None, 64, 400, "qwen2-vl-2b", **task.args)[0]
    with pytest.raises(ImageProblem, match="above the maximum"):  # the panel shows the message
        check.fn(str(receipt), 512, 400, "qwen2-vl-2b", **task.args)


@pytest.mark.pure
def test_the_follow_up_task_needs_two_answered_questions_about_the_chart():
    from qwenlab.demos.vision import CHECKS

    check, task = CHECKS["followed_up"], _task("followed_up")
    chart = make_samples()["sales-chart"]
    question = {"role": "user", "content": [{"type": "text", "text": "Which quarter?"}]}
    answer = {"role": "assistant", "content": [{"type": "text", "text": "noise from a tiny model"}]}
    follow = {"role": "user", "content": "And the total?"}
    waiting = {"role": "assistant", "content": "⏳ Loading qwen2-vl-2b"}
    stats = "4 tokens · first token 0.10 s · image 476×308 = 228 visual tokens of the 262-token prompt"
    assert "Ask about the chart" in check.fn(chart, [], "", **task.args)[1]
    assert "follow-up" in check.fn(chart, [question, answer], stats, **task.args)[1]
    assert not check.fn(chart, [question, answer, follow, waiting], "", **task.args)[0]
    done, message = check.fn(chart, [question, answer, follow, answer], stats, **task.args)
    assert done and "228 visual tokens again, in a 262-token prompt" in message
    assert not check.fn(make_samples()["receipt"], [question, answer, follow, answer], stats,
                        **task.args)[0]


@pytest.mark.model
def test_the_demo_hands_the_checks_the_components_they_read(make_pool):
    import gradio as gr

    from qwenlab.demos.vision import CHECKS, build

    with gr.Blocks():
        ui = build(make_pool())
    assert all(name in ui for check in CHECKS.values() for name in check.reads)
    assert {t.check for t in _lesson().tasks if t.check} <= set(CHECKS)


@pytest.mark.model
def test_each_run_button_runs_what_its_cell_shows(tiny_env):
    """Same models, sample, limits (in the model's own block), patch size, sampling and token
    budget in the cell as in its Run binding; the cells ask the demo's CPU default."""
    from qwenlab.demos.vision import CELL_MODEL, default_model, sampling_for

    cells = _lesson().cells
    assert default_model("cpu") == CELL_MODEL == "qwen3.5-0.8b"
    asked = [c for c in cells if c.run and c.run["runner"] != "vision.tokens"]
    assert asked and {c.run["model"] for c in asked} == {CELL_MODEL}
    tokens = next(c for c in cells if c.run and c.run["runner"] == "vision.tokens")
    for key in tokens.run["models"].split(","):
        assert get_model(key).hub_id in tokens.source
    loads = [c.source for c in cells if "from_pretrained(" in c.source and c is not tokens]
    assert loads and all(get_model(CELL_MODEL).hub_id in source for source in loads)
    block = factor(CELL_MODEL)
    preset = sampling_for(CELL_MODEL)
    for cell in asked:
        source = " ".join(cell.source.split())
        if "max_new_tokens" in cell.run:
            assert f"max_new_tokens={cell.run['max_new_tokens']}" in source
        if "sample" in cell.run:
            assert f'"{cell.run["sample"]}.png"' in source
        for bound in ("min_tokens", "max_tokens"):
            if bound in cell.run:
                assert f"{cell.run[bound]} * {block} * {block}" in source
        if "budgets" in cell.run:
            assert f"for budget in ({cell.run['budgets'].replace(',', ', ')})" in source
            assert f"4 * {block} * {block}" in source
        assert f"image_patch_size={block // 2}" in source
        assert "PresencePenalty(" in source
    ask = next(c for c in asked if c.run["runner"] == "vision.ask").source
    assert (f"temperature={preset.temperature}, top_p={preset.top_p}, top_k={preset.top_k}"
            in ask and f"PresencePenalty({preset.presence_penalty}," in ask)
    budgets = next(c for c in asked if c.run["runner"] == "vision.budgets")
    assert "clock.first" in budgets.source and "clock.total" in budgets.source  # both times


@pytest.mark.model
def test_the_demo_offers_only_precisions_that_read_images(tiny_env, pool):
    """int4 is ONNX Runtime GenAI's text decoder (Qwen3.5's text part): never offered for an
    image, and refused with the precisions that work if asked for through the API."""
    import gradio as gr

    from qwenlab.demos.vision import answers, precisions, sampling_for

    for key in VL_MODELS + TODAY_VL:
        offered = precisions("cpu", key)
        assert "int4" not in offered and "bf16" in offered
    with pytest.raises(gr.Error, match="cannot read images at int4 here; pick one of .*bf16"):
        next(drained(answers(pool, make_samples()["scene"], "What is this?",
                             model="qwen3.5-0.8b", precision="int4", max_new_tokens=4)))
    # Qwen3.5's cards: its own preset for images without thinking; the others' are their defaults
    assert sampling_for("qwen3.5-0.8b").presence_penalty == 1.5
    assert sampling_for("qwen2-vl-2b") is None


@pytest.mark.model
@pytest.mark.parametrize("key", ["qwen3.5-0.8b", "qwen2-vl-2b"])
def test_the_budgets_run_button_reports_both_times_the_cell_prints(pool, key):
    from qwenlab.demos.vision import run_ask, run_budgets

    table = list(drained(run_budgets(pool, budgets="16,64", max_new_tokens="4", model=key)))[-1]
    assert "| max tokens | resized to | visual tokens | first token | all tokens | answer |" in table
    rows = [line for line in table.splitlines() if line.startswith(("| 16 |", "| 64 |"))]
    assert len(rows) == 2 and all(line.count(" s |") == 2 for line in rows)
    assert f"{key} bf16 on cpu" in table
    asked = list(drained(run_ask(pool, max_new_tokens="4", model=key)))[-1]
    assert "visual tokens: 228 (image " in asked and "first token" in asked
