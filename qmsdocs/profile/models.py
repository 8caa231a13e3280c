"""The organisation profile, format version 1: YAML -> validated, frozen, typed models.

:func:`load_profile` reports *every* problem of a file at once, each as ``FILE:LINE:COL: field.path:
message`` with a "did you mean" hint where one helps. Every field is described (``description=``) so the
JSON Schema and ``docs/profile.md`` say the same thing as the code.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from qmsdocs.errors import Problem, ProfileError, did_you_mean
from qmsdocs.profile.yamlsource import Marks, PathKey, format_path, read_yaml
from qmsdocs.standards import iso


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


#: Limits on the files a profile names (read at validation, so a test can turn them down).
MAX_LOGO_BYTES = 5 * 1024 * 1024
MAX_LOGO_PIXELS = 25_000_000
MAX_REFERENCE_BYTES = 20 * 1024 * 1024
#: Longest text of a name or short value, of a sentence or list item, of a paragraph (characters).
NAME_CHARS = 200
LINE_CHARS = 1_000
PARAGRAPH_CHARS = 10_000
PATH_CHARS = 1_000
PREFIX_PATTERN = "^[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?$"


def _where(value: Path, info: ValidationInfo) -> Path | None:
    """*value* relative to the profile's folder; None when validated without a file (no checks then)."""
    base = _context(info, "base_dir")
    if base is None:
        return None
    return value if value.is_absolute() else Path(base) / value


