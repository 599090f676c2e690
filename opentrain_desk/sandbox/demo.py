"""A demo agency: several jobs, trainers and milestones in every state."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from ..domain.invoices import BillingType, InvoiceKind, InvoiceParty
from ..domain.milestones import Action, MilestoneDraft, PayoutStatus
from ..domain.money import Money
from ..persistence.queries import Queries
from ..services import invoicing
from ..services import jobs as services
from ..services.unit_of_work import UnitOfWorkFactory, utcnow
from ..services.workspace_settings import (COMPANY_ADDRESS, COMPANY_EMAIL, COMPANY_NAME,
                                           COMPANY_TAX_ID)

# (job title, description, [(trainer, email, [(milestone, amount, days_due, target state)])])
DEMO_JOBS = [
    ("Code review RLHF — Python", "Rank and critique model answers to Python questions.", [
        ("Amara Okafor", "amara.okafor@example.com", [
            ("Batch 1 — 400 ranked pairs", "1,200.00", -20, "PAID"),
            ("Batch 2 — 400 ranked pairs", "1,200.00", -3, "PENDING_APPROVAL"),
            ("Batch 3 — edge cases & style guide", "1,450.00", 12, "ACTIVE_FUNDED"),
            ("Warm-up — 50 pairs (payout reversed)", "250.00", -50, "PAID_REVERSED"),
        ]),
        ("José Núñez", "jose.nunez@example.com", [
            ("Pilot — 100 ranked pairs", "350.00", -10, "PAID_SETUP"),
            ("Batch 1 — 500 ranked pairs", "1,500.00", 9, "FUNDING"),
            ("Batch 0 — rushed sample (cancelled)", "420.00", -1, "REFUNDING"),
        ]),
    ]),
    ("Medical Q&A safety red-teaming", "Adversarial prompts for clinical safety.", [
        ("Dr. Zoë Müller", "zoe.mueller@example.com", [
            ("Threat model and prompt taxonomy", "2,400.00", -30, "PAID"),
            ("Round 1 — 300 adversarial prompts", "3,750.00", 5, "ACTIVE_FUNDED"),
            ("Round 2 — follow-up probes", "3,750.00", 26, "NOT_FUNDED"),
            ("Round 0 — scoping call notes", "640.00", -40, "REFUNDED"),
        ]),
    ]),
    ("Multilingual summarisation (ES/PT)", "Write and grade summaries in Spanish and Portuguese.", [
        ("Lucía Fernández", "lucia.fernandez@example.com", [
            ("Style guide alignment", "480.00", -14, "PAID"),
            ("Batch A — 250 summaries", "1,875.50", 4, "PENDING_APPROVAL"),
            ("Pilot — 40 summaries (half accepted)", "500.00", -24, "PAID_PARTIAL"),
        ]),
        ("Thiago Costa", "thiago.costa@example.com", [
            ("Glossary — 60 key terms", "300.00", -6, "PAID_RETRY"),
            ("Term list v0 (payout refunded)", "200.00", -27, "PAID_REFUNDED"),
            ("Batch B — 250 summaries", "1,875.50", 18, "NOT_FUNDED"),
            ("Batch C — 120 summaries", "960.00", 25, "BANK_PROCESSING"),
        ]),
    ]),
    ("Math reasoning step-by-step", "Verify chain-of-thought solutions, grade 9–12.", [
        ("Priya Raman", "priya.raman@example.com", [
            ("Pilot — 20 worked solutions", "150.00", -8, "PAID_FAILED"),
            ("Algebra set — 200 solutions", "900.00", None, "NOT_FUNDED"),
            ("Geometry set — 80 proofs", "700.00", 10, "DISPUTED"),
        ]),
    ]),
]
ARCHIVED_JOB = ("Image captioning QA (2025)", "Finished project.", [
    ("Chen Wei", "chen.wei@example.com", [
        ("Full dataset review", "2,000.00", -90, "PAID"),
    ]),
])

DEMO_COMPANY = {COMPANY_NAME: "Northwind AI Data Studio",
                COMPANY_EMAIL: "billing@northwind.example",
                COMPANY_ADDRESS: "410 Market Street, Suite 300\nSan Francisco, CA 94111",
                COMPANY_TAX_ID: "US EIN 84-1234567"}

PATH = {
    "NOT_FUNDED": [],
    "FUNDING": [Action.START_FUNDING],
    "ACTIVE_FUNDED": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED],
    "PENDING_APPROVAL": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED, Action.SUBMIT],
    "PAID": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED, Action.SUBMIT, Action.APPROVE],
    "DISPUTED": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED],  # + an open dispute
    "BANK_PROCESSING": [Action.START_FUNDING],  # charged to a bank account: settles later
    "REFUNDING": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED, Action.REFUND],
    "REFUNDED": [Action.START_FUNDING, Action.FUNDING_SUCCEEDED, Action.REFUND,
                 Action.REFUND_SUCCEEDED],
}
#: Paid (approved, funds released) with each payout outcome the timeline can show.
PAYOUT_OUTCOME = {"PAID": PayoutStatus.PAID_OUT, "PAID_SETUP": PayoutStatus.PENDING_SETUP,
                  "PAID_RETRY": PayoutStatus.PENDING_RETRY, "PAID_FAILED": PayoutStatus.FAILED,
                  "PAID_PARTIAL": PayoutStatus.PAID_OUT,
                  "PAID_REFUNDED": PayoutStatus.REFUNDED,
                  "PAID_REVERSED": PayoutStatus.REVERSED}
PATH.update({target: PATH["PAID"] for target in PAYOUT_OUTCOME})
#: A partial release pays this share of the milestone; the rest goes back to the employer.
PARTIAL_SHARE = (3, 5)
CANCEL_REASON = "The trainer became unavailable; the work was not started."


def released(target: str, amount_cents: int) -> int:
    """The amount a demo approval releases (partial for ``PAID_PARTIAL``)."""
    if target != "PAID_PARTIAL":
        return amount_cents
    return amount_cents * PARTIAL_SHARE[0] // PARTIAL_SHARE[1]

FUNDED_BEFORE_DUE = timedelta(days=21)   # demo history: funded three weeks before due,
SUBMITTED_BEFORE_DUE = timedelta(days=2)  # delivered two days before, approved on the day


@dataclass(frozen=True)
class Schedule:
    """When a demo milestone's events happened (UTC), all in the past."""
    funded: datetime
    submitted: datetime
    approved: datetime

    @classmethod
    def for_due(cls, due: date | None, now: datetime) -> Schedule:
        base = (datetime.combine(due, time(15), tzinfo=timezone.utc) if due is not None
                else now - timedelta(days=3))
        return cls(min(base - FUNDED_BEFORE_DUE, now - timedelta(days=2)),
                   min(base - SUBMITTED_BEFORE_DUE, now - timedelta(hours=3)),
                   min(base, now - timedelta(hours=1)))

    def of(self, action: Action) -> datetime:
        return {Action.SUBMIT: self.submitted, Action.APPROVE: self.approved}.get(
            action, self.funded)


