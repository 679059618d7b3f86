"""Images for Qwen-VL: open whatever a learner uploads safely, and say before sending what the
model will see.

Qwen2-VL and Qwen2.5-VL cut an image into 14x14 patches and merge each 2x2 group into one visual
token, so every 28x28 block of the resized image costs one token. `qwen_vl_utils.smart_resize`
picks the size: both sides multiples of 28, the area between min_pixels and max_pixels, the
aspect ratio kept. `plan()` runs that same function, so the count it shows is the count sent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from qwenlab.errors import QwenLabError

FACTOR = 28                      # 14-pixel patches, merged 2x2: one visual token per 28x28
MAX_ASPECT = 200                 # qwen_vl_utils refuses anything longer than 200:1
MAX_SIDE = 2048                  # keep at most 2048x2048: more than any budget the demo offers
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
    width: int
    height: int
    tokens: int
    min_pixels: int
    max_pixels: int


def pixels(tokens: int) -> int:
    """Visual tokens to the pixel count qwen_vl_utils and the processor take."""
    return int(tokens) * FACTOR * FACTOR


def plan(width: int, height: int, min_tokens: int, max_tokens: int) -> Plan:
    """The size the image is resized to and the visual tokens it becomes."""
    from qwen_vl_utils import smart_resize

    if min_tokens > max_tokens:
        raise ImageProblem(f"The minimum ({min_tokens} visual tokens) is above the maximum "
                           f"({max_tokens}); lower it or raise the maximum.")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise ImageProblem(f"This image is {width}x{height} pixels, longer than {MAX_ASPECT}:1; "
                           "Qwen-VL cannot take it. Crop it to a less extreme shape.")
    h, w = smart_resize(height, width, factor=FACTOR, min_pixels=pixels(min_tokens),
                        max_pixels=pixels(max_tokens))
    return Plan(w, h, (w // FACTOR) * (h // FACTOR), pixels(min_tokens), pixels(max_tokens))


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
        if source.format == "JPEG" and max(size) > MAX_SIDE:
            source.draft("RGB", (MAX_SIDE, MAX_SIDE))  # libjpeg decodes at 1/2, 1/4 or 1/8 scale
        try:
            source.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageProblem(f"“{name}” is damaged or cut short, so it cannot be decoded "
                               f"({exc}). Upload the file again, or re-save it.") from exc
        image = _to_rgb(source, notes)
    image = ImageOps.exif_transpose(image)
    if max(image.size) > MAX_SIDE:
        if size[0] * size[1] >= 20e6:
            notes.append(f"{size[0] * size[1] / 1e6:.0f} megapixels: scaled down on arrival")
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if min(size) < FACTOR:
        notes.append(f"smaller than {FACTOR}x{FACTOR}: scaled up to the minimum")
    return Prepared(image, name, size, notes)


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