def _not_found(path: Path) -> PydanticCustomError:
    return PydanticCustomError(
        "file_missing", "file not found: {path} (paths are relative to the profile)", {"path": str(path)}
    )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read_regular_file(path: Path, limit: int, what: str, *, head: int | None = None) -> bytes:
    """The bytes of *path* (its first *head* bytes if given): a regular file of at most *limit* bytes.

    Raises a PydanticCustomError naming the problem. The file is opened without blocking and checked
    with fstat before anything is read, so a pipe, a device (/dev/zero) or a folder never hangs a build.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _not_found(path) from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or "the name is not valid"
        raise PydanticCustomError(
            "file_unreadable", "cannot read {path}: {reason}", {"path": str(path), "reason": reason}
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PydanticCustomError(
                "file_kind",
                "{path} is {kind}, not a file; give the path of {what}",
                {"path": str(path), "kind": _kind(info.st_mode), "what": what},
            )
        if info.st_size > limit:
            raise PydanticCustomError(
                "file_size",
                "{path} is {size} bytes; {what} may be at most {limit} bytes",
                {"path": str(path), "size": f"{info.st_size:,}", "what": what, "limit": f"{limit:,}"},
            )
        wanted = limit + 1 if head is None else head
        chunks: list[bytes] = []
        size = 0
        while size < wanted and (chunk := os.read(fd, min(wanted - size, 1 << 20))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise PydanticCustomError(
            "file_unreadable", "cannot read {path}: {reason}", {"path": str(path), "reason": error.strerror}
        ) from None
    finally:
        os.close(fd)
    if size > limit:  # it grew since fstat
        raise PydanticCustomError(
            "file_size",
            "{path} is more than {limit} bytes; {what} may be at most {limit} bytes",
            {"path": str(path), "what": what, "limit": f"{limit:,}"},
        )
    return b"".join(chunks)


def _image_problem(path: Path, data: bytes) -> PydanticCustomError | None:
    """Why *data* cannot be the logo: not PNG or JPEG, no pixels or too many, damaged or cut short, or
    a kind of PNG or JPEG the DOCX writer cannot embed. The pixels are counted from the header before
    anything is decoded; a JPEG is then decoded at an eighth of its size, which reads every byte of it
    in little memory, and a PNG has the checksum of every chunk verified."""
    kind = "PNG" if data[:8] == b"\x89PNG\r\n\x1a\n" else "JPEG" if data[:3] == b"\xff\xd8\xff" else None
    if kind is None:
        return PydanticCustomError(
            "logo_format",
            "{path} is not a PNG or JPEG image; save the logo as PNG or JPEG "
            "(SVG, GIF and other formats cannot be embedded in Word documents)",
            {"path": str(path)},
        )
    import io
    import warnings

    from PIL import Image  # only for a profile with a logo

    damaged = PydanticCustomError(
        "logo_damaged",
        "{path} is not a complete {kind} image: it is damaged or cut short; "
        "save it again from your image editor",
        {"path": str(path), "kind": kind},
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we count the pixels ourselves
            image = Image.open(io.BytesIO(data), formats=[kind])
    except Image.DecompressionBombError:
        return _too_many_pixels(path, f"has more than {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels")
    except Exception:  # Pillow raises many kinds for a damaged header
        return damaged
    with image:
        width, height = image.size
        if not width or not height or width * height > MAX_LOGO_PIXELS:
            return _too_many_pixels(path, f"is {width} x {height} pixels")
        try:
            if kind == "PNG":
                image.verify()
            else:
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
        except Exception:  # Pillow raises many kinds for a damaged file
            return damaged
    from qmsdocs.writers.docx.images import ImageFormatError, image_info

    try:
        image_info(data)
    except ImageFormatError as error:  # one the writer cannot size (e.g. a lossless JPEG)
        return PydanticCustomError(
            "logo_format",
            "{path} cannot be embedded in Word documents: {reason}; save the logo as PNG or as a "
            "baseline JPEG",
            {"path": str(path), "reason": str(error)},
        )
    return None


def _too_many_pixels(path: Path, size: str) -> PydanticCustomError:
    return PydanticCustomError(
        "logo_size",
        "{path} {size}; a logo may have at most {limit} pixels (and at least one): scale it",
        {"path": str(path), "size": size, "limit": f"{MAX_LOGO_PIXELS:,}"},
    )


def _check_logo(value: Path, info: ValidationInfo) -> Path:
    path = _where(value, info)
    if path is None:
        return value
    data = read_regular_file(path, MAX_LOGO_BYTES, "a logo (PNG or JPEG)")
    problem = _image_problem(path, data)
    if problem is not None:
        raise problem
    return path


def _check_reference(value: Path, info: ValidationInfo) -> Path:
    path = _where(value, info)
    if path is None:
        return value
    head = read_regular_file(path, MAX_REFERENCE_BYTES, "a reference Word document (.docx)", head=4)
    if head != b"PK\x03\x04":
        raise PydanticCustomError(
            "docx_format",
            "{path} is not a Word document (.docx); save the house style from Word as .docx",
            {"path": str(path)},
        )
    return path


def _check_folder(value: Path, info: ValidationInfo) -> Path:
    path = _where(value, info)
    if path is None:
        return value
    base = Path(_context(info, "base_dir"))
    try:
        real = path.resolve()
        home_dir = _home()
        if not real.is_dir():
            if not real.exists():
                raise PydanticCustomError(
                    "folder_missing",
                    "folder not found: {path} (paths are relative to the profile)",
                    {"path": str(path)},
                )
            raise PydanticCustomError("folder_kind", "{path} is not a folder", {"path": str(path)})
        profile_dir = base.resolve()
    except OSError as error:
        raise PydanticCustomError(
            "file_unreadable", "cannot read {path}: {reason}", {"path": str(path), "reason": error.strerror}
        ) from None
    if real == Path(real.anchor) or real == home_dir:
        raise PydanticCustomError(
            "folder_place",
            "{path} is {which}, not a template folder: name the folder that holds the client's templates, "
            "inside or beside the profile's folder",
            {
                "path": str(path),
                "which": "the file-system root" if real == Path(real.anchor) else "your home folder",
            },
        )
    if real != profile_dir and not (real.is_relative_to(profile_dir.parent) and real != profile_dir.parent):
        raise PydanticCustomError(
            "folder_place",
            "{path} is neither inside the profile's folder ({inside}) nor beside it (inside {beside}); "
            "move the client's templates there, or give another folder with --templates",
            {"path": str(path), "inside": str(profile_dir), "beside": str(profile_dir.parent)},
        )
    return path


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, OSError, KeyError):  # no HOME and no password entry
        return None


def _path_length(value: Any) -> Any:
    if isinstance(value, str) and len(value) > PATH_CHARS:
        raise PydanticCustomError(
            "path_too_long",
            "too long: a path of {length} characters; at most {limit} are allowed",
            {"length": f"{len(value):,}", "limit": f"{PATH_CHARS:,}"},
        )
    return value


def _check_prefix(value: str) -> str:
    if value and not re.fullmatch(PREFIX_PATTERN, value):
        raise PydanticCustomError(
            "prefix",
            "'{value}' is not a document-number prefix: use 1 to 12 letters (A-Z), digits and hyphens, "
            'starting and ending with a letter or digit, e.g. "ACME"',
            {"value": value},
        )
    return value.upper()


def default_prefix(name: str) -> str:
    """The initials of *name* in plain ASCII letters and digits (Östgöta Åkeri AB -> OAA), at most 8;
    "QMS" when none is left. A document number ends up in file names and in every document."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    initials = "".join(word[0] for word in plain.split() if word[0].isalnum()).upper()
    return initials[:8] or "QMS"


FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)


def _check_date(value: dt.date) -> dt.date:
    # review dates and due dates are computed from these: year 9999 plus a year is no date at all
    if not FIRST_DATE <= value <= LAST_DATE:
        raise PydanticCustomError(
            "date_range",
            "{value} is not a date a QMS document can carry: give one from {first} to {last}",
            {"value": value.isoformat(), "first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()},
        )
    return value


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


_PATH_SCHEMA = {"maxLength": PATH_CHARS}
PersonRef = Annotated[str, Field(max_length=NAME_CHARS), AfterValidator(_check_person)]
ProcessRef = Annotated[str, Field(max_length=NAME_CHARS), AfterValidator(_check_process)]
LogoFile = Annotated[
    Path, BeforeValidator(_path_length), AfterValidator(_check_logo), Field(json_schema_extra=_PATH_SCHEMA)
]
ReferenceFile = Annotated[
    Path,
    BeforeValidator(_path_length),
    AfterValidator(_check_reference),
    Field(json_schema_extra=_PATH_SCHEMA),
]
TemplateFolder = Annotated[
    Path, BeforeValidator(_path_length), AfterValidator(_check_folder), Field(json_schema_extra=_PATH_SCHEMA)
]
Colour = Annotated[str, Field(max_length=NAME_CHARS), AfterValidator(_check_colour)]
Date = Annotated[dt.date, AfterValidator(_check_date)]
Prefix = Annotated[
    str,
    Field(max_length=NAME_CHARS, json_schema_extra={"pattern": "^$|" + PREFIX_PATTERN}),
    AfterValidator(_check_prefix),
]
Iso9004Clause = Annotated[str, Field(max_length=NAME_CHARS), AfterValidator(_check_9004)]
Level = Annotated[int, Field(ge=1, le=5)]
#: Required text: a name or short value; a sentence; a paragraph.
Name = Annotated[str, Field(min_length=1, max_length=NAME_CHARS)]
Text = Annotated[str, Field(min_length=1, max_length=LINE_CHARS)]
Paragraph = Annotated[str, Field(min_length=1, max_length=PARAGRAPH_CHARS)]
#: Optional text (may be empty), the same three lengths.
ShortStr = Annotated[str, Field(max_length=NAME_CHARS)]
LineStr = Annotated[str, Field(max_length=LINE_CHARS)]
ParagraphStr = Annotated[str, Field(max_length=PARAGRAPH_CHARS)]


class Model(BaseModel):
    """Base of every profile model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Site(Model):
    """A place where the organisation works, covered by the QMS."""

    id: Name = Field(description="Short identifier of the site, unique in the profile.")
    name: Name = Field(description="Name of the site.")
    address: LineStr = Field("", description="Postal address.")
    activities: tuple[LineStr, ...] = Field((), description="What is done at this site.")


class Organisation(Model):
    """Who the documents are for: name, what it does and where."""

    name: Name = Field(description="Legal or trading name.")
    short_name: ShortStr = Field("", description="Name for page headers. Default: `name`.")
    description: ParagraphStr = Field("", description="One paragraph on what the organisation does.")
    industry: ShortStr = Field("", description="Sector or industry.")
    employees: int | None = Field(None, ge=1, le=10_000_000, description="Number of people.")
    website: ShortStr = Field("", description="Web address.")
    address: LineStr = Field("", description="Registered or main address.")
    sites: tuple[Site, ...] = Field((), description="Sites covered by the QMS. Default: one main site.")

    @model_validator(mode="after")
    def _short_name(self) -> Organisation:
        if not self.short_name:
            object.__setattr__(self, "short_name", self.name)
        return self


class Exclusion(Model):
    """An ISO 9001:2015 requirement determined not applicable, with its justification (clause 4.3)."""

    clause: Name = Field(description='ISO 9001:2015 requirement determined not applicable, e.g. "8.3".')
    justification: Paragraph = Field(description="Why it cannot be applied within the scope (clause 4.3).")

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

    statement: Paragraph = Field(description="The scope of the QMS in one or two sentences (clause 4.3).")
    products_and_services: tuple[LineStr, ...] = Field(
        (), description="Types of products and services covered."
    )
    standard: Literal["ISO 9001:2015"] = Field("ISO 9001:2015", description="The requirements standard.")
    exclusions: tuple[Exclusion, ...] = Field(
        (), description="Requirements determined not applicable, each with a justification."
    )


class Person(Model):
    """Someone the documents name: as signatory, owner or responsible person."""

    name: Name = Field(description="Full name.")
    title: ShortStr = Field("", description="Job title.")
    email: ShortStr = Field("", description="E-mail address.")

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

    party: Name = Field(description="Who (customers, regulators, ...).")
    needs: tuple[LineStr, ...] = Field((), description="Their relevant needs and expectations (clause 4.2).")


class Context(Model):
    """The context of the organisation: issues and interested parties (clauses 4.1, 4.2)."""

    internal_issues: tuple[LineStr, ...] = Field((), description="Internal issues (clause 4.1).")
    external_issues: tuple[LineStr, ...] = Field((), description="External issues (clause 4.1).")
    interested_parties: tuple[InterestedParty, ...] = Field((), description="Interested parties (4.2).")


class Process(Model):
    """A process of the QMS and its interactions (clause 4.4)."""

    id: Name = Field(description="Short identifier, unique in the profile.")
    name: Name = Field(description="Name of the process.")
    type: Literal["management", "core", "support"] = Field("core", description="Kind of process.")
    owner: PersonRef | None = Field(None, description="Key of `people`: the process owner.")
    inputs: tuple[LineStr, ...] = Field((), description="Inputs of the process.")
    outputs: tuple[LineStr, ...] = Field((), description="Outputs of the process.")
    kpis: tuple[LineStr, ...] = Field((), description="Indicators that show how the process performs.")


DEFAULT_COMMITMENTS = (
    "Meet the requirements of our customers and the statutory and regulatory requirements that apply",
    "Set, review and pursue measurable quality objectives",
    "Continually improve the quality management system",
)


class QualityPolicy(Model):
    """The quality policy (clause 5.2)."""

    commitments: tuple[LineStr, ...] = Field(
        DEFAULT_COMMITMENTS, description="Commitments of the policy (5.2)."
    )
    approved_by: PersonRef | None = Field(None, description="Default: `roles.top_management`.")
    date: Date | None = Field(None, description="Date of approval. Default: the effective date.")


class QualityObjective(Model):
    """A measurable quality objective and how it is tracked (clause 6.2)."""

    objective: Text = Field(description="What is to be achieved (clause 6.2).")
    indicator: Text = Field(description="How it is measured.")
    target: Name = Field(description='The target, e.g. ">= 96 %".')
    frequency: ShortStr = Field("monthly", description="How often it is measured.")
    owner: PersonRef | None = Field(None, description="Key of `people`. Default: the quality manager.")
    process: ProcessRef | None = Field(None, description="Id of the process it belongs to.")


class Risk(Model):
    """A risk and its treatment (clause 6.1)."""

    description: Text = Field(description="The risk (clause 6.1).")
    likelihood: Level = Field(description="1 (rare) to 5 (almost certain).")
    impact: Level = Field(description="1 (negligible) to 5 (severe).")
    treatment: LineStr = Field("", description="Action to address it.")
    owner: PersonRef | None = Field(None, description="Key of `people`.")

    @property
    def score(self) -> int:
        """Likelihood x impact, 1 to 25."""
        return self.likelihood * self.impact


class Opportunity(Model):
    """An opportunity and who pursues it (clause 6.1)."""

    description: Text = Field(description="The opportunity (clause 6.1).")
    benefit: LineStr = Field("", description="What it would bring.")
    owner: PersonRef | None = Field(None, description="Key of `people`.")


class Complaints(Model):
    """How complaints are handled (ISO 10002; clause 9.1.2)."""

    acknowledge_within_days: int = Field(
        2, ge=1, le=365, description="Working days to acknowledge a complaint."
    )
    resolve_within_days: int = Field(20, ge=1, le=365, description="Working days to close a complaint.")
    owner: PersonRef | None = Field(None, description="Default: the quality manager.")


class CustomerSatisfaction(Model):
    """How customer satisfaction is monitored (ISO 10004; clause 9.1.2)."""

    methods: tuple[LineStr, ...] = Field(
        ("Annual customer survey", "Complaint analysis"),
        description="How satisfaction is monitored (ISO 10004).",
    )
    survey_frequency: ShortStr = Field("annually", description="How often customers are surveyed.")
    scale: ShortStr = Field(
        "1 (very dissatisfied) to 5 (very satisfied)", description="Rating scale of surveys."
    )
    indicators: tuple[LineStr, ...] = Field(
        ("Overall satisfaction score",), description="Satisfaction indicators."
    )
    target_score: float | None = Field(
        None, allow_inf_nan=False, description="Target for the overall score on the scale."
    )
    owner: PersonRef | None = Field(None, description="Default: the quality manager.")
    complaints: Complaints = Field(default_factory=Complaints, description="Complaints handling (ISO 10002).")


class InternalAudit(Model):
    """The internal audit programme (clause 9.2)."""

    frequency: LineStr = Field("Every process at least once a year", description="Audit programme frequency.")
    lead_auditor: PersonRef | None = Field(None, description="Default: `roles.internal_audit_lead`.")
    auditors: tuple[PersonRef, ...] = Field((), description="Keys of `people` trained as auditors.")


class ManagementReview(Model):
    """Management review (clause 9.3)."""

    frequency: ShortStr = Field("once a year", description="How often top management reviews the QMS.")
    chair: PersonRef | None = Field(None, description="Default: `roles.top_management`.")


class DocumentControl(Model):
    """Numbering, approval and review of the generated documents (clause 7.5)."""

    prefix: Prefix = Field(
        "",
        description="Prefix of document numbers: 1 to 12 letters (A-Z, upper-cased), digits and hyphens, "
        "starting and ending with a letter or digit. Default: the initials of the organisation's name "
        "in plain letters (at most 8; `QMS` when it has none).",
    )
    approver: PersonRef | None = Field(None, description="Approves documents. Default: top management.")
    reviewer: PersonRef | None = Field(None, description="Reviews documents. Default: the quality manager.")
    effective_date: Date | None = Field(
        None, description="Effective date of this issue. Default: build date."
    )
    revision: ShortStr = Field("1", description="Revision of this issue of the document set.")
    review_interval_months: int = Field(12, ge=1, le=60, description="Months between reviews.")
    classification: ShortStr = Field("Internal", description="Classification printed in every footer.")


class Element(Model):
    """The rating of one ISO 9004:2018 self-assessment element."""

    level: Level = Field(description="Current maturity, 1 (base) to 5 (best practice).")
    target: Level | None = Field(None, description="Target level. Default: `default_target`.")
    evidence: ParagraphStr = Field("", description="What the rating is based on.")
    importance: int = Field(2, ge=1, le=3, description="1 (low) to 3 (high); weights the priority.")
    actions: tuple[LineStr, ...] = Field((), description="Planned actions; default: a built-in suggestion.")


class SelfAssessment(Model):
    """An ISO 9004:2018 self-assessment; when present, the improvement plan and report are added."""

    date: Date = Field(description="Date of the assessment.")
    assessors: tuple[PersonRef, ...] = Field((), description="Keys of `people` who assessed.")
    default_target: Level = Field(4, description="Target level for elements without one.")
    elements: dict[Iso9004Clause, Element] = Field(
        default_factory=dict, description="Ratings keyed by ISO 9004:2018 clause (5.2 ... 11.4)."
    )


class Branding(Model):
    """Look of the generated Word documents."""

    logo: LogoFile | None = Field(
        None,
        description="Logo image, relative to the profile: a PNG or JPEG file of at most "
        f"{MAX_LOGO_BYTES:,} bytes and {MAX_LOGO_PIXELS:,} pixels.",
    )
    primary_colour: Colour = Field("#1F4E79", description="Heading colour of the built-in style.")
    reference_docx: ReferenceFile | None = Field(
        None,
        description=f"House-style Word file (.docx, at most {MAX_REFERENCE_BYTES:,} bytes); "
        "wins over colour.",
    )


class Output(Model):
    """What a build writes."""

    formats: tuple[Literal["docx", "md"], ...] = Field(("docx", "md"), description="Formats to write.")


class Profile(Model):
    """An organisation described once: everything the documents are written from."""

    schema_version: Literal[1] = Field(description="Profile format version; this is version 1.")
    organisation: Organisation = Field(description="The organisation whose QMS is documented.")
    scope: Scope = Field(description="Scope of the QMS and requirements determined not applicable (4.3).")
    people: dict[Name, Person] = Field(description="Everyone the documents name, by a key of your choice.")
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
    templates: TemplateFolder | None = Field(
        None,
        description="Folder of client-specific templates (highest layer), relative to the profile: the "
        "profile's folder, a folder inside it or one beside it (in the same parent folder).",
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
        if not dc.prefix:
            object.__setattr__(dc, "prefix", default_prefix(self.organisation.name))
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
    "file_unreadable",
    "file_kind",
    "file_size",
    "logo_format",
    "logo_size",
    "logo_damaged",
    "docx_format",
    "folder_missing",
    "folder_kind",
    "folder_place",
    "path_too_long",
    "prefix",
    "date_range",
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
    text = str(value)
    return f"'{text[:60]}...'" if len(text) > 60 else f"'{text}'"  # never a whole 2 MB value


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
        elif kind == "string_too_long":
            mark = marks.find(loc, key=is_key)
            given = item.get("input")
            length = f"{len(given):,} characters" if isinstance(given, str) else "longer"
            limit = (item.get("ctx") or {}).get("max_length", 0)
            message = f"too long: {length}; at most {limit:,} are allowed here"
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