class DemoClock:
    """The seeding's clock: moved through the agency's past so the demo has a history
    (months in Reports, invoice dates in number order); the real time when not set."""

    def __init__(self, real: Callable[[], datetime] = utcnow) -> None:
        self.real = real
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at if self.at is not None else self.real()


def travel(factory: UnitOfWorkFactory, when: datetime | None) -> None:
    """Set a demo factory's clock (no-op for a factory on the real clock)."""
    if isinstance(factory.clock, DemoClock):
        factory.clock.at = when


Advance = Callable[[UnitOfWorkFactory, int, str, Schedule | None], None]


def advance_locally(factory: UnitOfWorkFactory, milestone_id: int, target: str,
                    schedule: Schedule | None = None) -> None:
    """Walk a demo milestone through the lifecycle (demo workspace without Stripe), each
    step in its own unit of work at its scheduled time."""
    for action in PATH[target]:
        if schedule is not None:
            travel(factory, schedule.of(action))
        with factory() as uow:
            milestone = uow.milestones.get(milestone_id)
            before = milestone.snapshot()
            if action is Action.APPROVE:
                milestone.approve(uow.now, "demo")
                milestone.payout_status = PAYOUT_OUTCOME[target]
                release = released(target, milestone.amount_cents)
                _demo_invoice(uow, milestone, InvoiceKind.TRAINER_PAYOUT, release)
                if release < milestone.amount_cents:
                    _demo_credit_note(uow, milestone, InvoiceKind.EMPLOYER_FUNDING,
                                      milestone.amount_cents - release,
                                      "Partial release: the part not accepted")
                if milestone.payout_status is PayoutStatus.REFUNDED:
                    _demo_credit_note(uow, milestone, InvoiceKind.TRAINER_PAYOUT, release,
                                      "The payout failed; refunded to the employer")
            elif action is Action.REFUND_SUCCEEDED:
                milestone.apply(action, uow.now, milestone.status_note)
                _demo_credit_note(uow, milestone, InvoiceKind.EMPLOYER_FUNDING,
                                  milestone.amount_cents, CANCEL_REASON)
            elif action is Action.REFUND:
                milestone.apply(action, uow.now, f"Cancelled: {CANCEL_REASON}")
            elif action is Action.SUBMIT:
                milestone.submit(uow.now, "Delivered — see the shared folder.")
            else:
                milestone.apply(action, uow.now)
                if action is Action.FUNDING_SUCCEEDED:
                    _demo_invoice(uow, milestone, InvoiceKind.EMPLOYER_FUNDING)
            uow.audit("milestone", milestone.id, "demo seed", before, milestone.snapshot())
            uow.commit()
    if target == "DISPUTED":
        _demo_dispute(factory, milestone_id)
    elif target == "BANK_PROCESSING":
        _demo_bank_debit(factory, milestone_id)


