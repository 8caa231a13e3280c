"""One template + one profile -> Markdown text, in Jinja's sandbox.

Profile values are text, not Markdown: every ``{{ value }}`` is escaped so that a ``*`` or ``|`` in a
name cannot change the document's structure. Helpers that produce Markdown on purpose return
:class:`Md`, which is left as it is. Printing ``None`` or a whole profile section is an error, so a
document never shows "None" or a Python repr.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound, TemplateSyntaxError, pass_context
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from markupsafe import Markup
from pydantic import BaseModel

from qmsdocs import charts, iso, maturity
from qmsdocs.errors import TemplateError
from qmsdocs.library import TemplateLibrary
from qmsdocs.paths import safe_filename
from qmsdocs.plan import DocumentSpec, Plan
from qmsdocs.processes import ProcessMap
from qmsdocs.profile import Person, Profile
from qmsdocs.registers import Registers
from qmsdocs.satisfaction import satisfaction_plan

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])|&(?=#?\w+;)")


class Md(Markup):
    """Markdown produced on purpose (a link, a table): printed without escaping.

    Jinja's autoescape machinery carries it: macro output and template text are ``Markup`` too, so only
    values from the profile are escaped, once, by :func:`_finalize`.
    """

    __slots__ = ()


def escape_markdown(text: str) -> str:
    """Backslash-escape the characters that would turn plain text into Markdown structure."""
    if _MD_SPECIAL.search(text) is None:  # most values: nothing to escape
        return text
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


@dataclass(frozen=True)
class Rendered:
    """A rendered document body and the images it links to (charts), keyed by their relative path."""

    text: str
    images: dict[str, bytes] = field(default_factory=dict)


class _PrintError(Exception):
    """Raised by finalize for values that must not be printed; turned into a TemplateError."""


def _finalize(value: Any) -> Markup:
    if type(value) is str:  # by far the most common value, so tested first
        return Markup(escape_markdown(value))
    if isinstance(value, Markup):
        return value
    if value is None:
        raise _PrintError("the expression printed an empty value; guard it with {% if ... %}")
    if isinstance(value, BaseModel) and not isinstance(value, Person):
        raise _PrintError(f"cannot print a whole {type(value).__name__} section; print one of its fields")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, dt.date):
        return Markup(value.isoformat())
    if isinstance(value, list | tuple | dict | set):
        raise _PrintError("cannot print a list; loop over it or use the join_and filter")
    return Markup(escape_markdown(str(value)))


def _join_and(items: Iterable[Any], last: str = "and") -> str:
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


@pass_context
def _person_filter(ctx: Any, key: str) -> Person:
    """``"qm" | person`` -> the Person with that key (usable with ``map``)."""
    return ctx["person"](key)  # type: ignore[no-any-return]


def _cell(value: Any) -> str:
    """Text fit for a table cell: one line."""
    text = " ".join(str(value).split())
    return Md(text) if isinstance(value, Markup) else text


class DocumentSet:
    """The documents of the set as templates see them, for cross-references that always resolve."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._addressing: dict[str, list[Any]] = {}

    def has(self, doc_id: str) -> bool:
        """True when the document is in this profile's set."""
        return self._plan.get(doc_id) is not None

    def ref(self, doc_id: str) -> Md:
        """ "BWI-QP-09 Internal audit" for a document of the set; an error for any other id."""
        spec = self._plan.get(doc_id)
        if spec is None:
            raise _PrintError(
                f"document '{doc_id}' is not in this set; guard the reference with documents.has('{doc_id}')"
            )
        return Md(escape_markdown(f"{spec.meta.number} {spec.meta.title}"))

    def number(self, doc_id: str) -> str:
        """The document number of a document of the set."""
        return str(self.ref(doc_id)).split(" ", 1)[0]

    @property
    def all(self) -> list[Any]:
        """The document metadata of the whole set, in order."""
        return [spec.meta for spec in self._plan.documents]

    @property
    def omitted(self) -> list[Any]:
        """Documents left out, with reasons."""
        return list(self._plan.omitted)

    def addressing(self, clause: str) -> list[Any]:
        """Documents whose front matter names *clause* or one of its sub-clauses."""
        found = self._addressing.get(clause)
        if found is None:
            found = self._addressing[clause] = [
                spec.meta
                for spec in self._plan.documents
                if any(iso.is_within(c, clause) or iso.is_within(clause, c) for c in spec.meta.clauses)
            ]
        return list(found)


_DOCUMENT_SETS: dict[int, tuple[Plan, DocumentSet]] = {}


def _document_set(plan: Plan) -> DocumentSet:
    """One :class:`DocumentSet` per plan, so what it works out is shared by the set's documents."""
    cached = _DOCUMENT_SETS.get(id(plan))
    if cached is None or cached[0] is not plan:  # the plan is kept alive, so its id is not reused
        if len(_DOCUMENT_SETS) >= 8:
            _DOCUMENT_SETS.pop(next(iter(_DOCUMENT_SETS)))
        cached = _DOCUMENT_SETS[id(plan)] = (plan, DocumentSet(plan))
    return cached[1]


