"""One template + one profile -> Markdown text, in Jinja's sandbox.

Profile values are text, not Markdown: every ``{{ value }}`` is escaped so that a ``*`` or ``|`` in a
name cannot change the document's structure, and a value's own line breaks cannot start a heading, a
list, a quote or a code block (see :func:`escape_markdown`). Helpers that produce Markdown on purpose
return :class:`Md`, which is left as it is. Printing ``None``, a whole profile section or any other
object without a text form is an error, so a document never shows "None" or a Python repr.

This module also declares the template API (:func:`qmsdocs.library.sandbox.allow`): what templates may read of
the objects :func:`context` gives them, besides the fields of the profile's models and of dataclasses.
The sandbox refuses everything else.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound, TemplateSyntaxError, pass_context, pass_environment
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import Undefined
from markupsafe import Markup
from pydantic import BaseModel

from qmsdocs import config
from qmsdocs.config import RenderLimits
from qmsdocs.errors import TemplateError
from qmsdocs.library import sandbox
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.limits import is_text_like
from qmsdocs.library.plan import DocumentSpec, Plan
from qmsdocs.markdown.escape import escape_markdown
from qmsdocs.profile.models import Person, Profile, Risk
from qmsdocs.standards import charts, iso, maturity
from qmsdocs.standards.processes import ProcessMap
from qmsdocs.standards.registers import Registers
from qmsdocs.standards.satisfaction import Indicator, SatisfactionPlan, satisfaction_plan

#: What finalize puts for a line break of a value; replaced once the document is rendered (_place_breaks).
_BREAK = "\x00"
#: A line where a value's line break must be a space: a table row or a heading (both one line).
_ONE_LINE = re.compile(r"[ \t]*(?:>[ \t]*)*(?:\||#{1,6}(?:[ \t]|$))")


class Md(Markup):
    """Markdown produced on purpose (a link, a table): printed without escaping.

    Jinja's autoescape machinery carries it: macro output and template text are ``Markup`` too, so only
    values from the profile are escaped, once, by :func:`_finalize`.
    """

    __slots__ = ()


def _place_breaks(text: str) -> str:
    """The line breaks of printed values (:data:`_BREAK`): a space in a table row or a heading, which
    are one line each, and a Markdown hard line break anywhere else."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _BREAK in line:
            lines[index] = line.replace(_BREAK, " " if _ONE_LINE.match(line) else "\\\n")
    return "\n".join(lines)


@dataclass(frozen=True)
class Rendered:
    """A rendered document body and the images it links to (charts), keyed by their relative path."""

    text: str
    images: dict[str, bytes] = field(default_factory=dict)


class _PrintError(Exception):
    """Raised by finalize for values that must not be printed; turned into a TemplateError."""


def _finalize(value: Any) -> Markup:
    if type(value) is str:  # by far the most common value, so tested first
        return Markup(escape_markdown(value, _BREAK))
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
    if not (isinstance(value, str | int | float | Undefined) or is_text_like(value)):
        raise _PrintError(f"cannot print a {type(value).__name__}; print one of its fields")
    return Markup(escape_markdown(str(value), _BREAK))  # an Undefined raises its error here


@pass_environment
def _join_and(env: Any, items: Iterable[Any], last: str = "and") -> str:
    """``a, b and c``: the items as text, the last two joined by *last*."""
    items = list(items)
    env.check_text(items, "the filter 'join_and'", 2 * len(items) + len(str(last)))
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


@pass_context
def _person_filter(ctx: Any, key: str) -> Person:
    """``"qm" | person`` -> the Person with that key (usable with ``map``)."""
    return ctx["person"](key)  # type: ignore[no-any-return]


@pass_environment
def _cell(env: Any, value: Any) -> str:
    """Text fit for a table cell: one line."""
    if type(value) is not str and not isinstance(value, Markup):
        env.check_text(value, "the filter 'cell'")
    text = " ".join(str(value).split())
    return Md(text) if isinstance(value, Markup) else text


@pass_environment
def _md(env: Any, value: Any) -> Md:
    """The value as Markdown made on purpose (not escaped)."""
    if type(value) is not str and not isinstance(value, Markup):
        env.check_text(value, "the filter 'md'")
    return Md(value)


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


#: Most profiles whose document sets and computed facts are kept (the most recent): enough for a
#: profile's documents to share them, never all the profiles a worker builds.
KEEP_PROFILES = 4
_DOCUMENT_SETS: dict[int, tuple[Plan, DocumentSet]] = {}