def _demo_bank_debit(factory: UnitOfWorkFactory, milestone_id: int) -> None:
    """A funding charged to a bank account, still processing at Stripe."""
    from ..domain.operations import ErrorKind, OperationKind, OperationStatus, StripeOperation
    from ..services.funding import BANK_DEBIT
    with factory() as uow:
        milestone = uow.milestones.get(milestone_id)
        uow.operations.add(StripeOperation(
            kind=OperationKind.FUND_MILESTONE, amount_cents=milestone.amount_cents,
            milestone_id=milestone_id, status=OperationStatus.NEEDS_ACTION,
            error_kind=ErrorKind.PROCESSING, purpose=BANK_DEBIT, maybe_sent=True,
            last_error="Stripe is still processing the payment (processing).",
            stripe_object_id=f"pi_demo_bank{milestone_id}", attempts=1, created_at=uow.now,
            updated_at=uow.now))
        milestone.status_note = ("Bank debit processing: Stripe usually settles it within 4 "
                                 "business days.")
        uow.commit()


def _demo_dispute(factory: UnitOfWorkFactory, milestone_id: int) -> None:
    """An open dispute on the milestone's charge (this demo has no Stripe objects)."""
    with factory() as uow:
        milestone = uow.milestones.get(milestone_id)
        uow.disputes.save(f"dp_demo{milestone_id}", milestone_id=milestone_id,
                          payment_intent_id=milestone.payment_intent_id or "",
                          amount_cents=milestone.amount_cents, reason=DISPUTE_REASON,
                          status="needs_response",
                          due_by=utcnow() + timedelta(days=DISPUTE_DAYS, hours=1),
                          created_at=uow.now, updated_at=uow.now)
        uow.commit()


PAYOUT_INVOICE_STATUS = {PayoutStatus.PAID_OUT: "Paid out", PayoutStatus.FAILED:
                         "Payout failed", PayoutStatus.REFUNDED: "Refunded to employer",
                         PayoutStatus.REVERSED: "Reversed"}
#: The demo's open dispute: Stripe's reason and how long the employer has for evidence.
DISPUTE_REASON, DISPUTE_DAYS = "product_not_received", 6


def _demo_credit_note(uow, milestone, corrects: InvoiceKind, amount_cents: int,
                      reason: str) -> None:
    invoicing.issue_credit_note(uow, milestone.id, corrects, amount_cents, reason,
                                "demo data (no Stripe object)", None)


