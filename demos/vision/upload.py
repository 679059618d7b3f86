"""An image upload box that leaves decoding to the app.

Gradio's gr.Image opens every upload with PIL before the handler runs, so a broken or
non-image file fails inside Gradio with PIL's message. ImageUpload is a template component
(Gradio's own mechanism for variants, as gr.Sketchpad is of gr.ImageEditor): the same front
end, but it hands the handler the uploaded file's path unopened, and qwenlab.images explains
what is wrong with it. Gradio writes a type stub (upload.pyi) beside this file on import.
"""

from __future__ import annotations

import gradio as gr


class ImageUpload(gr.Image):
    """Use with type="filepath". No __init__ of its own: Gradio builds the front end's props
    from the signature of __init__, which must stay gr.Image's."""

    is_template = True  # rendered by the standard Image front end

    def preprocess(self, payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)
