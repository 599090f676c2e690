"""Use cases on jobs, hiring and milestones. Each is one unit of work."""
from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import ArchiveRefused, DomainError, ValidationError
from ..domain.jobs import Contract, Job, Trainer, clean_email, clean_required
from ..domain.milestones import Action, Milestone, MilestoneDraft
from . import funding
from ..domain.roles import Capability
from .conflicts import check_version
from .notifications import message_trainer, notify, resolve
from .plan import require_plan
from .team import require
from .unit_of_work import UnitOfWork


def create_job(uow: UnitOfWork, title: str, description: str = "") -> int:
    with uow:
        require(uow, Capability.MANAGE_JOBS)
        job = uow.jobs.add(Job(title=clean_required(title, "job title"),
                               description=(description or "").strip(), created_at=uow.now))
        uow.audit("job", job.id, "created", after={"title": job.title})
        uow.commit()
        return job.id


def edit_job(uow: UnitOfWork, job_id: int, title: str, description: str | None = None,
             expected_version: int | None = None) -> int:
    """Rename a job (its title is the project name on invoices issued from now on).
    Returns the new version; refused like :func:`edit_milestone` after another seat's save."""
    with uow:
        require(uow, Capability.MANAGE_JOBS)
        job = uow.jobs.get(job_id)
        check_version(uow, job, expected_version)
        before = job.snapshot()
        job.rename(title, description, uow.now)
        uow.audit("job", job.id, "edited", before, job.snapshot())
        uow.commit()
        return job.version


def archive_job(uow: UnitOfWork, job_id: int) -> None:
    """Raises ArchiveRefused, listing the unresolved milestones."""
    with uow:
        require(uow, Capability.MANAGE_JOBS)
        job = _archive(uow, job_id)
        uow.audit("job", job.id, "archived", before={"archived": False},
                  after={"archived": True})
        uow.commit()


def _archive(uow: UnitOfWork, job_id: int) -> Job:
    job = uow.jobs.get(job_id)
    milestones = uow.milestones.for_job(job_id)
    disputed = {d.milestone_id for d in uow.disputes.open_for_milestones(
        [m.id for m in milestones])}
    job.archive(milestones, uow.now, disputed)
    return job


def archive_refusal(uow: UnitOfWork, job_id: int) -> str | None:
    """Why archiving would be refused now, or None. Changes nothing: the trial archive is
    rolled back (the block is left without a commit)."""
    with uow:
        try:
            _archive(uow, job_id)
        except ArchiveRefused as refusal:
            return str(refusal)
        return None


def restore_job(uow: UnitOfWork, job_id: int) -> None:
    """An archived job back in the active list."""
    with uow:
        require(uow, Capability.MANAGE_JOBS)
        job = uow.jobs.get(job_id)
        job.restore()
        uow.audit("job", job.id, "restored", before={"archived": True},
                  after={"archived": False})
        uow.commit()


@dataclass(frozen=True)
class HireResult:
    contract_id: int
    trainer_id: int
    milestone_id: int


def hire_trainer(uow: UnitOfWork, job_id: int, trainer_name: str, trainer_email: str,
                 first_milestone: MilestoneDraft, fund_mode: str | None = None) -> HireResult:
    """Contract plus its first milestone; with ``fund_mode`` the milestone's funding is
    queued in the same transaction (else it stays Not Funded)."""
    name = clean_required(trainer_name, "trainer's name")
    email = clean_email(trainer_email)
    with uow:
        require(uow, Capability.HIRE)
        if fund_mode is not None:
            require(uow, Capability.FUND)
        require_plan(uow)
        job = uow.jobs.get(job_id)
        if job.archived:
            raise ValidationError(f"“{job.title}” is archived: hiring is closed.")
        trainer = uow.trainers.by_email(email) or _new_trainer(uow, name, email)
        if uow.contracts.find(job_id, trainer.id):
            raise ValidationError(f"{trainer.name} is already hired on “{job.title}”.")
        contract = uow.contracts.add(Contract(job_id=job_id, trainer_id=trainer.id,
                                              hired_on=uow.now.date(), created_at=uow.now))
        uow.audit("contract", contract.id, "hired",
                  after={"job_id": job_id, "trainer_id": trainer.id, "trainer": trainer.name})
        milestone = _add_milestone(uow, contract.id, first_milestone)
        if fund_mode is not None:
            funding.queue_funding_in(uow, milestone, fund_mode)
        uow.commit()
        return HireResult(contract.id, trainer.id, milestone.id)


def _new_trainer(uow: UnitOfWork, name: str, email: str) -> Trainer:
    trainer = uow.trainers.add(Trainer(name=name, email=email, created_at=uow.now))
    uow.audit("trainer", trainer.id, "created", after={"name": name, "email": email})
    return trainer


