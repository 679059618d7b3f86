"""Images for Qwen-VL: open whatever a learner uploads safely, and say before sending what the
model will see.

Qwen2-VL and Qwen2.5-VL cut an image into 14x14 patches and merge each 2x2 group into one visual
token, so every 28x28 block of the resized image costs one token; Qwen3-VL and Qwen3.5 cut 16x16
patches, so a token is a 32x32 block (`factor()` reads it from the model's own image processor).
The size is decided twice:
`qwen_vl_utils.process_vision_info` resizes the image within min_pixels..max_pixels, then the
model's image processor runs its own smart_resize within the limits it is given, and the two can
disagree (see plan()). `plan()` therefore runs both, exactly as qwenlab.prompts.build_inputs
does, and reads the processor's `image_grid_thw`: the count it shows is the count sent, not a
re-implementation of it. Loading models and asking them is demos/vision/__init__.py's job.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from qwenlab.counting import load_image_processor
from qwenlab.errors import QwenLabError
from qwenlab.prompts import vision_inputs
from qwenlab.registry import get_model

FACTOR = 28                      # Qwen2/2.5-VL: 14-pixel patches merged 2x2 (Qwen3-VL, 3.5: 32)
MAX_ASPECT = 200                 # qwen_vl_utils and the image processor refuse anything longer
# Uploads are kept at most 2048x2048 in *area*, whatever their shape: more than the largest budget
# the demo offers (4096 visual tokens = 3.2 MP), so the budget decides the size, not this cap,
# even for a long thin image that a 2048-pixel longest side would squeeze below its budget.
MAX_PIXELS = 2048 * 2048
LIBRARY_MAX_TOKENS = 16384       # qwen_vl_utils' IMAGE_MAX_TOKEN_NUM: its default maximum
READABLE = "PNG, JPEG, WebP, GIF, BMP or TIFF"


class ImageProblem(QwenLabError, ValueError):
    """An upload that cannot be used, with a message the learner can act on."""


@dataclass
class Prepared:
    """An RGB image ready for the model, and what was done to get it there."""

    image: Image.Image
    name: str
    source_size: tuple[int, int]     # width, height as uploaded
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """What the model receives for one image: size and visual tokens from the image processor."""

    width: int
    height: int
    tokens: int
    min_pixels: int
    max_pixels: int
    first_size: tuple[int, int] | None = None   # qwen_vl_utils' size, before the processor's
    block: int = FACTOR                          # one visual token's side in pixels (28 or 32)


def factor(model: str) -> int:
    """The side of one visual token's block for `model`: its patch size times its merge size,
    from the image processor the checkpoint ships (28 for Qwen2/2.5-VL, 32 for Qwen3-VL and
    Qwen3.5)."""
    processor = load_image_processor(get_model(model))
    return int(processor.patch_size) * int(processor.merge_size)


def pixels(tokens: int, block: int = FACTOR) -> int:
    """Visual tokens to the pixel count qwen_vl_utils and the processor take."""
    return int(tokens) * block * block


def image_part(image: Image.Image, min_pixels: int, max_pixels: int) -> dict:
    """An image's part of a chat message, with the limits qwen_vl_utils (and build_inputs, for
    the processor) read from it."""
    return {"type": "image", "image": image, "min_pixels": int(min_pixels),
            "max_pixels": int(max_pixels)}


def blank(width: int, height: int) -> Prepared:
    """A plain image of this size, as if uploaded: the token count depends on the size alone."""
    if width < 1 or height < 1:
        raise ImageProblem(f"{width}×{height} is not an image size; give width×height in pixels.")
    if width * height > Image.MAX_IMAGE_PIXELS:
        raise ImageProblem(f"{width}×{height} is too large to draw safely; keep it below "
                           f"{Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels.")
    return Prepared(Image.new("RGB", (width, height), (128, 128, 128)), f"{width}×{height}",
                    (width, height))


def check_budget(min_tokens: int, max_tokens: int) -> None:
    if min_tokens > max_tokens:
        raise ImageProblem(f"The minimum ({min_tokens} visual tokens) is above the maximum "
                           f"({max_tokens}); lower it or raise the maximum.")


def check_shape(width: int, height: int) -> None:
    """Refuse what Qwen-VL cannot take, quoting the size the learner uploaded (not ours)."""
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageProblem(f"This image is {width}×{height} pixels, longer than {MAX_ASPECT}:1; "
                           "Qwen-VL cannot take it. Crop it to a less extreme shape.")


def plan(prepared: Prepared, min_tokens: int, max_tokens: int, model: str) -> Plan:
    """The size `model` receives this image at and the visual tokens it becomes, under this
    budget: the image through qwen_vl_utils and the model's image processor, as sent."""
    min_tokens, max_tokens = int(min_tokens), int(max_tokens)
    check_budget(min_tokens, max_tokens)
    check_shape(*prepared.source_size)
    processor = load_image_processor(get_model(model))
    block = int(processor.patch_size) * int(processor.merge_size)
    part = image_part(prepared.image, pixels(min_tokens, block), pixels(max_tokens, block))
    problem = unsendable(prepared, min_tokens, max_tokens, block)
    if problem is not None:  # what the run would refuse, the preview refuses first
        raise problem
    try:
        images, _, limits = vision_inputs([{"role": "user", "content": [part]}],
                                          int(processor.patch_size))
        grid = processor(images=images, return_tensors="pt",
                         **limits["images_kwargs"])["image_grid_thw"]
    except ValueError as exc:
        raise ImageProblem(f"The image processor refused this image at {min_tokens} to "
                           f"{max_tokens} visual tokens ({exc}). Widen the budget, or crop it "
                           "to a less extreme shape.") from exc
    t, h, w = (int(v) for v in grid[0])
    return Plan(w * processor.patch_size, h * processor.patch_size,
                t * h * w // processor.merge_size ** 2, part["min_pixels"], part["max_pixels"],
                images[0].size, block)


