"""The organisation profile, format version 1: YAML -> validated, frozen, typed models.

:func:`load_profile` reports *every* problem of a file at once, each as ``FILE:LINE:COL: field.path:
message`` with a "did you mean" hint where one helps. Every field is described (``description=``) so the
JSON Schema and ``docs/profile.md`` say the same thing as the code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from qmsdocs import iso
from qmsdocs.errors import Problem, ProfileError, did_you_mean
from qmsdocs.yamlsource import Marks, PathKey, format_path, read_yaml


def _context(info: ValidationInfo, key: str) -> Any:
    return (info.context or {}).get(key)


def _check_person(value: str, info: ValidationInfo) -> str:
    people = _context(info, "people")
    if people is not None and value not in people:
        known = ", ".join(sorted(people)) or "none"
        raise PydanticCustomError(
            "person_ref",
            "'{value}' is not a key of people{hint} (people: {known})",
            {"value": value, "hint": did_you_mean(value, people), "known": known},
        )
    return value


def _check_process(value: str, info: ValidationInfo) -> str:
    processes = _context(info, "processes")
    if processes is not None and value not in processes:
        raise PydanticCustomError(
            "process_ref",
            "'{value}' is not the id of a process{hint}",
            {"value": value, "hint": did_you_mean(value, processes)},
        )
    return value


def _check_file(value: Path, info: ValidationInfo) -> Path:
    base = _context(info, "base_dir")
    path = value if value.is_absolute() or base is None else Path(base) / value
    if base is not None and not path.exists():
        raise PydanticCustomError(
            "file_missing", "file not found: {path} (paths are relative to the profile)", {"path": str(path)}
        )
    return path


def _check_colour(value: str) -> str:
    text = value.strip()
    if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdefABCDEF" for c in text[1:]):
        raise PydanticCustomError("colour", "'{value}' is not a colour like \"#1F4E79\"", {"value": value})
    return text.upper()


def _check_9004(value: str) -> str:
    if value not in iso.ISO9004_ELEMENTS:
        raise PydanticCustomError(
            "iso9004_element",
            "'{value}' is not an ISO 9004:2018 self-assessment element{hint}",
            {"value": value, "hint": did_you_mean(value, iso.ISO9004_ELEMENTS)},
        )
    return value


PersonRef = Annotated[str, AfterValidator(_check_person)]
ProcessRef = Annotated[str, AfterValidator(_check_process)]
ProfileFile = Annotated[Path, AfterValidator(_check_file)]
Colour = Annotated[str, AfterValidator(_check_colour)]
Iso9004Clause = Annotated[str, AfterValidator(_check_9004)]
Level = Annotated[int, Field(ge=1, le=5)]
Text = Annotated[str, Field(min_length=1)]


class Model(BaseModel):
    """Base of every profile model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Site(Model):
    """A place where the organisation works, covered by the QMS."""

    id: Text = Field(description="Short identifier of the site, unique in the profile.")
    name: Text = Field(description="Name of the site.")
    address: str = Field("", description="Postal address.")
    activities: tuple[str, ...] = Field((), description="What is done at this site.")


class Organisation(Model):
    """Who the documents are for: name, what it does and where."""

    name: Text = Field(description="Legal or trading name.")
    short_name: str = Field("", description="Name for page headers. Default: `name`.")
    description: str = Field("", description="One paragraph on what the organisation does.")
    industry: str = Field("", description="Sector or industry.")
    employees: int | None = Field(None, ge=1, description="Number of people.")
    website: str = Field("", description="Web address.")
    address: str = Field("", description="Registered or main address.")
    sites: tuple[Site, ...] = Field((), description="Sites covered by the QMS. Default: one main site.")

    @model_validator(mode="after")
    def _short_name(self) -> Organisation:
        if not self.short_name:
            object.__setattr__(self, "short_name", self.name)
        return self


