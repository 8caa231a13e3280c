"""Warnings for a valid but incomplete profile: where ISO 9001:2015 expects more than it says.

A build still produces honest text from the defaults; ``qmsdocs validate --strict`` turns these warnings
into errors.
"""

from __future__ import annotations

from qmsdocs.errors import Problem
from qmsdocs.profile import Profile
from qmsdocs.yamlsource import PathKey, format_path


def advise(profile: Profile) -> list[Problem]:
    """Every warning for *profile*, each naming the field, its place in the file and the clause."""
    file = str(profile.source or "profile")
    warnings: list[Problem] = []

    def warn(path: PathKey, message: str) -> None:
        mark = profile.marks.find(path, key=True)
        line, column = mark if mark else (None, None)
        warnings.append(Problem(file, line, column, message, format_path(path)))

    given = profile.model_fields_set
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
    if not profile.quality_objectives:
        warn(("quality_objectives",), "no quality objectives: clause 6.2 requires measurable objectives")
    if not profile.risks and not profile.opportunities:
        warn(("risks",), "no risks or opportunities: clause 6.1 expects them to be determined")
    if "internal_audit" not in given:
        warn(("internal_audit",), "no internal audit programme: clause 9.2 needs its frequency (default used)")
    if "management_review" not in given:
        warn(("management_review",), "no management review frequency: clause 9.3 (default: once a year)")
    if "customer_satisfaction" not in given:
        warn(("customer_satisfaction",), "no customer satisfaction methods: clause 9.1.2 (defaults used)")
    if "document_control" not in given or "effective_date" not in profile.document_control.model_fields_set:
        warn(("document_control",), "no effective_date: documents take the date of the build (clause 7.5.2)")
    return warnings