def unsendable(prepared: Prepared, min_tokens: int, max_tokens: int,
               block: int = FACTOR) -> ImageProblem | None:
    """Why this image cannot go through at this budget, and the nearest maximum at which it can;
    None if the shape does not explain it.

    qwen_vl_utils/vision_process.py smart_resize (0.0.14) rounds each side to a multiple of the
    block (28 or 32) and, above max_pixels, *down* (floor_by_factor, with no floor of one
    block): a thin image under a small budget gets a side of 0, which PIL cannot resize to.
    Rounding can also turn a 200:1 image into a longer one (10000×50 -> 6328×28), which the
    image processor then refuses.
    """
    width, height = prepared.image.size
    try:
        first = _first_size(width, height, min_tokens, max_tokens, block)
    except ValueError:  # its own shape check: not ours to explain (check_shape passed)
        return None
    w, h = prepared.source_size
    if first is None:
        why = (f"At most {max_tokens} visual tokens, qwen-vl-utils rounds the short side of this "
               f"{w}×{h} image down to 0 pixels, and cannot resize it to that.")
    elif max(first) / min(first) > MAX_ASPECT:
        why = (f"At {min_tokens} to {max_tokens} visual tokens, qwen-vl-utils rounds this {w}×{h} "
               f"image to {first[0]}×{first[1]}, longer than {MAX_ASPECT}:1, and the image "
               "processor refuses that.")
    else:
        return None
    # maxima the demo's slider can set (multiples of 4), checked with qwen_vl_utils' own rule
    works = [n for n in range(max(4, -(-min_tokens // 4) * 4), LIBRARY_MAX_TOKENS + 1, 4)
             if _sendable(_first_size(width, height, min_tokens, n, block))]
    if not works:
        return ImageProblem(f"{why} Crop it to a less extreme shape.")
    best = min(works, key=lambda n: abs(n - max_tokens))
    return ImageProblem(f"{why} Set the maximum to {best} visual tokens, or crop it to a less "
                        "extreme shape.")


def _first_size(width: int, height: int, min_tokens: int, max_tokens: int, block: int = FACTOR):
    """qwen_vl_utils' own size for the image (its smart_resize, as fetch_image calls it), or None
    where it rounds a side to 0."""
    from qwen_vl_utils import smart_resize

    h, w = smart_resize(height, width, factor=block, min_pixels=pixels(min_tokens, block),
                        max_pixels=pixels(max_tokens, block))
    return (w, h) if w and h else None


def _sendable(size) -> bool:
    return size is not None and max(size) / min(size) <= MAX_ASPECT


def open_image(path: str | Path) -> Prepared:
    """open_image(), remembered for the last few files: the preview reruns on every slider move."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ImageProblem(f"“{path.name}” could not be read ({exc}). Upload it again.") from exc
    return _open_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _open_cached(path: Path, _mtime: int, _size: int) -> Prepared:
    return decode(path)


def decode(path: str | Path) -> Prepared:
    """Decode an upload into RGB, or raise ImageProblem saying what is wrong with it.

    Converts what can be converted (CMYK, transparency, palettes, 16-bit, animation, EXIF
    rotation, huge sizes) and says so in `notes`; refuses what cannot be read.
    """
    path = Path(path)
    name = path.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError,
            OSError) as exc:
        if isinstance(exc, (Image.DecompressionBombWarning, Image.DecompressionBombError)):
            raise ImageProblem(f"“{name}” is too large to open safely ({exc}). Resize it below "
                               "80 megapixels first.") from exc
        raise ImageProblem(f"“{name}” is not an image this app can read. Upload a {READABLE} "
                           "file.") from exc
    notes: list[str] = []
    with source:
        size = source.size
        frames = getattr(source, "n_frames", 1)
        if frames > 1:
            source.seek(0)
            notes.append(f"animated ({frames} frames): the model sees the first frame")
        if source.format == "JPEG" and size[0] * size[1] > MAX_PIXELS:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale, never smaller than asked (sides rounded
            # up, so a 200:1 upload stays within 200:1)
            source.draft("RGB", fit(size))
        try:
            source.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageProblem(f"“{name}” is damaged or cut short, so it cannot be decoded "
                               f"({exc}). Upload the file again, or re-save it.") from exc
        image = _to_rgb(source, notes)
    image = ImageOps.exif_transpose(image)
    if image.width * image.height > MAX_PIXELS:
        if size[0] * size[1] >= 20e6:
            notes.append(f"{size[0] * size[1] / 1e6:.0f} megapixels: scaled down on arrival")
        image = image.resize(fit(image.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    if min(size) < FACTOR:
        notes.append(f"smaller than {FACTOR}x{FACTOR}: scaled up to the minimum")
    return Prepared(image, name, size, notes)


def fit(size: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to at most MAX_PIXELS in area, the shape kept. The short side is not rounded
    below 1/200 of the long one, so an upload within 200:1 stays within it: a 2048-pixel longest
    side made a 4000×20 upload 2048×10, 204.8:1, which qwen_vl_utils refuses."""
    width, height = size
    if width * height <= MAX_PIXELS:
        return size
    scale = math.sqrt(MAX_PIXELS / (width * height))
    width, height = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    if width >= height:
        return width, max(height, math.ceil(width / MAX_ASPECT))
    return max(width, math.ceil(height / MAX_ASPECT)), height


def _to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit and float greyscale
        notes.append(f"{mode} greyscale: scaled to 8 bits")
        image = ImageOps.autocontrast(image.convert("I").point(lambda v: v / 256).convert("L"))
        return image.convert("RGB")
    if mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        notes.append("transparent areas: put on white")
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode not in ("P", "L", "1"):
        notes.append(f"{mode} colours: converted to RGB")
    return image.convert("RGB")
