"""Data behind the registers: the records ISO 9001:2015 asks to retain, and the risk rating bands.

The records catalogue restates, in our own words, which records (documented information to be
*retained*) each clause asks for. The retention periods and locations are sensible defaults an
organisation confirms or changes in its own copy of the schedule; the standard leaves them to the
organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from qmsdocs.profile.models import Person, Profile, Risk
from qmsdocs.standards import iso


@dataclass(frozen=True)
class RecordType:
    """One kind of record the standard asks to be retained."""

    clause: str
    record: str
    role: str  # a key of `roles`: the keeper when no process matches `process_words`
    retention: str
    location: str
    #: words that identify the process whose owner keeps the record ("purchas" -> Purchasing)
    process_words: tuple[str, ...] = ()


LIFE = "Life of the product or service contract plus 5 years"
CYCLE = "3 years (one certification cycle)"

#: Records to retain, in clause order. Records of a clause determined not applicable are removed.
RECORD_TYPES: tuple[RecordType, ...] = (
    RecordType(
        "4.4.2",
        "Evidence that processes are carried out as planned (process monitoring data)",
        "quality_manager",
        CYCLE,
        "Process owner's files",
    ),
    RecordType(
        "7.1.5.1",
        "Fitness for purpose of monitoring and measuring resources (checks, calibration results)",
        "quality_manager",
        "Life of the equipment plus 3 years",
        "Equipment register and calibration files",
        ("calibrat", "measur", "laborator", "test"),
    ),
    RecordType(
        "7.1.5.2",
        "Basis used for calibration or verification where no national or international "
        "measurement standard exists",
        "quality_manager",
        "Life of the equipment plus 3 years",
        "Equipment register and calibration files",
        ("calibrat", "laborator"),
    ),
    RecordType(
        "7.2",
        "Evidence of competence (qualifications, training, experience, assessments)",
        "training_coordinator",
        "Employment plus 3 years",
        "Personnel and training files",
    ),
    RecordType(
        "8.1",
        "Evidence that operational processes ran as planned and outputs conform",
        "quality_manager",
        CYCLE,
        "Process owner's files",
        ("production", "operation", "service"),
    ),
    RecordType(
        "8.2.3",
        "Review of requirements before commitment to the customer, and any new requirements",
        "quality_manager",
        "End of the contract plus 6 years",
        "Customer order and contract files",
        ("sales", "contract", "customer", "order"),
    ),
    RecordType(
        "8.3.2",
        "Design and development plans and evidence that requirements were met",
        "quality_manager",
        LIFE,
        "Design project files",
        ("design", "develop", "engineer"),
    ),
    RecordType(
        "8.3.3",
        "Design and development inputs",
        "quality_manager",
        LIFE,
        "Design project files",
        ("design", "develop", "engineer"),
    ),
    RecordType(
        "8.3.4",
        "Design reviews, verification and validation and the actions they raised",
        "quality_manager",
        LIFE,
        "Design project files",
        ("design", "develop", "engineer"),
    ),
    RecordType(
        "8.3.5",
        "Design and development outputs",
        "quality_manager",
        LIFE,
        "Design project files",
        ("design", "develop", "engineer"),
    ),
    RecordType(
        "8.3.6",
        "Design and development changes, their review, authorisation and actions",
        "quality_manager",
        LIFE,
        "Design project files",
        ("design", "develop", "engineer"),
    ),
    RecordType(
        "8.4.1",
        "Evaluation, selection, monitoring and re-evaluation of external providers, and the "
        "resulting actions",
        "quality_manager",
        "3 years after the provider was last used",
        "Approved supplier files",
        ("purchas", "supplier", "procure", "supply"),
    ),
    RecordType(
        "8.5.2",
        "Unique identification of outputs, where traceability is a requirement",
        "quality_manager",
        LIFE,
        "Production and service records",
        ("production", "assembl", "service"),
    ),
    RecordType(
        "8.5.3",
        "Property of customers or external providers that was lost, damaged or found unsuitable, "
        "and what was reported to the owner",
        "quality_manager",
        CYCLE,
        "Customer and supplier correspondence files",
        ("production", "service", "operation"),
    ),
    RecordType(
        "8.5.6",
        "Review of changes to production or service provision, who authorised them and the actions taken",
        "quality_manager",
        CYCLE,
        "Change records",
        ("production", "operation", "service"),
    ),
    RecordType(
        "8.6",
        "Release: evidence of conformity with acceptance criteria and who authorised release",
        "quality_manager",
        LIFE,
        "Inspection and release records",
        ("production", "assembl", "test"),
    ),
    RecordType(
        "8.7.2",
        "Nonconforming outputs: description, actions, concessions and who decided",
        "quality_manager",
        "5 years",
        "Nonconformity log",
    ),
    RecordType(
        "9.1.1",
        "Results of monitoring, measurement, analysis and evaluation",
        "quality_manager",
        CYCLE,
        "QMS document system (performance reports)",
    ),
    RecordType(
        "9.2.2",
        "Audit programme, its implementation and the audit results",
        "internal_audit_lead",
        CYCLE,
        "QMS document system (audit files)",
    ),
    RecordType(
        "9.3.3",
        "Results of management reviews (minutes, decisions and actions)",
        "top_management",
        "6 years",
        "QMS document system (management review files)",
    ),
    RecordType(
        "10.2.2",
        "Nature of nonconformities, actions taken and the results of corrective action",
        "quality_manager",
        "5 years",
        "Corrective action log",
    ),
)


@dataclass(frozen=True)
class ScheduledRecord:
    """A record of the retention schedule, with its keeper resolved from the profile."""

    clause: str
    record: str
    keeper: Person
    retention: str
    location: str


@dataclass(frozen=True)
class RemovedRecord:
    """A record left out because its clause is determined not applicable."""

    clause: str
    record: str
    excluded_clause: str
    justification: str


def _excluding_clause(profile: Profile, clause: str) -> str | None:
    """The exclusion of *profile* that covers *clause*, or None when the clause applies."""
    return next((c for c in profile.excluded if iso.is_within(clause, c)), None)


def record_keeper(profile: Profile, record: RecordType) -> Person:
    """The owner of the first process whose id or name contains one of the record's words, else the role."""
    for process in profile.processes:
        text = f"{process.id} {process.name}".lower()
        if process.owner and any(word in text for word in record.process_words):
            return profile.person(process.owner)
    return profile.person(getattr(profile.roles, record.role))