def _add_milestone(uow: UnitOfWork, contract_id: int, draft: MilestoneDraft) -> Milestone:
    position = uow.milestones.next_position(contract_id)
    milestone = uow.milestones.add(Milestone.from_draft(contract_id, draft, position, uow.now))
    uow.audit("milestone", milestone.id, "created", after=milestone.snapshot())
    return milestone


def add_milestone(uow: UnitOfWork, contract_id: int, draft: MilestoneDraft) -> int:
    with uow:
        require(uow, Capability.EDIT_MILESTONES)
        contract = uow.contracts.get(contract_id)
        job = uow.jobs.get(contract.job_id)
        if job.archived:
            raise ValidationError(f"“{job.title}” is archived: no new milestones.")
        milestone = _add_milestone(uow, contract_id, draft)
        uow.commit()
        return milestone.id


def edit_milestone(uow: UnitOfWork, milestone_id: int, draft: MilestoneDraft,
                   expected_version: int | None = None) -> None:
    """``expected_version``: the version the form showed; when another seat saved in
    between, ``ConcurrentChange`` says who, when and what it is now (nothing saved)."""
    with uow:
        require(uow, Capability.EDIT_MILESTONES)
        milestone = uow.milestones.get(milestone_id)
        check_version(uow, milestone, expected_version)
        before = milestone.snapshot()
        milestone.edit(draft, uow.now)
        uow.audit("milestone", milestone.id, "edited", before, milestone.snapshot())
        uow.commit()


def delete_milestone(uow: UnitOfWork, milestone_id: int) -> None:
    """Only a Not Funded milestone with no payment operation still open. Its operations'
    history (cancelled or declined fundings) is kept, detached and labelled."""
    with uow:
        require(uow, Capability.EDIT_MILESTONES)
        milestone = uow.milestones.get(milestone_id, for_update=True)
        milestone.ensure_deletable()
        operations = uow.operations.for_milestone(milestone_id)
        if any(operation.status.open for operation in operations):
            raise DomainError("A payment for this milestone is still being settled with "
                              "Stripe; it can be deleted once that is done.")
        before = milestone.snapshot() | {"operations": [op.id for op in operations] or None}
        for operation in operations:
            operation.milestone_id = None
            operation.milestone_ref = f"#{milestone_id} {milestone.title}"[:240]
        uow.flush()  # detach the history before the row it pointed at goes
        uow.milestones.delete(milestone)
        uow.audit("milestone", milestone_id, "deleted", before=before)
        uow.commit()


def record_submission(uow: UnitOfWork, milestone_id: int, note: str = "",
                      deliverable_url: str = "") -> None:
    """The trainer marked the milestone complete: Pending approval."""
    with uow:
        require(uow, Capability.RECORD_SUBMISSION)
        milestone = uow.milestones.get(milestone_id)
        before = milestone.snapshot()
        milestone.submit(uow.now, note, deliverable_url)
        after = milestone.snapshot() | {"submission_note": milestone.submission_note,
                                        "deliverable_url": milestone.deliverable_url}
        uow.audit("milestone", milestone.id, "submitted", before, after)
        contract = uow.contracts.get(milestone.contract_id)
        trainer = uow.trainers.get(contract.trainer_id)
        job = uow.jobs.get(contract.job_id)
        notify(uow, "submitted", f"{trainer.name} marked “{milestone.title}” complete",
               f"{job.title} · review and approve to release "
               f"{milestone.amount.format()}." + (f"\nNote: {milestone.submission_note}"
                                                  if milestone.submission_note else ""),
               job_id=job.id, contract_id=contract.id, milestone_id=milestone.id)
        uow.commit()


def request_changes(uow: UnitOfWork, milestone_id: int, note: str) -> None:
    """Back to Active & Funded with the reviewer's note kept."""
    note = clean_required(note, "note for the trainer", limit=5000)
    with uow:
        require(uow, Capability.REQUEST_CHANGES)
        milestone = uow.milestones.get(milestone_id)
        before = milestone.snapshot()
        milestone.apply(Action.REQUEST_CHANGES, uow.now, note)
        resolve(uow, milestone.id)
        _tell_trainer_about_changes(uow, milestone, note)
        uow.audit("milestone", milestone.id, "changes requested", before, milestone.snapshot())
        uow.commit()


def _tell_trainer_about_changes(uow: UnitOfWork, milestone: Milestone, note: str) -> None:
    contract = uow.contracts.get(milestone.contract_id)
    trainer, job = uow.trainers.get(contract.trainer_id), uow.jobs.get(contract.job_id)
    message_trainer(uow, trainer.id, "changes requested",
                    f"Changes requested: {milestone.title}",
                    f"Hi {trainer.name},\n\nThanks for your submission of “{milestone.title}” "
                    f"({job.title}). Before it can be approved, please change the following:"
                    f"\n\n{note}\n\nMark it complete again when it is ready.",
                    milestone=milestone.title, job=job.title, note=note)
