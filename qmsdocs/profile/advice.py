"""Warnings for a valid but incomplete profile: where ISO 9001:2015 expects more than it says.

A build still produces honest text from the defaults; ``qmsdocs validate --strict`` turns these warnings
into errors.
"""

from __future__ import annotations

from collections.abc import Callable

from qmsdocs.errors import Problem
from qmsdocs.profile.models import Profile
from qmsdocs.profile.yamlsource import PathKey, format_path

#: Words in a process name that show the activity of an excludable clause: a process doing it
#: contradicts a claim that the clause cannot be applied.
_ACTIVITY_WORDS: dict[str, tuple[str, ...]] = {
    "8.3": ("design", "develop"),
    "7.1.5": ("calibrat", "metrolog"),
    "8.5.5": ("after-sales", "aftersales", "warranty", "post-delivery"),
}


def _quote(text: str, limit: int = 60) -> str:
    """*text* for a one-line warning: line breaks as spaces, cut after *limit* characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


#: Records one warning at the place of a field of the profile.
Warn = Callable[[PathKey, str], None]


def _design_and_measuring(profile: Profile, warn: Warn) -> None:
    """Warn when a process does what a clause determined not applicable is about (clause 4.3)."""
    for clause, words in _ACTIVITY_WORDS.items():
        if profile.applies(clause):
            continue
        for index, process in enumerate(profile.processes):
            text = f"{process.id} {process.name}".lower()
            if any(word in text for word in words):
                warn(
                    ("processes", index),
                    f"process '{process.id}' ({_quote(process.name)}) looks like an activity of "
                    f"clause {clause}, "
                    f"which scope.exclusions determines not applicable: check the justification (clause 4.3)",
                )


def advise(profile: Profile) -> list[Problem]:
    """Every warning for *profile*, each naming the field, its place in the file and the clause."""
    file = str(profile.source or "profile")
    warnings: list[Problem] = []

    def warn(path: PathKey, message: str) -> None:
        mark = profile.marks.find(path, key=True)
        line, column = mark if mark else (None, None)
        warnings.append(Problem(file, line, column, message, format_path(path)))

    _context(profile, warn)
    _design_and_measuring(profile, warn)
    _planning(profile, warn)
    _evaluation(profile, warn)
    return warnings


def _context(profile: Profile, warn: Warn) -> None:
    """Clause 4: issues, interested parties, scope, processes."""
    if not profile.context.internal_issues and not profile.context.external_issues:
        warn(("context",), "no internal or external issues: clause 4.1 expects them to be determined")
    if not profile.context.interested_parties:
        warn(("context",), "no interested parties: clause 4.2 expects their relevant requirements")
    if not profile.scope.products_and_services:
        warn(("scope",), "no products_and_services: clause 4.3 expects the scope to state their types")
    if not profile.processes:
        warn(("processes",), "no processes: clause 4.4 expects the processes of the QMS and their owners")
    for index, process in enumerate(profile.processes):
        if process.owner is None:
            warn(("processes", index), f"process '{process.id}' has no owner (clauses 4.4, 5.3)")
    for index, party in enumerate(profile.context.interested_parties):
        if not party.needs:
            warn(
                ("context", "interested_parties", index),
                f"interested party '{_quote(party.party)}' has no needs: "
                "clause 4.2 expects their relevant requirements",
            )


def _planning(profile: Profile, warn: Warn) -> None:
    """Clause 6: objectives, risks and opportunities."""
    if not profile.quality_objectives:
        warn(
            ("quality_objectives",),
            "no quality objectives: clause 6.2 requires measurable objectives "
            "(POL-02 then says they are set at the first management review)",
        )
    for index, objective in enumerate(profile.quality_objectives):
        if objective.owner is None:
            warn(
                ("quality_objectives", index),
                f"objective '{_quote(objective.objective)}' has no owner: "
                "clause 6.2.2 c) asks who is responsible (the quality manager is named)",
            )
    if not profile.risks and not profile.opportunities:
        warn(("risks",), "no risks or opportunities: clause 6.1 expects them to be determined")
    for index, risk in enumerate(profile.risks):
        if risk.owner is None:
            warn(
                ("risks", index),
                f"risk '{_quote(risk.description)}' has no owner: clause 6.1.2 (actions need an owner)",
            )
        if not risk.treatment.strip():
            warn(
                ("risks", index),
                f"risk '{_quote(risk.description)}' has no treatment: "
                "clause 6.1.2 a) expects actions to address it",
            )
    for index, opportunity in enumerate(profile.opportunities):
        if opportunity.owner is None:
            warn(
                ("opportunities", index),
                f"opportunity '{_quote(opportunity.description)}' has no owner: clause 6.1.2",
            )


def _evaluation(profile: Profile, warn: Warn) -> None:
    """Clauses 7.5 and 9: audit, review, customer satisfaction, document dates."""
    given = profile.model_fields_set
    if "internal_audit" not in given:
        warn(
            ("internal_audit",), "no internal audit programme: clause 9.2 needs its frequency (default used)"
        )
    auditors = set(profile.internal_audit.auditors) | {profile.internal_audit.lead_auditor}
    if len(auditors) < 2:
        warn(
            ("internal_audit",),
            "only one internal auditor: clause 9.2.2 c) needs an auditor independent "
            "of the auditor's own work; name a second auditor in internal_audit.auditors",
        )
    if "management_review" not in given:
        warn(("management_review",), "no management review frequency: clause 9.3 (default: once a year)")
    if "customer_satisfaction" not in given:
        warn(("customer_satisfaction",), "no customer satisfaction methods: clause 9.1.2 (defaults used)")
    if "document_control" not in given or "effective_date" not in profile.document_control.model_fields_set:
        warn(("document_control",), "no effective_date: documents take the date of the build (clause 7.5.2)")
