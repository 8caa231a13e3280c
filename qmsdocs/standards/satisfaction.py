"""Customer satisfaction monitoring (ISO 10004) as the documents use it: methods, indicators, survey scale.

The profile lists its methods and indicators in free text; this module sorts them by keywords into
*direct* methods (asking customers: surveys, interviews, focus groups) and *indirect* sources (what
customers do: complain, return, re-order, leave), adds the indirect sources every organisation has, and
turns the rating scale text ("1 (very dissatisfied) to 5 (very satisfied)") into tick-box points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qmsdocs.profile.models import Profile, QualityObjective

_DIRECT_WORDS = (
    "survey",
    "questionnaire",
    "interview",
    "focus group",
    "panel",
    "feedback",
    "card",
    "visit",
    "call",
    "poll",
    "rating",
    "review meeting",
    "mystery",
)
_INDIRECT_WORDS = (
    "complaint",
    "return",
    "warranty",
    "repeat",
    "re-order",
    "reorder",
    "order",
    "lost",
    "compliment",
    "market share",
    "churn",
    "claim",
    "cancel",
    "renewal",
)
_NPS_WORDS = ("net promoter", "nps", "recommend")
_CUSTOMER_WORDS = ("satisf", "customer", "complain", "warranty", "return", "promoter", "loyal")

#: Indirect sources every organisation has, whether or not the profile names them.
ALWAYS_INDIRECT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Complaints", ("complaint",)),
    ("Returns", ("return",)),
    ("Warranty claims", ("warranty", "claim")),
    ("Repeat orders", ("repeat", "re-order", "reorder")),
    ("Lost customers", ("lost", "churn", "cancel")),
    ("Compliments", ("compliment",)),
)


@dataclass(frozen=True)
class ScalePoint:
    """One point of the rating scale, with its label where the profile gives one."""

    value: int
    label: str

    def __str__(self) -> str:
        return f"{self.value} {self.label}".strip()


@dataclass(frozen=True)
class Indicator:
    """A satisfaction indicator and how it is measured: "survey", "nps" or "records"."""

    name: str
    kind: str

    @property
    def topic(self) -> str:
        """The indicator as a survey topic ("Overall satisfaction score" -> "Overall satisfaction")."""
        return re.sub(r"\s+(score|index|rating)$", "", self.name.strip(), flags=re.IGNORECASE)

    @property
    def subject(self) -> str:
        """What a survey question asks about, lower case; "" for overall satisfaction."""
        words = re.sub(r"\b(overall|satisfaction|customer|with)\b", " ", self.topic, flags=re.IGNORECASE)
        text = " ".join(words.split())
        return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class SatisfactionPlan:
    """What PLN-02, FRM-01 and QP-15 need to know about customer satisfaction monitoring."""

    direct: tuple[str, ...]
    indirect: tuple[str, ...]  # the profile's own indirect methods
    added_indirect: tuple[str, ...]  # sources every organisation has that the profile did not name
    other: tuple[str, ...]  # methods neither list recognises (shown as given)
    indicators: tuple[Indicator, ...]
    scale: tuple[ScalePoint, ...]
    objectives: tuple[QualityObjective, ...]  # quality objectives about customers and their satisfaction

    @property
    def survey_indicators(self) -> tuple[Indicator, ...]:
        """Indicators that a questionnaire measures directly (rating questions)."""
        return tuple(i for i in self.indicators if i.kind == "survey")

    @property
    def record_indicators(self) -> tuple[Indicator, ...]:
        """Indicators computed from records (complaints, returns, orders), not asked in the survey."""
        return tuple(i for i in self.indicators if i.kind == "records")

    @property
    def nps(self) -> bool:
        """True when an indicator is a net promoter score (the survey then asks the 0-10 question)."""
        return any(i.kind == "nps" for i in self.indicators)


def _has(text: str, words: tuple[str, ...]) -> bool:
    lower = text.lower()
    return any(re.search(rf"\b{re.escape(w)}", lower) for w in words)


def classify_indicator(name: str) -> Indicator:
    """Sort an indicator: net promoter score, a records-based figure, or a survey rating."""
    if _has(name, _NPS_WORDS):
        return Indicator(name, "nps")
    if _has(name, _INDIRECT_WORDS) or re.search(r"\bper\s+\d+", name.lower()):
        return Indicator(name, "records")
    return Indicator(name, "survey")


def parse_scale(text: str) -> tuple[ScalePoint, ...]:
    """Tick-box points of a scale like "1 (very dissatisfied) to 5 (very satisfied)" or "0-10"."""
    labelled = re.match(r"\s*(\d+)\s*\(([^)]*)\)\s*(?:to|-|–)\s*(\d+)\s*\(([^)]*)\)", text)
    plain = re.match(r"\s*(\d+)\s*(?:to|-|–)\s*(\d+)", text)
    if labelled:
        low, low_label, high, high_label = labelled.groups()
    elif plain:
        (low, high), low_label, high_label = plain.groups(), "", ""
    else:
        low, high, low_label, high_label = "1", "5", "", ""
    first, last = int(low), int(high)
    if not 0 <= first < last <= first + 10:  # unusable scale text: fall back to a plain five-point scale
        first, last, low_label, high_label = 1, 5, "", ""
    return tuple(
        ScalePoint(v, low_label.strip() if v == first else high_label.strip() if v == last else "")
        for v in range(first, last + 1)
    )


def satisfaction_plan(profile: Profile) -> SatisfactionPlan:
    """Methods sorted into direct and indirect, indicators classified, the scale parsed."""
    cs = profile.customer_satisfaction
    direct, indirect, other = [], [], []
    for method in cs.methods:
        if _has(method, _INDIRECT_WORDS):
            indirect.append(method)
        elif _has(method, _DIRECT_WORDS):
            direct.append(method)
        else:
            other.append(method)
    added = tuple(name for name, words in ALWAYS_INDIRECT if not any(_has(m, words) for m in indirect))
    return SatisfactionPlan(
        direct=tuple(direct),
        indirect=tuple(indirect),
        added_indirect=added,
        other=tuple(other),
        indicators=tuple(classify_indicator(i) for i in cs.indicators),
        scale=parse_scale(cs.scale),
        objectives=tuple(
            o
            for o in profile.quality_objectives
            if any(w in f"{o.objective} {o.indicator}".lower() for w in _CUSTOMER_WORDS)
        ),
    )