@dataclass(frozen=True)
class _ProfileFacts:
    """What templates compute from a whole profile: made once per profile, not once per document."""

    assessment: Any
    registers: Any
    process_map: Any
    satisfaction: Any


_FACTS: dict[int, tuple[Profile, _ProfileFacts]] = {}


def _facts(profile: Profile) -> _ProfileFacts:
    cached = _FACTS.get(id(profile))
    if cached is None or cached[0] is not profile:  # the profile is kept alive, so its id is not reused
        if len(_FACTS) >= 8:  # a worker builds many profiles: keep only the recent ones
            _FACTS.pop(next(iter(_FACTS)))
        facts = _ProfileFacts(
            maturity.assess(profile), Registers(profile), ProcessMap(profile), satisfaction_plan(profile)
        )
        cached = _FACTS[id(profile)] = (profile, facts)
    return cached[1]


def context(spec: DocumentSpec, profile: Profile, plan: Plan, images: dict[str, bytes]) -> dict[str, Any]:
    """The names a template can use (documented in the README's template section)."""
    roles = profile.roles

    def role(name: str) -> Person:
        key = getattr(roles, name, None)
        if not isinstance(key, str):
            raise _PrintError(f"'{name}' is not a role")
        return profile.person(key)

    facts = _facts(profile)
    assessment = facts.assessment

    def chart(kind: str) -> Md:
        """Draw a self-assessment chart, register its PNG in *images* and return the Markdown image link."""
        if assessment is None:
            raise _PrintError(
                "chart(): the profile has no 'self_assessment' section; guard with {% if assessment %}"
            )
        try:
            png = charts.draw(kind, assessment)
        except ValueError as error:
            raise _PrintError(f"chart(): {error}") from None
        path = f"charts/{safe_filename(spec.meta.number).replace(' ', '-')}-{kind}.png"
        images[path] = png
        return Md(f'![{charts.KINDS[kind]}]({path} "width=15cm")')

    return {
        "profile": profile,
        "org": profile.organisation,
        "doc": spec.meta,
        "documents": _document_set(plan),
        "person": profile.person,
        "role": role,
        "applies": profile.applies,
        "iso9001": iso.ISO9001_CLAUSES,
        "iso9004": iso.ISO9004_ELEMENTS,
        "Md": Md,
        "registers": facts.registers,
        "process_map": facts.process_map,
        "assessment": assessment,
        "chart": chart,
        "satisfaction": facts.satisfaction,
    }


def configure(library: TemplateLibrary) -> None:
    """Install qmsdocs' filters and the escaping finalizer in the library's environment (idempotent)."""
    env = library.env
    if "join_and" in env.filters:
        return
    env.finalize = _finalize
    env.filters.update(
        join_and=_join_and, cell=_cell, md=Md, escape_md=escape_markdown, person=_person_filter
    )


def _location(error: BaseException, library: TemplateLibrary, fallback: str) -> tuple[str, int | None]:
    """The template file and line where a render error happened (Jinja rewrites the traceback)."""
    if isinstance(error, TemplateSyntaxError):
        return error.filename or error.name or fallback, error.lineno
    roots = [str(folder) for _, folder in library.layers]
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2") and any(frame.filename.startswith(r) for r in roots):
            return frame.filename, frame.lineno
    return fallback, None


def _display(filename: str, library: TemplateLibrary) -> str:
    path = Path(filename)
    if path.is_relative_to(library.builtin):
        return "builtin/" + path.relative_to(library.builtin).as_posix()
    return filename


def render(spec: DocumentSpec, profile: Profile, plan: Plan, library: TemplateLibrary) -> Rendered:
    """Render the document *spec* of *profile* to Markdown text; errors name the template and line."""
    configure(library)
    name = spec.meta.template
    try:
        template = library.env.get_template(spec.template.path)
        images: dict[str, bytes] = {}
        text = template.render(context(spec, profile, plan, images))
    except TemplateNotFound as error:
        file, line = _location(error, library, name)
        raise TemplateError(_display(file, library), line, f"template not found: {error.name}") from None
    except (JinjaTemplateError, _PrintError) as error:
        file, line = _location(error, library, name)
        message = str(error.message if isinstance(error, JinjaTemplateError) else error)
        if isinstance(error, SecurityError):
            message = f"not allowed in a template: {message}"
        raise TemplateError(_display(file, library), line, message or type(error).__name__) from None
    except Exception as error:  # a template doing arithmetic on text, calling a non-function, ...
        file, line = _location(error, library, name)
        raise TemplateError(_display(file, library), line, f"{type(error).__name__}: {error}") from None
    return Rendered(text.strip() + "\n", images)