class Exclusion(Model):
    """An ISO 9001:2015 requirement determined not applicable, with its justification (clause 4.3)."""

    clause: Text = Field(description='ISO 9001:2015 requirement determined not applicable, e.g. "8.3".')
    justification: Text = Field(description="Why it cannot be applied within the scope (clause 4.3).")

    @field_validator("clause")
    @classmethod
    def _excludable(cls, value: str) -> str:
        clause = iso.normalise_clause(value)
        if not iso.is_known_9001_clause(clause):
            raise PydanticCustomError(
                "clause",
                "'{value}' is not an ISO 9001:2015 clause{hint}",
                {"value": value, "hint": did_you_mean(clause, [*iso.ISO9001_CLAUSES, *iso.EXCLUDABLE])},
            )
        if not any(iso.is_within(clause, allowed) for allowed in iso.EXCLUDABLE):
            raise PydanticCustomError(
                "not_excludable",
                "clause {clause} cannot be determined not applicable: clauses 4 to 6, 9 and 10, and 8.1, "
                "8.2, 8.4 and 8.5.1 as a whole apply to every organisation (ISO 9001:2015 4.3); "
                "requirements that can be not applicable: {allowed}",
                {"clause": clause, "allowed": ", ".join(iso.EXCLUDABLE)},
            )
        return clause


class Scope(Model):
    """The scope of the quality management system (clause 4.3)."""

    statement: Text = Field(description="The scope of the QMS in one or two sentences (clause 4.3).")
    products_and_services: tuple[str, ...] = Field((), description="Types of products and services covered.")
    standard: Literal["ISO 9001:2015"] = Field("ISO 9001:2015", description="The requirements standard.")
    exclusions: tuple[Exclusion, ...] = Field(
        (), description="Requirements determined not applicable, each with a justification."
    )


class Person(Model):
    """Someone the documents name: as signatory, owner or responsible person."""

    name: Text = Field(description="Full name.")
    title: str = Field("", description="Job title.")
    email: str = Field("", description="E-mail address.")

    def __str__(self) -> str:
        return f"{self.name} ({self.title})" if self.title else self.name


class Roles(Model):
    """Who holds the QMS roles the documents refer to; each value is a key of `people`."""

    top_management: PersonRef = Field(description="Key of `people`: top management (clause 5.1).")
    quality_manager: PersonRef = Field(description="Key of `people`: manages the QMS (clause 5.3).")
    document_controller: PersonRef | None = Field(None, description="Default: `quality_manager`.")
    internal_audit_lead: PersonRef | None = Field(None, description="Default: `quality_manager`.")
    training_coordinator: PersonRef | None = Field(None, description="Default: `quality_manager`.")

    @model_validator(mode="after")
    def _defaults(self) -> Roles:
        for name in ("document_controller", "internal_audit_lead", "training_coordinator"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.quality_manager)
        return self


class InterestedParty(Model):
    """An interested party and its relevant requirements (clause 4.2)."""

    party: Text = Field(description="Who (customers, regulators, ...).")
    needs: tuple[str, ...] = Field((), description="Their relevant needs and expectations (clause 4.2).")


class Context(Model):
    """The context of the organisation: issues and interested parties (clauses 4.1, 4.2)."""

    internal_issues: tuple[str, ...] = Field((), description="Internal issues (clause 4.1).")
    external_issues: tuple[str, ...] = Field((), description="External issues (clause 4.1).")
    interested_parties: tuple[InterestedParty, ...] = Field((), description="Interested parties (4.2).")


class Process(Model):
    """A process of the QMS and its interactions (clause 4.4)."""

    id: Text = Field(description="Short identifier, unique in the profile.")
    name: Text = Field(description="Name of the process.")
    type: Literal["management", "core", "support"] = Field("core", description="Kind of process.")
    owner: PersonRef | None = Field(None, description="Key of `people`: the process owner.")
    inputs: tuple[str, ...] = Field((), description="Inputs of the process.")
    outputs: tuple[str, ...] = Field((), description="Outputs of the process.")
    kpis: tuple[str, ...] = Field((), description="Indicators that show how the process performs.")


DEFAULT_COMMITMENTS = (
    "Meet the requirements of our customers and the statutory and regulatory requirements that apply",
    "Set, review and pursue measurable quality objectives",
    "Continually improve the quality management system",
)


class QualityPolicy(Model):
    """The quality policy (clause 5.2)."""

    commitments: tuple[str, ...] = Field(DEFAULT_COMMITMENTS, description="Commitments of the policy (5.2).")
    approved_by: PersonRef | None = Field(None, description="Default: `roles.top_management`.")
    date: dt.date | None = Field(None, description="Date of approval. Default: the effective date.")