def _demo_invoice(uow, milestone, kind: InvoiceKind, amount_cents: int | None = None
                  ) -> None:
    """The invoices the real flow would have issued (this demo has no Stripe objects)."""
    contract = uow.contracts.get(milestone.contract_id)
    job, trainer = uow.jobs.get(contract.job_id), uow.trainers.get(contract.trainer_id)
    payout = kind is InvoiceKind.TRAINER_PAYOUT
    company = invoicing.company_party(uow)
    invoicing.issue(
        uow, kind, bill_to=InvoiceParty(trainer.name, (), trainer.email) if payout else company,
        project=job.title, description=(f"Milestone payout: {milestone.title}" if payout else
                                        f"Milestone funding: {milestone.title} — trainer "
                                        f"{trainer.name}"),
        amount_cents=amount_cents or milestone.amount_cents,
        payment_status=(PAYOUT_INVOICE_STATUS.get(milestone.payout_status, "Payout pending")
                        if payout else "Paid"),
        refs=(("Reference", "demo data (no Stripe object)"),), job_id=job.id,
        contract_id=contract.id, milestone_id=milestone.id)


def seed_demo(factory: UnitOfWorkFactory, advance: Advance = advance_locally,
              subscription_invoice: bool = True) -> None:
    """Fill an empty workspace with the demo agency (no-op if it has jobs).

    Its history is played in time order on a :class:`DemoClock` (jobs and hires first,
    then each milestone's funding, delivery and approval on its schedule), so invoices
    are numbered in date order and Reports shows several months."""
    if Queries(factory.engine).count_jobs() > 0:
        return
    with factory() as uow:
        for key, value in DEMO_COMPANY.items():
            if uow.settings.get(key) is None:
                uow.settings.set(key, value)
        uow.commit()
    now = factory.clock()
    demo = UnitOfWorkFactory(factory.engine, factory.actor, clock=DemoClock(factory.clock))
    plans: list[tuple[Schedule, int, str]] = []
    for job_spec in [ARCHIVED_JOB, *DEMO_JOBS]:
        plans += _create_job(demo, job_spec, now)
    for schedule, milestone_id, target in sorted(plans, key=lambda p: (p[0].funded, p[1])):
        advance(demo, milestone_id, target, schedule)
    travel(demo, None)
    archived_id = Queries(factory.engine).list_jobs(ARCHIVED_JOB[0])[0].id
    services.archive_job(factory(), archived_id)
    if subscription_invoice:
        _demo_subscription_invoice(factory)


def _demo_subscription_invoice(factory: UnitOfWorkFactory) -> None:
    """So Reports shows both billing types (the sandbox demo has a real plan instead)."""
    with factory() as uow:
        invoicing.issue(uow, InvoiceKind.SUBSCRIPTION, bill_to=invoicing.company_party(uow),
                        project="OpenTrain Desk plan",
                        description="Agency Pro subscription (monthly)",
                        amount_cents=14_900, payment_status="Paid",
                        refs=(("Reference", "demo data (no Stripe object)"),),
                        billing_type=BillingType.SUBSCRIPTION)
        uow.commit()


def _create_job(factory: UnitOfWorkFactory, job_spec, now: datetime
                ) -> list[tuple[Schedule, int, str]]:
    """The job, its hires and milestones, dated before their first funding; returns each
    milestone's schedule and target state."""
    title, description, hires = job_spec
    drafts = [[_draft(m, now.date()) for m in milestones] for _t, _e, milestones in hires]
    schedules = [[Schedule.for_due(d.due_date, now) for d in ds] for ds in drafts]
    start = min(s.funded for ss in schedules for s in ss) - timedelta(days=3)
    travel(factory, start)
    job_id = services.create_job(factory(), title, description)
    plans = []
    for (trainer, email, milestones), ds, ss in zip(hires, drafts, schedules, strict=True):
        travel(factory, min(s.funded for s in ss) - timedelta(days=1))
        hired = services.hire_trainer(factory(), job_id, trainer, email, ds[0])
        ids = [hired.milestone_id] + [services.add_milestone(factory(), hired.contract_id, d)
                                      for d in ds[1:]]
        plans += [(schedule, milestone_id, spec[3])
                  for schedule, milestone_id, spec in zip(ss, ids, milestones, strict=True)]
    return plans


def _draft(spec, today) -> MilestoneDraft:
    title, amount, days, _state = spec
    due = today + timedelta(days=days) if days is not None else None
    return MilestoneDraft(title, Money.parse(amount), f"{title}. Deliver via the shared "
                          "workspace; include the annotation log.", due)
