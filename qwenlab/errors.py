"""Every error Qwen Lab raises for a person to read, under one base class.

`QwenLabError` is what the UI turns into a message (qwenlab.web.ui.user_errors) and what the CLI
prints as one line with exit status 1; anything else is a bug and keeps its traceback. Each
message says what went wrong and what to do about it. This module imports nothing of Qwen
Lab, so every other module can import it (modelled on simonw/llm's errors.py).
"""

from __future__ import annotations


def N_(template: str) -> str:
    """Mark a message template for the string tables (the translators' tool finds these in the
    source); it returns `template` unchanged."""
    return template


class Message(str):
    """A sentence for a person: the English text, which also remembers the template it was
    made from and the values filled in, so that it is translated as a template and then filled
    (qwenlab.web.i18n.t), never by matching the finished English. Values that are Messages
    are translated too."""

    template: str
    values: dict

    def __new__(cls, template: str, **values) -> Message:
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template, text.values = template, values
        return text

    def __reduce__(self):  # pickles (and copies) as a Message, not a bare str
        return (_message, (self.template, self.values))


def _message(template: str, values: dict) -> Message:
    return Message(template, **values)


class QwenLabError(Exception):
    """Something a user can act on; str(error) is the whole message in English, and
    `error.message` the Message it was made from (template and values, for translating).
    Raise it as `LoadError(N_("{model} needs {gb} GB"), model=key, gb=need)`."""

    def __init__(self, template: str = "", *args, **values):
        self.message = template if isinstance(template, Message) else Message(template, **values)
        super().__init__(str(self.message), *args)


class ConfigError(QwenLabError, ValueError):
    """An environment variable with a value Qwen Lab cannot use."""


class BadRequest(QwenLabError, ValueError):
    """Arguments that cannot work together (greedy decoding with thinking on, 0 new tokens)."""


class UnknownModel(QwenLabError, KeyError):
    """A registry key that does not exist; the message lists the keys that do."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class LoadError(QwenLabError, RuntimeError):
    """A model could not be loaded; the message says why and what to do."""


class PrecisionUnavailable(LoadError):
    """The precision cannot run on this device with what is installed."""


class PoolFull(LoadError):
    """The model cannot fit in the budget even after evicting every idle model."""


class RemoteError(LoadError):
    """A remote engine could not be reached or answered with an error."""


class EngineFailed(QwenLabError, RuntimeError):
    """The engine failed while writing this answer; it starts afresh for the next one."""


class EngineStalled(EngineFailed):
    """The engine gave no sign of life for too long; the request gave up waiting."""


class PromptTooLong(QwenLabError, ValueError):
    """The prompt does not leave room to answer within the model's context."""


class Refused(QwenLabError, ValueError):
    """A request past one of the operator's classroom limits."""


class LessonError(QwenLabError, ValueError):
    """A lesson file that cannot be used; the message names the file and the problem."""
