"""The error types of qmsdocs.

``str(error)`` is always the finished message for the user, with a location (file, line) wherever the
problem has one. The CLI maps each type to an exit code; library code never prints or exits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""``."""
    import difflib  # only when there is a mistake to explain

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, at a place in it."""

    file: str
    line: int | None
    column: int | None
    message: str
    field: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {field}{self.message}"


class QmsDocsError(Exception):
    """Base of every error qmsdocs reports to a user (a mistake in their input, not a bug)."""

    exit_code = 1


class ProfileError(QmsDocsError):
    """A profile could not be loaded: carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TemplateError(QmsDocsError):
    """A template could not be read, compiled or rendered."""

    def __init__(self, template: str, line: int | None, message: str, layer: str | None = None) -> None:
        self.template = template
        self.line = line
        self.layer = layer
        self.message = message
        where = template if line is None else f"{template}:{line}"
        in_layer = f" (layer {layer})" if layer else ""
        super().__init__(f"{where}: {message}{in_layer}")


class TemplateProblems(QmsDocsError):
    """Several template problems collected by a check of a whole library."""

    def __init__(self, errors: list[TemplateError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ReferenceDocError(QmsDocsError):
    """A reference .docx (house style) is missing, unreadable or not a Word document."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class DocumentError(QmsDocsError):
    """A rendered document holds something the writers cannot represent (e.g. raw HTML)."""


class BuildError(QmsDocsError):
    """A build could not run at all (output folder locked, not writable, ...)."""


class CoverageError(QmsDocsError):
    """The planned document set leaves applicable ISO 9001:2015 clauses without a document."""

    def __init__(self, profile: str, clauses: list[str], message: str) -> None:
        self.profile = profile
        self.clauses = clauses
        super().__init__(f"{profile}: {message}")


class ConfigError(QmsDocsError):
    """The workspace configuration (qmsdocs.toml) is not valid: carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class WorkspaceError(QmsDocsError):
    """A workspace file could not be written (it exists, the folder is not empty, ...)."""
