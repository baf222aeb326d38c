"""The one error a refused rule raises, and the answer `why_not` gives."""
from dataclasses import dataclass


class WorkflowError(Exception):
    """A rule said no. `rule` is the rule number of docs/rules.md ("R6"); `fields` maps form fields
    to their messages when the refusal is about input (R15)."""

    def __init__(self, message, rule=None, fields=None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.fields = fields or {}

    def __str__(self):
        return f"{self.message}（{self.rule}）" if self.rule else self.message


@dataclass(frozen=True)
class Refusal:
    """Why an action may not happen now: a Chinese message for the user and the rule's number."""

    message: str
    rule: str | None = None

    def error(self):
        return WorkflowError(self.message, self.rule)

    def __str__(self):
        return self.message
