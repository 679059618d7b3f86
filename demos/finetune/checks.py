"""The fine-tuning lesson's try-it checks (lessons/en/08-finetune.md): each reads what the tab
holds (the run's summary, the comparison table) and says whether the task is done, and why."""

from __future__ import annotations

from qwenlab.demos.finetune.data import COMPARE
from qwenlab.web.demo import Check
from qwenlab.web.i18n import N_
from qwenlab.web.ui import table_rows


def loss_fell(summary, min_steps: int = 10) -> tuple[bool, str]:
    """A run of at least `min_steps` steps whose loss, averaged over its last three steps, is
    below its average over the first three."""
    if not summary:
        return False, N_("Train first.")
    if summary["steps"] < min_steps:
        return False, N_("That run did {steps} steps; train for at least {least}.").format(
            steps=summary["steps"], least=min_steps)
    start, end = summary["start"], summary["end"]
    if end >= start:
        return False, N_("The loss went from {start} to {end} (three-step averages): raise the "
                         "learning rate or the steps.").format(start=f"{start:.3f}", end=f"{end:.3f}")
    return True, N_("The loss fell from {start} to {end} (three-step averages).").format(
        start=f"{start:.3f}", end=f"{end:.3f}")


def trained_model(summary, model: str, min_steps: int = 5) -> tuple[bool, str]:
    """A run of at least `min_steps` steps on `model` (the lesson's Qwen3.5 task)."""
    if not summary:
        return False, N_("Train first.")
    if summary.get("model") != model:
        return False, N_("That run trained {trained}; pick {model} as the base model.").format(
            trained=summary.get("model"), model=model)
    if summary["steps"] < min_steps:
        return False, N_("That run did {steps} steps; train for at least {least}.").format(
            steps=summary["steps"], least=min_steps)
    return True, N_("{model} trained for {steps} steps: {trainable} LoRA parameters, {share} of "
                    "the model.").format(model=model, steps=summary["steps"],
                                         trainable=f"{summary['trainable']:,}",
                                         share=f"{summary['share']:.3%}")


def compared_own_prompt(compare) -> tuple[bool, str]:
    """The learner compared base and adapted on a question of their own."""
    rows = table_rows(compare)
    own = [row for row in rows if row and row[0] and row[0] not in COMPARE]
    if not own:
        return False, N_("Type a question of your own in *Compare on*, then train and compare.")
    return True, N_("Compared on “{question}”.").format(question=own[0][0])


CHECKS = {"loss_fell": Check(("summary",), loss_fell),
          "trained_model": Check(("summary",), trained_model),
          "compared_own_prompt": Check(("compare",), compared_own_prompt)}