class QualityObjective(Model):
    """A measurable quality objective and how it is tracked (clause 6.2)."""

    objective: Text = Field(description="What is to be achieved (clause 6.2).")
    indicator: Text = Field(description="How it is measured.")
    target: Text = Field(description='The target, e.g. ">= 96 %".')
    frequency: str = Field("monthly", description="How often it is measured.")
    owner: PersonRef | None = Field(None, description="Key of `people`. Default: the quality manager.")
    process: ProcessRef | None = Field(None, description="Id of the process it belongs to.")


class Risk(Model):
    """A risk and its treatment (clause 6.1)."""

    description: Text = Field(description="The risk (clause 6.1).")
    likelihood: Level = Field(description="1 (rare) to 5 (almost certain).")
    impact: Level = Field(description="1 (negligible) to 5 (severe).")
    treatment: str = Field("", description="Action to address it.")
    owner: PersonRef | None = Field(None, description="Key of `people`.")

    @property
    def score(self) -> int:
        """Likelihood x impact, 1 to 25."""
        return self.likelihood * self.impact


class Opportunity(Model):
    """An opportunity and who pursues it (clause 6.1)."""

    description: Text = Field(description="The opportunity (clause 6.1).")
    benefit: str = Field("", description="What it would bring.")
    owner: PersonRef | None = Field(None, description="Key of `people`.")


class Complaints(Model):
    """How complaints are handled (ISO 10002; clause 9.1.2)."""

    acknowledge_within_days: int = Field(2, ge=1, description="Working days to acknowledge a complaint.")
    resolve_within_days: int = Field(20, ge=1, description="Working days to close a complaint.")
    owner: PersonRef | None = Field(None, description="Default: the quality manager.")


class CustomerSatisfaction(Model):
    """How customer satisfaction is monitored (ISO 10004; clause 9.1.2)."""

    methods: tuple[str, ...] = Field(
        ("Annual customer survey", "Complaint analysis"),
        description="How satisfaction is monitored (ISO 10004).",
    )
    survey_frequency: str = Field("annually", description="How often customers are surveyed.")
    scale: str = Field("1 (very dissatisfied) to 5 (very satisfied)", description="Rating scale of surveys.")
    indicators: tuple[str, ...] = Field(
        ("Overall satisfaction score",), description="Satisfaction indicators."
    )
    target_score: float | None = Field(None, description="Target for the overall score on the scale.")
    owner: PersonRef | None = Field(None, description="Default: the quality manager.")
    complaints: Complaints = Field(default_factory=Complaints, description="Complaints handling (ISO 10002).")


class InternalAudit(Model):
    """The internal audit programme (clause 9.2)."""

    frequency: str = Field("Every process at least once a year", description="Audit programme frequency.")
    lead_auditor: PersonRef | None = Field(None, description="Default: `roles.internal_audit_lead`.")
    auditors: tuple[PersonRef, ...] = Field((), description="Keys of `people` trained as auditors.")


class ManagementReview(Model):
    """Management review (clause 9.3)."""

    frequency: str = Field("once a year", description="How often top management reviews the QMS.")
    chair: PersonRef | None = Field(None, description="Default: `roles.top_management`.")


class DocumentControl(Model):
    """Numbering, approval and review of the generated documents (clause 7.5)."""

    prefix: str = Field("", description="Prefix of document numbers. Default: initials of the organisation.")
    approver: PersonRef | None = Field(None, description="Approves documents. Default: top management.")
    reviewer: PersonRef | None = Field(None, description="Reviews documents. Default: the quality manager.")
    effective_date: dt.date | None = Field(
        None, description="Effective date of this issue. Default: build date."
    )
    revision: str = Field("1", description="Revision of this issue of the document set.")
    review_interval_months: int = Field(12, ge=1, le=60, description="Months between reviews.")
    classification: str = Field("Internal", description="Classification printed in every footer.")


class Element(Model):
    """The rating of one ISO 9004:2018 self-assessment element."""

    level: Level = Field(description="Current maturity, 1 (base) to 5 (best practice).")
    target: Level | None = Field(None, description="Target level. Default: `default_target`.")
    evidence: str = Field("", description="What the rating is based on.")
    importance: int = Field(2, ge=1, le=3, description="1 (low) to 3 (high); weights the priority.")
    actions: tuple[str, ...] = Field((), description="Planned actions; default: a built-in suggestion.")