def records_schedule(profile: Profile) -> tuple[list[ScheduledRecord], list[RemovedRecord]]:
    """The records *profile* retains, and those removed because their clause does not apply."""
    kept: list[ScheduledRecord] = []
    removed: list[RemovedRecord] = []
    for record in RECORD_TYPES:
        excluded = _excluding_clause(profile, record.clause)
        if excluded is not None:
            removed.append(RemovedRecord(record.clause, record.record, excluded, profile.excluded[excluded]))
            continue
        kept.append(
            ScheduledRecord(
                record.clause,
                record.record,
                record_keeper(profile, record),
                record.retention,
                record.location,
            )
        )
    return kept, removed


@dataclass(frozen=True)
class RiskBand:
    """A rating band of the risk score (likelihood x impact)."""

    name: str
    low: int
    high: int
    response: str
    review: str


#: Scores 17 to 19 cannot occur (no product of two levels 1-5 gives them), so "very high" starts at 20.
RISK_BANDS: tuple[RiskBand, ...] = (
    RiskBand(
        "Low", 1, 4, "Accept and monitor; act when it costs little", "At the annual review of the register"
    ),
    RiskBand(
        "Medium", 5, 9, "Treat within normal planning; the owner sets the action and date", "Every six months"
    ),
    RiskBand(
        "High",
        10,
        16,
        "Treatment plan with owner and target date; reported to management review",
        "Every quarter",
    ),
    RiskBand(
        "Very high",
        20,
        25,
        "Immediate action decided by top management; consider stopping the activity",
        "Every month until the score is reduced",
    ),
)


def risk_band(score: int) -> RiskBand:
    """The band of a risk score from 1 to 25."""
    for band in RISK_BANDS:
        if score <= band.high:
            return band
    raise ValueError(f"risk score {score} is outside 1 to 25")


@dataclass(frozen=True)
class RankedRisk:
    """A risk of the profile with its score, band and owner, as the register lists it."""

    number: int
    risk: Risk
    score: int
    band: RiskBand
    owner: Person | None


def ranked_risks(profile: Profile) -> list[RankedRisk]:
    """The profile's risks, highest score first (ties keep the profile's order), numbered R1, R2, ..."""
    order = sorted(profile.risks, key=lambda r: -r.score)  # sorted() is stable: ties keep profile order
    return [
        RankedRisk(
            index, risk, risk.score, risk_band(risk.score), profile.person(risk.owner) if risk.owner else None
        )
        for index, risk in enumerate(order, start=1)
    ]


class Registers:
    """What the register templates see as ``registers`` (computed only when a template asks)."""

    bands = RISK_BANDS

    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    @cached_property
    def _schedule(self) -> tuple[list[ScheduledRecord], list[RemovedRecord]]:
        return records_schedule(self._profile)

    @property
    def records(self) -> list[ScheduledRecord]:
        """Records to retain, in clause order."""
        return list(self._schedule[0])

    @property
    def removed_records(self) -> list[RemovedRecord]:
        """Records left out because their clause is determined not applicable."""
        return list(self._schedule[1])

    @property
    def risks(self) -> list[RankedRisk]:
        """Risks, highest score first."""
        return ranked_risks(self._profile)

    @staticmethod
    def band(score: int) -> RiskBand:
        """The rating band of a score."""
        return risk_band(score)
