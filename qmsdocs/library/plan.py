"""Which documents a profile gets: applicability, requirements, numbering and document control."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from qmsdocs.errors import CoverageError, TemplateError
from qmsdocs.library.layers import CATEGORY_ORDER, TemplateInfo, TemplateLibrary
from qmsdocs.profile.models import Person, Profile, Roles
from qmsdocs.standards import iso
from qmsdocs.writers.meta import DocumentMeta, Revision, Signatory


@dataclass(frozen=True)
class DocumentSpec:
    """One document of the set: the template to render and the document's identity."""

    template: TemplateInfo
    meta: DocumentMeta


@dataclass(frozen=True)
class Omission:
    """A document left out of the set, with the reason (shown in the manifest and the master list)."""

    id: str
    title: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The document set of one profile."""

    documents: tuple[DocumentSpec, ...]
    omitted: tuple[Omission, ...]

    def get(self, doc_id: str) -> DocumentSpec | None:
        """The document with this id, or None when it is not in the set."""
        return self._by_id.get(doc_id)

    @cached_property
    def _by_id(self) -> dict[str, DocumentSpec]:  # templates look documents up by id thousands of times
        return {spec.meta.id: spec for spec in self.documents}


def add_months(day: dt.date, months: int) -> dt.date:
    """*day* plus *months*, clamped to the end of a shorter month (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def signatory(person: Person) -> Signatory:
    """A profile person as a document-control signatory."""
    return Signatory(person.name, person.title)


def _omission_reason(profile: Profile, info: TemplateInfo) -> str | None:
    for clause in info.front.depends_on:
        if not profile.applies(clause):
            excluded = next(c for c in profile.excluded if iso.is_within(iso.normalise_clause(clause), c))
            return f"clause {excluded} is determined not applicable: {profile.excluded[excluded]}"
    for section in info.front.requires:
        if not getattr(profile, section, None):
            return f"the profile has no '{section}' section"
    return None


def document_meta(profile: Profile, info: TemplateInfo, display_name: str) -> DocumentMeta:
    """The identity and document-control data of one document of *profile*."""
    front = info.front
    if front.owner not in Roles.model_fields:
        raise TemplateError(
            display_name,
            2,
            f"front matter: owner '{front.owner}' is not a role ({', '.join(Roles.model_fields)})",
        )
    dc = profile.document_control
    effective = dc.effective_date or dt.date.today()
    owner = signatory(profile.person(getattr(profile.roles, front.owner)))
    return DocumentMeta(
        id=front.id,
        number=f"{dc.prefix}-{front.id}",
        title=front.title,
        category=front.category,
        clauses=front.clauses,
        revision=dc.revision,
        effective_date=effective,
        next_review=add_months(effective, dc.review_interval_months),
        classification=dc.classification,
        organisation=profile.organisation.name,
        short_name=profile.organisation.short_name,
        owner=owner,
        prepared_by=owner,
        reviewed_by=signatory(profile.person(dc.reviewer or profile.roles.quality_manager)),
        approved_by=signatory(profile.person(dc.approver or profile.roles.top_management)),
        revisions=(
            Revision(dc.revision, effective, "Initial issue" if dc.revision == "1" else "Issue", owner.name),
        ),
        template=display_name,
        subject=f"{profile.scope.standard} quality management system",
        logo=profile.branding.logo,
        primary_colour=profile.branding.primary_colour,
        base_dir=profile.source.parent if profile.source else None,
        image_dirs=() if info.layer == "builtin" else (Path(info.layer),),
        keywords=tuple(f"ISO 9001:2015 {clause}" for clause in front.clauses),
    )


def plan(profile: Profile, library: TemplateLibrary) -> Plan:
    """Decide the document set of *profile*: every applicable document template, in a stable order."""
    documents: list[DocumentSpec] = []
    omitted: list[Omission] = []
    for info in library.templates().values():
        reason = _omission_reason(profile, info)
        if reason:
            omitted.append(Omission(info.front.id, info.front.title, reason))
            continue
        display = library.display_name(info.layer, info.path)
        documents.append(DocumentSpec(info, document_meta(profile, info, display)))
    documents.sort(key=lambda spec: (CATEGORY_ORDER.index(spec.meta.category), spec.meta.id))
    omitted.sort(key=lambda o: o.id)
    return Plan(tuple(documents), tuple(omitted))


#: Documents that list every clause (the manual's clause sections, the cross-reference matrix): they
#: summarise coverage and must not count as covering a clause themselves.
COVERAGE_EXEMPT: tuple[str, ...] = ("QM-01", "REG-03")


def _addresses(clauses: tuple[str, ...], clause: str) -> bool:
    return any(iso.is_within(c, clause) or iso.is_within(clause, c) for c in clauses)


def uncovered_clauses(profile: Profile, the_plan: Plan) -> list[str]:
    """Applicable ISO 9001:2015 clauses (4.1 to 10.3) that no document of the set addresses."""
    counted = [spec for spec in the_plan.documents if spec.meta.id not in COVERAGE_EXEMPT]
    return [
        clause
        for clause in iso.ISO9001_CLAUSES
        if profile.applies(clause) and not any(_addresses(spec.meta.clauses, clause) for spec in counted)
    ]


def _nearest_templates(clause: str, the_plan: Plan) -> list[DocumentSpec]:
    """Documents addressing the closest clauses (same parent clause first): where the clause likely
    belongs."""
    counted = [spec for spec in the_plan.documents if spec.meta.id not in COVERAGE_EXEMPT]
    parent = iso.clause_parent(clause)
    while parent is not None:
        near = [spec for spec in counted if any(iso.is_within(c, parent) for c in spec.meta.clauses)]
        if near:
            return near
        parent = iso.clause_parent(parent)
    return []


def check_coverage(profile: Profile, the_plan: Plan) -> None:
    """Raise CoverageError when an applicable clause has no document in *the_plan* (QM-01, REG-03 aside)."""
    missing = uncovered_clauses(profile, the_plan)
    if not missing:
        return
    hints = []
    for clause in missing:
        near = _nearest_templates(clause, the_plan)
        where = (
            " or ".join(f"{spec.meta.template} ({spec.meta.id})" for spec in near[:2])
            if near
            else "a template of a --templates layer"
        )
        hints.append(
            f'- {clause} {iso.ISO9001_CLAUSES[clause]}: add "{clause}" to the clauses: front matter '
            f"of {where}"
        )
    message = (
        f"no document of the set addresses {len(missing)} applicable ISO 9001:2015 "
        f"clause{'s' if len(missing) > 1 else ''}: {', '.join(missing)}\n" + "\n".join(hints)
    )
    if any(iso.is_within(clause, excludable) for clause in missing for excludable in iso.EXCLUDABLE):
        message += (
            "\n(a requirement that cannot be applied within the scope is declared under "
            "scope.exclusions, with a justification)"
        )
    raise CoverageError(str(profile.source or profile.organisation.name), missing, message)