def _document_set(plan: Plan) -> DocumentSet:
    """One :class:`DocumentSet` per plan, so what it works out is shared by the set's documents."""
    cached = _DOCUMENT_SETS.get(id(plan))
    if cached is None or cached[0] is not plan:  # the plan is kept alive, so its id is not reused
        while len(_DOCUMENT_SETS) >= KEEP_PROFILES:
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
        while len(_FACTS) >= KEEP_PROFILES:  # a worker builds many profiles: keep only the recent ones
            _FACTS.pop(next(iter(_FACTS)))
        facts = _ProfileFacts(
            maturity.assess(profile), Registers(profile), ProcessMap(profile), satisfaction_plan(profile)
        )
        cached = _FACTS[id(profile)] = (profile, facts)
    return cached[1]


def chart_name(number: str, doc_id: str) -> str:
    """The file name (without extension) of a document's charts: its number in plain ASCII letters,
    digits and hyphens ("ÖÅ-RPT-01" -> "OA-RPT-01"), or its id when nothing of the number is left. The
    writers find images by their link in the Markdown, which percent-encodes anything else."""
    ascii_number = unicodedata.normalize("NFKD", number).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_number).strip("-")
    return slug if slug.endswith(doc_id) else _NOT_SLUG.sub("-", doc_id).strip("-") or "document"


_NOT_SLUG = re.compile(r"[^A-Za-z0-9]+")


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
        path = f"charts/{chart_name(spec.meta.number, spec.meta.id)}-{kind}.png"
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
    sandbox.CALLABLE_CLASSES.add(Md)
    env.finalize = _finalize
    env.filters.update(
        join_and=_join_and, cell=_cell, md=_md, escape_md=escape_markdown, person=_person_filter
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


def render(
    spec: DocumentSpec,
    profile: Profile,
    plan: Plan,
    library: TemplateLibrary,
    limits: RenderLimits | None = None,
) -> Rendered:
    """Render the document *spec* of *profile* to Markdown text within *limits* (default:
    :data:`qmsdocs.config.DEFAULT_LIMITS`); errors name the template and line."""
    configure(library)
    env = library.env
    assert isinstance(env, sandbox.Sandbox)
    name = spec.meta.template
    try:
        template = env.get_template(spec.template.path)
        images: dict[str, bytes] = {}
        text = env.render_limited(
            template, context(spec, profile, plan, images), limits or config.DEFAULT_LIMITS
        )
    except TemplateNotFound as error:
        file, line = _location(error, library, name)
        raise TemplateError(_display(file, library), line, f"template not found: {error.name}") from None
    except (JinjaTemplateError, _PrintError) as error:
        file, line = _location(error, library, name)
        message = str(error.message if isinstance(error, JinjaTemplateError) else error)
        if isinstance(error, SecurityError):
            message = f"not allowed in a template: {message}"
        raise TemplateError(_display(file, library), line, _short(message or type(error).__name__)) from None
    except Exception as error:  # a template doing arithmetic on text, calling a non-function, ...
        file, line = _location(error, library, name)
        raise TemplateError(
            _display(file, library), line, _short(f"{type(error).__name__}: {error}")
        ) from None
    if _BREAK in text:
        text = _place_breaks(text)
    return Rendered(text.strip() + "\n", images)


def _short(message: str, limit: int = 500) -> str:
    """A message cut to *limit* characters: it may quote a value a template built, which can be long."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


# The template API: the properties and methods templates may use besides the fields of the profile's
# models and of the dataclasses they reach (see qmsdocs.library.sandbox). A test walks every object the
# context reaches and compares what it finds with its own list: a change here is a change of that list.
sandbox.allow(Profile, "person", "applies", "excluded", "source")
sandbox.allow(Risk, "score")
sandbox.allow(DocumentSet, "has", "ref", "number", "all", "omitted", "addressing")
sandbox.allow(Registers, "records", "removed_records", "risks", "band", "bands")
sandbox.allow(ProcessMap, "links", "of_type", "unlinked")
sandbox.allow(maturity.Assessment, "strengths", "weaknesses", "sustain", "assessed_groups")
sandbox.allow(maturity.ElementRating, "gap", "priority", "is_strength", "is_weakness")
sandbox.allow(maturity.GroupSummary, "assessed", "mean_level", "mean_target", "lowest")
sandbox.allow(maturity.PlanRow, "owner")
sandbox.allow(SatisfactionPlan, "survey_indicators", "record_indicators", "nps")
sandbox.allow(Indicator, "topic", "subject")
