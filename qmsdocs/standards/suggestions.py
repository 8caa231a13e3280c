"""Built-in content of the improvement plan: who owns an ISO 9004 element, what to do, how to see progress.

Used where the profile gives no ``actions`` of its own. Every text is our own wording (no ISO text) and
is written from the profile: its interested parties, issues, processes and their owners, so that a plan
row says something about *this* organisation.

Owner rule: an element is mapped to process keywords (9.6 -> purchasing/supplier, 9.2 -> people/
training/competence, ...); the owner of the first profile process whose id or name contains one of
them leads the action. Leadership elements (5.x, 6.x, 7.x) go to top management, process management
(8.x) to the quality manager together with every process owner, and anything else to a fitting role,
finally the quality manager.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from qmsdocs.profile.models import Person, Process, Profile

#: Element -> (process keywords, fallback role). Keywords are whole words of a process's id or name.
OWNER_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "5.2": ((), "top_management"),
    "5.3": ((), "top_management"),
    "6.2": ((), "top_management"),
    "7.2": ((), "top_management"),
    "7.3": ((), "top_management"),
    "7.4": ((), "top_management"),
    "9.2": (("people", "training", "competence", "hr", "human"), "training_coordinator"),
    "9.3": (("knowledge", "competence", "training", "people"), "training_coordinator"),
    "9.4": (("technology", "engineering", "design", "development", "software", "it"), "quality_manager"),
    "9.5": (
        ("infrastructure", "facilities", "maintenance", "production", "operations", "manufacturing"),
        "quality_manager",
    ),
    "9.6": (
        ("purchasing", "supplier", "suppliers", "procurement", "purchase", "sourcing", "supply"),
        "quality_manager",
    ),
    "9.7": (
        ("environment", "environmental", "facilities", "production", "operations", "manufacturing"),
        "quality_manager",
    ),
    "10.5": ((), "internal_audit_lead"),
    "11.3": (("learning", "training", "competence", "people"), "training_coordinator"),
    "11.4": (("innovation", "research", "design", "development", "engineering"), "top_management"),
}

_KNOWLEDGE_WORDS = (
    "knowledge",
    "know-how",
    "reliance",
    "rely",
    "depend",
    "expert",
    "skill",
    "senior",
    "retire",
    "competence",
    "technician",
    "key people",
)
_PROVIDER_WORDS = (
    "supplier",
    "component",
    "lead time",
    "supply",
    "provider",
    "outsourc",
    "material",
    "shortage",
    "single-source",
    "single source",
    "purchas",
)


def _words(process: Process) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", f"{process.id} {process.name}".lower())) - {""}


def process_for(clause: str, profile: Profile) -> Process | None:
    """The owned profile process that fits *clause* best (first keyword, then profile order), if any."""
    keywords, _ = OWNER_RULES.get(clause, ((), "quality_manager"))
    for word in keywords:
        for process in profile.processes:
            if process.owner and word in _words(process):
                return process
    return None


def _role(profile: Profile, name: str) -> Person:
    if name == "management_review_chair":
        return profile.person(profile.management_review.chair or profile.roles.top_management)
    return profile.person(getattr(profile.roles, name))


def owners_for(clause: str, profile: Profile) -> tuple[Person, ...]:
    """Who acts on *clause*: the lead first, then (for process management) the other process owners."""
    if clause.startswith("8."):
        lead = _role(profile, "quality_manager")
        others = [profile.person(p.owner) for p in profile.processes if p.owner]
        return tuple(
            dict.fromkeys([lead, *others])
        )  # Person is frozen and hashable: keeps order, drops repeats
    if clause == "10.7":
        return (_role(profile, "management_review_chair"),)
    process = process_for(clause, profile)
    if process is not None and process.owner:
        return (profile.person(process.owner),)
    _, fallback = OWNER_RULES.get(clause, ((), "quality_manager"))
    return (_role(profile, fallback),)


def _matching(texts: tuple[str, ...] | list[str], words: tuple[str, ...]) -> list[str]:
    return [t for t in texts if any(w in t.lower() for w in words)]


def _quoted(items: list[str], limit: int = 3) -> str:
    chosen = [f"“{i.rstrip('.')}”" for i in items[:limit]]
    return ", ".join(chosen[:-1]) + (" and " if len(chosen) > 1 else "") + chosen[-1] if chosen else ""


def _names(items: list[str]) -> str:
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _processes(profile: Profile) -> str:
    names = [p.name.lower() for p in profile.processes]
    return _names(names) if len(names) <= 4 else f"the {len(names)} processes"


def _site_names(profile: Profile) -> str:
    return _names([s.name for s in profile.organisation.sites])


def _no_kpi(profile: Profile) -> list[str]:
    return [p.name for p in profile.processes if not p.kpis]


def _none_yet(names: list[str]) -> str:
    return f"{_names(names)} {'has' if len(names) == 1 else 'have'} none yet"


def _a52(p: Profile) -> str:
    parties = [ip.party.lower() for ip in p.context.interested_parties]
    if not parties:
        return (
            "List the interested parties that affect or are affected by our products and services, record "
            "their needs and review the list at each management review."
        )
    return (
        f"Give each interested party ({_names(parties)}) an owner, record how each of its needs is met and "
        "check with the party at least once a year whether that is still true."
    )


def _a53(p: Profile) -> str:
    issues = [*p.context.internal_issues, *p.context.external_issues]
    named = f" such as {_quoted(issues, 2)}" if issues else ""
    return (
        f"Keep the internal and external issues{named} in a tracked list with an owner and a response each, "
        "and review it at every management review."
    )


def _a93(p: Profile) -> str:
    issues = _matching(p.context.internal_issues, _KNOWLEDGE_WORDS)
    about = f" Start with {_quoted(issues)}." if issues else ""
    return (
        "Identify the know-how each process depends on, write down what can be written down and make sure "
        f"critical knowledge is held by more than one person.{about}"
    )


def _a96(p: Profile) -> str:
    process = process_for("9.6", p)
    who = (
        f"{p.person(process.owner).name} ({process.name})"
        if process and process.owner
        else "The quality manager"
    )
    concerns = _matching([*p.context.external_issues, *(r.description for r in p.risks)], _PROVIDER_WORDS)
    about = f", with attention to {_quoted(concerns, 2)}" if concerns else ""
    return (
        f"{who} re-evaluates every key external provider against delivery, quality and responsiveness at "
        f"least once a year, shares the results with the provider and agrees improvement actions{about}."
    )


def _a8x(p: Profile) -> str:
    missing = _no_kpi(p)
    if not p.processes:
        return "Define the processes of the system with an owner, inputs, outputs and indicators for each."
    tail = f"; {_none_yet(missing)}" if missing else ""
    return (
        f"Review the {len(p.processes)} processes with their owners: purpose, interactions, risks and at "
        f"least one indicator each{tail}."
    )


_ACTIONS: dict[str, Callable[[Profile], str]] = {
    "5.2": _a52,
    "5.3": _a53,
    "6.2": lambda p: (
        f"Write down the mission, vision and values of {p.organisation.short_name}, explain them "
        "at induction and team briefings, and check in a sample of conversations that people "
        "can say what they mean for their work."
    ),
    "7.2": lambda p: (
        "Turn the quality policy into a strategy with goals for two to three years, linked to "
        "the products and services in scope, and review it each year."
    ),
    "7.3": lambda p: (
        f"Cascade the {len(p.quality_objectives)} quality objectives to process and team level "
        "with owners and review their progress monthly."
        if p.quality_objectives
        else "Set measurable quality objectives for the main processes, each with an owner and a "
        "target, and review them monthly."
    ),
    "7.4": lambda p: (
        "Plan what is communicated to whom, when and how, inside the organisation"
        f"{' and between ' + _site_names(p) if len(p.organisation.sites) > 1 else ''}"
        " and to customers and suppliers, and ask for feedback on it."
    ),
    "8.1": _a8x,
    "8.2": lambda p: (
        f"Map how {_processes(p)} interact and hand over to each other, and agree the inputs "
        "and outputs at each interface."
        if p.processes
        else _a8x(p)
    ),
    "8.3": lambda p: (
        "Confirm in writing the authority of each process owner to change their process and "
        "to act on its indicators, and make owners report on them at management review."
    ),
    "8.4": _a8x,
    "9.2": lambda p: (
        f"{p.person(p.roles.training_coordinator or p.roles.quality_manager).name} keeps a "
        "competence matrix for every role, plans training from its gaps and checks that the "
        "training was effective."
    ),
    "9.3": _a93,
    "9.4": lambda p: (
        "Review each year the technologies that could change our products, services and "
        "processes, and decide which to trial."
    ),
    "9.5": lambda p: (
        "Plan preventive maintenance of the equipment and buildings"
        f"{' at ' + _names([s.name for s in p.organisation.sites]) if p.organisation.sites else ''}"
        " and check the work environment against what the processes need."
    ),
    "9.6": _a96,
    "9.7": lambda p: (
        "Measure the energy, materials and water the processes use and the waste they produce, "
        "and set targets to reduce them."
    ),
    "10.2": lambda p: (
        "Give every process at least one indicator with a target"
        f"{' (' + _none_yet(_no_kpi(p)) + ')' if _no_kpi(p) else ''}."
    ),
    "10.3": lambda p: (
        "Analyse indicator trends every quarter, look for causes rather than single results, "
        "and report the conclusions to the process owners."
    ),
    "10.4": lambda p: (
        "Compare performance with objectives, with earlier years and, where data exists, with "
        "similar organisations, and decide on action where results fall short."
    ),
    "10.5": lambda p: (
        "Base the audit programme on risk and earlier results, train more auditors and follow "
        "every finding to a verified close."
    ),
    "10.6": lambda p: (
        "Repeat this self-assessment every year with a wider group of assessors and compare "
        "the results with this one."
    ),
    "10.7": lambda p: (
        f"Hold management reviews {p.management_review.frequency} with every input prepared "
        "beforehand, and track each decision to completion."
    ),
    "11.2": lambda p: (
        "Collect improvement ideas from everyone, rank them by benefit and effort, and report "
        "the improvements made at management review."
    ),
    "11.3": lambda p: (
        "Share lessons from nonconformities, complaints, audits and projects in regular team "
        "sessions and record what changed as a result."
    ),
    "11.4": lambda p: (
        "Set up a simple innovation process: collect ideas, screen them, and fund a few trials "
        "each year"
        + (
            f", starting with {_quoted([o.description for o in p.opportunities], 2)}"
            if p.opportunities
            else ""
        )
        + "."
    ),
}


def suggested_action(clause: str, profile: Profile) -> str:
    """A built-in action for an ISO 9004 element that the profile gives no action for."""
    return _ACTIONS[clause](profile)


_MEASURES: dict[str, str] = {
    "5.2": "needs of interested parties with an owner and a review date (%)",
    "5.3": "issues with an owner and an agreed response (%)",
    "6.2": "people who can explain the mission and values in a sample check (%)",
    "7.2": "strategic goals on track at the yearly review (%)",
    "7.3": "quality objectives on target (%)",
    "7.4": "planned communications delivered on time (%)",
    "9.2": "training plan completed (%) and training found effective (%)",
    "9.3": "critical know-how documented and held by at least two people (%)",
    "9.4": "technology reviews held and trials decided each year",
    "9.5": "planned maintenance done on time (%)",
    "9.6": "key external providers re-evaluated in the last 12 months (%)",
    "9.7": "energy and material use per unit of output, against last year",
    "10.2": "processes with at least one indicator and target (%)",
    "10.3": "quarterly analyses issued to process owners",
    "10.4": "objectives and indicators evaluated against targets each year (%)",
    "10.5": "audit programme completed as planned (%) and findings closed on time (%)",
    "10.6": "self-assessments held as planned",
    "10.7": "management review actions completed on time (%)",
    "11.2": "improvements completed and reported each year",
    "11.3": "lessons-learned sessions held and changes recorded",
    "11.4": "ideas screened and trials started each year",
}


#: Elements whose matched process is itself the subject, so its first KPI shows progress directly.
KPI_ELEMENTS = frozenset({"9.2", "9.6"})


def indicator_for(clause: str, target: int, profile: Profile) -> str:
    """How progress on *clause* shows: the target level at the next self-assessment, plus a measure."""
    if clause.startswith("8."):
        owned = sum(1 for p in profile.processes if p.owner and p.kpis)
        measure = f"processes with an owner and an indicator ({owned} of {len(profile.processes)} now)"
    else:
        process = process_for(clause, profile) if clause in KPI_ELEMENTS else None
        measure = process.kpis[0] if process and process.kpis else _MEASURES[clause]
    return f"Level {target} at the next self-assessment; {measure}"
