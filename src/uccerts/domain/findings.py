"""Findings: what a check says about an upload, with the appliance's words and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    ``code`` is stable (domain.md §5/§6), ``message`` is the appliance's exact text,
    ``detail`` carries data (e.g. the SANs a CA added or dropped), ``fix`` tells the
    user what to do about it.
    """

    code: str
    message: str
    severity: Severity = Severity.ERROR
    fix: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_warning(self) -> Finding:
        return Finding(self.code, self.message, Severity.WARNING, self.fix, dict(self.detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
            "fix": self.fix,
        }
