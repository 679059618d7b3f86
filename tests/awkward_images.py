"""Awkward uploads for the vision tests, made on the fly: {case: (path, what the app must do)}."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

# case -> text the app must show: an error for the first two, a conversion note for the rest
BAD_IMAGES = {
    "not-an-image": "is not an image",
    "truncated-jpeg": "damaged or cut short",
    "50-megapixel": "50 megapixels: scaled down on arrival",
    "animated-gif": "animated (3 frames)",
    "cmyk": "CMYK colours: converted to RGB",
    "rgba": "transparent areas: put on white",
    "1x1": "smaller than 28x28: scaled up",
}
REFUSED = {"not-an-image", "truncated-jpeg"}


def make_bad_images(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}

    path = paths["not-an-image"] = folder / "notes.png"  # text with an image's name
    path.write_text("These are my lecture notes, not a picture.\n" * 20)

    photo = Image.new("RGB", (640, 480), (40, 90, 160))
    ImageDraw.Draw(photo).ellipse((200, 120, 440, 360), fill=(250, 200, 40))
    full = folder / "full.jpg"
    photo.save(full, quality=90)
    path = paths["truncated-jpeg"] = folder / "truncated.jpg"
    path.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])

    big = Image.new("RGB", (8660, 5780), (200, 220, 240))  # 50.05 megapixels
    ImageDraw.Draw(big).rectangle((2000, 1500, 6000, 4500), fill=(30, 120, 60))
    path = paths["50-megapixel"] = folder / "huge.jpg"
    big.save(path, quality=80)

    frames = [Image.new("RGB", (120, 90), color) for color in ("red", "green", "blue")]
    path = paths["animated-gif"] = folder / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0)

    path = paths["cmyk"] = folder / "print.jpg"
    Image.new("CMYK", (320, 240), (0, 128, 255, 0)).save(path)

    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((50, 20, 250, 180), fill=(220, 30, 30, 255))
    path = paths["rgba"] = folder / "logo.png"
    rgba.save(path)

    path = paths["1x1"] = folder / "pixel.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(path)
    return paths
