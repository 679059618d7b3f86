"""The languages Qwen Lab speaks: the course chapter's readers' (Marathi, Urdu, Burmese, Punjabi,
Swahili) and English, the source of every lesson.

Plain data: codes, native names, writing direction, the fonts that draw the script, and the
English name a chat model is told to answer in. Nothing here knows of Gradio or the lessons.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "en"


@dataclass(frozen=True)
class Language:
    code: str
    native: str          # what the picker shows
    english: str         # what a system prompt names ("Always answer in Swahili")
    rtl: bool = False
    fonts: str = ""      # CSS font-family fallbacks that draw the script well


LANGUAGES = {lang.code: lang for lang in (
    Language("en", "English", "English"),
    Language("mr", "मराठी", "Marathi", fonts='"Noto Sans Devanagari", "Mukta", "Mangal"'),
    Language("ur", "اردو", "Urdu", rtl=True,
             fonts='"Noto Nastaliq Urdu", "Jameel Noori Nastaleeq", "Noto Naskh Arabic"'),
    Language("my", "မြန်မာ", "Burmese", fonts='"Noto Sans Myanmar", "Padauk", "Myanmar Text"'),
    Language("pa", "ਪੰਜਾਬੀ", "Punjabi", fonts='"Noto Sans Gurmukhi", "Raavi", "Mukta Mahee"'),
    Language("sw", "Kiswahili", "Swahili"),
)}


def language(code: str | None) -> Language:
    """The language for a code such as "sw" or "ur-PK"; English for anything unknown."""
    code = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return LANGUAGES.get(code, LANGUAGES[SOURCE])


def from_accept_language(header: str | None) -> Language:
    """The first language of an HTTP Accept-Language header that Qwen Lab speaks, else English."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return LANGUAGES[code]
    return LANGUAGES[SOURCE]
