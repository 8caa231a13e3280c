"""Clause catalogues of the standards qmsdocs writes to.

Clause numbers and short titles only, in our own words: the standards' text is copyrighted and never
reproduced here.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: ISO 9001:2015 clauses 4.1 to 10.3 at the depth the clause matrix lists, with short titles.
ISO9001_CLAUSES: dict[str, str] = {
    "4.1": "Understanding the organisation and its context",
    "4.2": "Needs and expectations of interested parties",
    "4.3": "Scope of the quality management system",
    "4.4": "Quality management system and its processes",
    "5.1": "Leadership and commitment",
    "5.2": "Quality policy",
    "5.3": "Roles, responsibilities and authorities",
    "6.1": "Actions to address risks and opportunities",
    "6.2": "Quality objectives and planning to achieve them",
    "6.3": "Planning of changes",
    "7.1.1": "Resources: general",
    "7.1.2": "People",
    "7.1.3": "Infrastructure",
    "7.1.4": "Environment for the operation of processes",
    "7.1.5": "Monitoring and measuring resources",
    "7.1.6": "Organisational knowledge",
    "7.2": "Competence",
    "7.3": "Awareness",
    "7.4": "Communication",
    "7.5": "Documented information",
    "8.1": "Operational planning and control",
    "8.2": "Requirements for products and services",
    "8.3": "Design and development of products and services",
    "8.4": "Control of externally provided processes, products and services",
    "8.5.1": "Control of production and service provision",
    "8.5.2": "Identification and traceability",
    "8.5.3": "Property belonging to customers or external providers",
    "8.5.4": "Preservation",
    "8.5.5": "Post-delivery activities",
    "8.5.6": "Control of changes",
    "8.6": "Release of products and services",
    "8.7": "Control of nonconforming outputs",
    "9.1.1": "Monitoring, measurement, analysis and evaluation: general",
    "9.1.2": "Customer satisfaction",
    "9.1.3": "Analysis and evaluation",
    "9.2": "Internal audit",
    "9.3": "Management review",
    "10.1": "Improvement: general",
    "10.2": "Nonconformity and corrective action",
    "10.3": "Continual improvement",
}

#: Requirements that can, in practice, be determined not applicable (ISO 9001:2015 clause 4.3).
#: Sub-clauses of these are excludable too; "8.5.1 f" is the special-process item of 8.5.1.
EXCLUDABLE: dict[str, str] = {
    "7.1.5": "no monitoring or measuring is needed to show conformity of products and services",
    "7.1.5.1": "no monitoring or measuring resources are used to show conformity",
    "7.1.5.2": "no measurement traceability is required by customers, regulation or the organisation",
    "8.3": "the organisation does not design or develop products or services",
    "8.5.1 f": "no process output can only be verified after use (no special processes)",
    "8.5.3": "the organisation never holds property of customers or external providers",
    "8.5.5": "there are no activities after delivery",
}

_CLAUSE_RE = re.compile(r"^(\d+(?:\.\d+)*)\s*(?:([a-z])\)?)?$")


def normalise_clause(text: str) -> str:
    """Return the canonical spelling of a clause reference: "8.5.1f)" -> "8.5.1 f"."""
    match = _CLAUSE_RE.match(text.strip())
    if not match:
        return text.strip()
    number, item = match.groups()
    return f"{number} {item}" if item else number


def clause_parent(clause: str) -> str | None:
    """The clause one level up ("8.3.2" -> "8.3", "8.5.1 f" -> "8.5.1"), or None at the top."""
    if " " in clause:
        return clause.split(" ", 1)[0]
    return clause.rsplit(".", 1)[0] if "." in clause else None


@lru_cache(maxsize=8192)  # pure, and asked the same question for every document of every set
def is_within(clause: str, ancestor: str) -> bool:
    """True when *clause* is *ancestor* or one of its sub-clauses or items."""
    current: str | None = clause
    while current is not None:
        if current == ancestor:
            return True
        current = clause_parent(current)
    return False


def is_known_9001_clause(clause: str) -> bool:
    """True for any clause number of ISO 9001:2015 from 4 to 10 (at any depth we list or below)."""
    if clause in ISO9001_CLAUSES or clause in EXCLUDABLE:
        return True
    parent = clause_parent(clause)
    return parent is not None and is_known_9001_clause(parent) and bool(re.fullmatch(r"[\d. a-z]+", clause))


#: ISO 9004:2018 clause groups 5 to 11 and the elements self-assessed under each (Annex A).
ISO9004_GROUPS: dict[str, str] = {
    "5": "Context of an organization",
    "6": "Identity of an organization",
    "7": "Leadership",
    "8": "Process management",
    "9": "Resource management",
    "10": "Analysis and evaluation of performance",
    "11": "Improvement, learning and innovation",
}

ISO9004_ELEMENTS: dict[str, str] = {
    "5.2": "Relevant interested parties",
    "5.3": "External and internal issues",
    "6.2": "Mission, vision, values and culture",
    "7.2": "Policy and strategy",
    "7.3": "Objectives",
    "7.4": "Communication",
    "8.1": "Process management: general",
    "8.2": "Determination of processes",
    "8.3": "Responsibility and authority for processes",
    "8.4": "Managing processes",
    "9.2": "People",
    "9.3": "Organizational knowledge",
    "9.4": "Technology",
    "9.5": "Infrastructure and work environment",
    "9.6": "Externally provided resources",
    "9.7": "Natural resources",
    "10.2": "Performance indicators",
    "10.3": "Performance analysis",
    "10.4": "Evaluation of performance",
    "10.5": "Internal audit",
    "10.6": "Self-assessment",
    "10.7": "Reviews",
    "11.2": "Improvement",
    "11.3": "Learning",
    "11.4": "Innovation",
}


def clause_sort_key(clause: str) -> tuple[int | str, ...]:
    """Sort clauses numerically ("9.2" before "10.1"; "8.5.1" before "8.5.1 f")."""
    number, _, item = clause.partition(" ")
    return (*(int(part) for part in number.split(".") if part.isdigit()), item)
