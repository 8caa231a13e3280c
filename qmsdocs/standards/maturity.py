"""The ISO 9004:2018 self-assessment as the documents use it: ratings, gaps, groups and a ranked plan.

Everything here is computed from the profile's ``self_assessment`` section; an element the profile does
not rate is reported as *not assessed* and never given a level. The improvement plan ranks the gaps by
``priority = gap x importance`` (ties in clause order) and gives each row an action, an owner, a due
date and an indicator (the rules are in :mod:`qmsdocs.standards.suggestions` and ``docs/assessment.md``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from statistics import mean

from qmsdocs.library.plan import add_months
from qmsdocs.profile.models import Person, Profile
from qmsdocs.standards import iso
from qmsdocs.standards.suggestions import indicator_for, owners_for, suggested_action

#: Months from the assessment date to the due date, by minimum priority (highest first).
DUE_MONTHS: tuple[tuple[int, int], ...] = ((6, 3), (4, 6), (2, 9), (0, 12))


@dataclass(frozen=True)
class ElementRating:
    """One rated element: where it is, where it should be, and why."""

    clause: str
    title: str
    group: str
    level: int
    target: int
    importance: int
    evidence: str
    actions: tuple[str, ...]

    @property
    def gap(self) -> int:
        """Levels still to climb (0 at or above target)."""
        return max(self.target - self.level, 0)

    @property
    def priority(self) -> int:
        """Gap weighted by importance: 0 (at target) to 12."""
        return self.gap * self.importance

    @property
    def is_strength(self) -> bool:
        """At or above its target, or at level 4 or 5."""
        return self.gap == 0 or self.level >= 4

    @property
    def is_weakness(self) -> bool:
        """Two or more levels short, or at level 1-2 while below target (never also a strength)."""
        return not self.is_strength and (self.gap >= 2 or self.level <= 2)


@dataclass(frozen=True)
class NotAssessed:
    """An element of the catalogue that the profile does not rate."""

    clause: str
    title: str
    group: str


@dataclass(frozen=True)
class GroupSummary:
    """One clause group (5 to 11) of ISO 9004:2018."""

    group: str
    title: str
    elements: tuple[ElementRating, ...]
    not_assessed: tuple[NotAssessed, ...]

    @property
    def assessed(self) -> bool:
        """True when at least one element of the group is rated."""
        return bool(self.elements)

    @property
    def mean_level(self) -> float:
        """Mean current level of the rated elements (0.0 when none is rated)."""
        return round(mean(e.level for e in self.elements), 1) if self.elements else 0.0

    @property
    def mean_target(self) -> float:
        """Mean target level of the rated elements (0.0 when none is rated)."""
        return round(mean(e.target for e in self.elements), 1) if self.elements else 0.0

    @property
    def lowest(self) -> tuple[ElementRating, ...]:
        """The rated element(s) with the lowest level."""
        if not self.elements:
            return ()
        low = min(e.level for e in self.elements)
        return tuple(e for e in self.elements if e.level == low)


@dataclass(frozen=True)
class PlanRow:
    """One ranked line of the improvement plan."""

    rank: int
    element: ElementRating
    actions: tuple[str, ...]
    suggested: bool  # True when the actions are the built-in suggestion, not the profile's own
    owners: tuple[Person, ...]  # the lead owner first
    due: dt.date
    indicator: str

    @property
    def owner(self) -> Person:
        """The person who leads the action."""
        return self.owners[0]


@dataclass(frozen=True)
class Assessment:
    """The computed self-assessment of one profile."""

    date: dt.date
    assessors: tuple[Person, ...]
    default_target: int
    elements: tuple[ElementRating, ...]
    not_assessed: tuple[NotAssessed, ...]
    groups: tuple[GroupSummary, ...]
    plan: tuple[PlanRow, ...]

    @property
    def strengths(self) -> tuple[ElementRating, ...]:
        """Elements at or above target, or at level 4 or more."""
        return tuple(e for e in self.elements if e.is_strength)

    @property
    def weaknesses(self) -> tuple[ElementRating, ...]:
        """Elements two or more levels short, or at level 1-2 below target."""
        return tuple(e for e in self.elements if e.is_weakness)

    @property
    def sustain(self) -> tuple[ElementRating, ...]:
        """Elements at or above target: strengths to sustain rather than improve."""
        return tuple(e for e in self.elements if e.gap == 0)

    @property
    def assessed_groups(self) -> tuple[GroupSummary, ...]:
        """The clause groups with at least one rated element."""
        return tuple(g for g in self.groups if g.assessed)


def group_of(clause: str) -> str:
    """The clause group of an ISO 9004 element ("10.3" -> "10")."""
    return clause.split(".", 1)[0]


def due_date(assessed_on: dt.date, priority: int) -> dt.date:
    """The due date of an action: higher priority, sooner (see :data:`DUE_MONTHS`)."""
    months = next(m for floor, m in DUE_MONTHS if priority >= floor)
    return add_months(assessed_on, months)


def ranked(elements: tuple[ElementRating, ...]) -> list[ElementRating]:
    """Elements with a gap, highest priority first; equal priorities in numeric clause order."""
    gaps = [e for e in elements if e.gap > 0]
    return sorted(gaps, key=lambda e: (-e.priority, iso.clause_sort_key(e.clause)))


def assess(profile: Profile) -> Assessment | None:
    """The computed self-assessment of *profile*, or None when it has no ``self_assessment`` section."""
    sa = profile.self_assessment
    if sa is None:
        return None
    rated: list[ElementRating] = []
    missing: list[NotAssessed] = []
    for clause, title in sorted(iso.ISO9004_ELEMENTS.items(), key=lambda kv: iso.clause_sort_key(kv[0])):
        element = sa.elements.get(clause)
        if element is None:
            missing.append(NotAssessed(clause, title, group_of(clause)))
            continue
        rated.append(
            ElementRating(
                clause=clause,
                title=title,
                group=group_of(clause),
                level=element.level,
                target=element.target if element.target is not None else sa.default_target,
                importance=element.importance,
                evidence=element.evidence,
                actions=element.actions,
            )
        )
    elements = tuple(rated)
    groups = tuple(
        GroupSummary(
            group=number,
            title=title,
            elements=tuple(e for e in elements if e.group == number),
            not_assessed=tuple(n for n in missing if n.group == number),
        )
        for number, title in iso.ISO9004_GROUPS.items()
    )
    rows = [
        PlanRow(
            rank=rank,
            element=gap,
            actions=gap.actions or (suggested_action(gap.clause, profile),),
            suggested=not gap.actions,
            owners=owners_for(gap.clause, profile),
            due=due_date(sa.date, gap.priority),
            indicator=indicator_for(gap.clause, gap.target, profile),
        )
        for rank, gap in enumerate(ranked(elements), start=1)
    ]
    return Assessment(
        date=sa.date,
        assessors=tuple(profile.person(key) for key in sa.assessors),
        default_target=sa.default_target,
        elements=elements,
        not_assessed=tuple(missing),
        groups=groups,
        plan=tuple(rows),
    )