class SelfAssessment(Model):
    """An ISO 9004:2018 self-assessment; when present, the improvement plan and report are added."""

    date: dt.date = Field(description="Date of the assessment.")
    assessors: tuple[PersonRef, ...] = Field((), description="Keys of `people` who assessed.")
    default_target: Level = Field(4, description="Target level for elements without one.")
    elements: dict[Iso9004Clause, Element] = Field(
        default_factory=dict, description="Ratings keyed by ISO 9004:2018 clause (5.2 ... 11.4)."
    )


class Branding(Model):
    """Look of the generated Word documents."""

    logo: ProfileFile | None = Field(None, description="Logo image (PNG or JPEG), relative to the profile.")
    primary_colour: Colour = Field("#1F4E79", description="Heading colour of the built-in style.")
    reference_docx: ProfileFile | None = Field(None, description="House-style Word file; wins over colour.")


class Output(Model):
    """What a build writes."""

    formats: tuple[Literal["docx", "md"], ...] = Field(("docx", "md"), description="Formats to write.")


class Profile(Model):
    """An organisation described once: everything the documents are written from."""

    schema_version: Literal[1] = Field(description="Profile format version; this is version 1.")
    organisation: Organisation = Field(description="The organisation whose QMS is documented.")
    scope: Scope = Field(description="Scope of the QMS and requirements determined not applicable (4.3).")
    people: dict[str, Person] = Field(description="Everyone the documents name, by a key of your choice.")
    roles: Roles = Field(description="Who holds the QMS roles; values are keys of `people`.")
    context: Context = Field(default_factory=Context, description="Issues and interested parties (4.1, 4.2).")
    processes: tuple[Process, ...] = Field((), description="The processes of the QMS (4.4).")
    quality_policy: QualityPolicy = Field(
        default_factory=QualityPolicy, description="The quality policy (5.2)."
    )
    quality_objectives: tuple[QualityObjective, ...] = Field((), description="Quality objectives (6.2).")
    risks: tuple[Risk, ...] = Field((), description="Risks and their treatment (6.1).")
    opportunities: tuple[Opportunity, ...] = Field((), description="Opportunities (6.1).")
    customer_satisfaction: CustomerSatisfaction = Field(
        default_factory=CustomerSatisfaction, description="Customer satisfaction and complaints (9.1.2)."
    )
    internal_audit: InternalAudit = Field(default_factory=InternalAudit, description="Internal audit (9.2).")
    management_review: ManagementReview = Field(
        default_factory=ManagementReview, description="Management review (9.3)."
    )
    document_control: DocumentControl = Field(
        default_factory=DocumentControl, description="Numbering, approval and review of the documents (7.5)."
    )
    self_assessment: SelfAssessment | None = Field(
        None,
        description="ISO 9004:2018 self-assessment; adds the improvement plan and the assessment report.",
    )
    branding: Branding = Field(default_factory=Branding, description="Logo, colour and house style.")
    output: Output = Field(default_factory=Output, description="Output formats of a build.")
    templates: Annotated[Path, AfterValidator(_check_file)] | None = Field(
        None, description="Folder of client-specific templates (highest layer), relative to the profile."
    )

    _source: Path | None = PrivateAttr(None)
    _marks: Marks | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file the profile was loaded from."""
        return self._source

    @property
    def marks(self) -> Marks:
        """Line and column of every key and value in the source file."""
        return self._marks or Marks()

    def person(self, key: str) -> Person:
        """The person with this key of `people`."""
        return self.people[key]

    @property
    def excluded(self) -> dict[str, str]:
        """Clauses determined not applicable -> justification."""
        return {exclusion.clause: exclusion.justification for exclusion in self.scope.exclusions}

    def applies(self, clause: str) -> bool:
        """False when *clause* (or a clause it belongs to) is determined not applicable."""
        return not any(iso.is_within(iso.normalise_clause(clause), c) for c in self.excluded)

    @model_validator(mode="after")
    def _defaults(self) -> Profile:
        """Fill the defaults that depend on other fields (documented in each field's description)."""
        roles = self.roles
        dc = self.document_control
        prefix = dc.prefix or "".join(w[0] for w in self.organisation.name.split() if w[0].isalnum()).upper()
        object.__setattr__(dc, "prefix", prefix[:8] or "QMS")
        if dc.approver is None:
            object.__setattr__(dc, "approver", roles.top_management)
        if dc.reviewer is None:
            object.__setattr__(dc, "reviewer", roles.quality_manager)
        if dc.effective_date is None:
            object.__setattr__(dc, "effective_date", dt.date.today())
        if self.quality_policy.approved_by is None:
            object.__setattr__(self.quality_policy, "approved_by", roles.top_management)
        if self.quality_policy.date is None:
            object.__setattr__(self.quality_policy, "date", dc.effective_date)
        for model, name in (
            (self.internal_audit, "lead_auditor"),
            (self.customer_satisfaction, "owner"),
            (self.customer_satisfaction.complaints, "owner"),
        ):
            if getattr(model, name) is None:
                object.__setattr__(model, name, roles.quality_manager)
        if self.management_review.chair is None:
            object.__setattr__(self.management_review, "chair", roles.top_management)
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Profile:
        for name, items in (("processes", self.processes), ("organisation.sites", self.organisation.sites)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise PydanticCustomError(
                        "duplicate_id", "{name}: the id '{id}' is used twice", {"name": name, "id": item.id}
                    )
                seen.add(item.id)
        return self


_CUSTOM = {
    "person_ref",
    "process_ref",
    "iso9004_element",
    "clause",
    "not_excludable",
    "colour",
    "file_missing",
    "duplicate_id",
}
_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
}


def _input_text(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):  # YAML reads yes/no/on/off/true/false as booleans
        return f"{'yes' if value else 'no'} (a yes/no value: put text in quotes)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return f"'{value}'"


def _allowed_keys(model: type[BaseModel], path: PathKey) -> list[str]:
    """The field names of the model found at *path* below *model* (for "did you mean" hints)."""
    import typing

    annotation: Any = model
    for part in path:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        while origin in (typing.Union, getattr(__import__("types"), "UnionType", None), typing.Annotated):
            annotation = args[0]
            origin = typing.get_origin(annotation)
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif origin is tuple or origin is list:
            annotation = args[0]
        elif origin is dict:
            annotation = args[1]
        else:
            return []
    while typing.get_origin(annotation) is not None and not isinstance(annotation, type):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if not args:
            return []
        annotation = args[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _problems(error: ValidationError, file: str, marks: Marks) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc: PathKey = tuple(part for part in item["loc"] if not str(part).startswith("function-"))
        kind = item["type"]
        is_key = bool(loc) and loc[-1] == "[key]"
        if is_key:
            loc = loc[:-1]
        if kind == "missing":
            mark = marks.find(loc[:-1])
            message = _MESSAGES[kind]
        elif kind == "extra_forbidden":
            mark = marks.find(loc, key=True)
            message = "unknown field" + did_you_mean(str(loc[-1]), _allowed_keys(Profile, loc[:-1]))
        else:
            mark = marks.find(loc, key=is_key)
            message = item["msg"]
            if kind not in _CUSTOM:  # our own messages already quote the value
                message += f", got {_input_text(item.get('input'))}"
            message = message[0].lower() + message[1:]
            if kind.startswith("value_error"):
                message = message.removeprefix("value error, ")
        line, column = mark if mark else (None, None)
        problems.append(Problem(file, line, column, message, format_path(loc)))
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return problems


def load_profile(path: Path | str) -> Profile:
    """Load and validate the profile at *path*; raise :class:`ProfileError` with every problem found."""
    path = Path(path)
    data, marks = read_yaml(path)
    file = str(path)
    if not isinstance(data, dict):
        raise ProfileError(
            [Problem(file, 1, 1, "a profile is a mapping of fields (organisation:, scope:, ...)")]
        )
    people = data.get("people")
    processes = data.get("processes")
    context = {
        "people": set(people) if isinstance(people, dict) else set(),
        "processes": {p.get("id") for p in processes if isinstance(p, dict)}
        if isinstance(processes, list)
        else set(),
        "base_dir": path.parent,
    }
    try:
        profile = Profile.model_validate(data, context=context)
    except ValidationError as error:
        raise ProfileError(_problems(error, file, marks)) from None
    profile._source = path
    profile._marks = marks
    return profile
