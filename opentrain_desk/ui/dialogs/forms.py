"""The app's form dialogs. Each one maps fields to one service call."""
from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QCheckBox, QLabel, QWidget

from ...domain.errors import ValidationError
from ...domain.jobs import clean_email, clean_required
from ...domain.money import Money
from ...services.read_models import JobRow, MilestoneRow
from ...services import jobs as services
from ..ops import Ops
from .form_dialog import FieldError, FormDialog, MilestoneFields


def _check(widget, fn, value):
    try:
        return fn(value)
    except ValidationError as error:
        raise FieldError(widget, str(error)) from None


class NewJobDialog(FormDialog):
    def __init__(self, db: Ops, uow, parent: QWidget | None = None) -> None:
        super().__init__(db, "New job", "newJobDialog", "Create job", parent)
        self.uow = uow
        self.title_edit = self.line_edit("Job title:", "jobTitleEdit",
                                         "e.g. Code review RLHF — Python")
        self.description_edit = self.text_edit("Description:", "jobDescriptionEdit")

    def build(self):
        title = _check(self.title_edit, partial(clean_required, what="job title"),
                       self.title_edit.text())
        return partial(services.create_job, self.uow(), title,
                       self.description_edit.toPlainText())


class HireDialog(FormDialog):
    """Hire a trainer: the contract and its first milestone (funded) in one step."""

    def __init__(self, db: Ops, uow, job_id: int, job_title: str,
                 parent: QWidget | None = None, fund_mode: str | None = None) -> None:
        super().__init__(db, f"Hire a trainer — {job_title}", "hireDialog", "Hire", parent)
        self.uow, self.job_id, self.fund_mode = uow, job_id, fund_mode
        self.name = self.line_edit("Trainer name:", "trainerNameEdit", "Full name")
        self.email = self.line_edit("Trainer email:", "trainerEmailEdit", "name@example.com")
        heading = QLabel("<b>First milestone</b>")
        self.form.addRow(heading)
        self.milestone = MilestoneFields(self)
        self.fund_now = QCheckBox("Fund this milestone now (charge the default payment "
                                  "method)", objectName="fundNowCheck")
        self.fund_now.setChecked(fund_mode is not None)
        self.fund_now.setEnabled(fund_mode is not None)
        self.form.addRow(self.fund_now)
        note = QLabel("Connect Stripe in Settings to fund from here." if fund_mode is None else
                      "Unchecked, the milestone is created Not Funded; fund it later.",
                      wordWrap=True)
        note.setProperty("role", "hint")
        self.form.addRow(note)

    def build(self):
        name = _check(self.name, partial(clean_required, what="trainer's name"),
                      self.name.text())
        email = _check(self.email, clean_email, self.email.text())
        draft = self.milestone.draft()
        mode = self.fund_mode if self.fund_now.isChecked() else None
        return partial(services.hire_trainer, self.uow(), self.job_id, name, email, draft, mode)


class MilestoneDialog(FormDialog):
    """Add a milestone to a contract, or edit one that is still Not Funded."""

    def __init__(self, db: Ops, uow, contract_id: int,
                 existing: MilestoneRow | None = None, parent: QWidget | None = None) -> None:
        editing = existing is not None
        super().__init__(db, "Edit milestone" if editing else "Add milestone",
                         "editMilestoneDialog" if editing else "addMilestoneDialog",
                         "Save" if editing else "Add milestone", parent)
        self.uow, self.contract_id, self.existing = uow, contract_id, existing
        self.fields = MilestoneFields(self)
        #: the version shown; another seat's save in between is refused (ConcurrentChange)
        self.version = existing.version or None if existing is not None else None
        if existing is not None:
            self.fields.fill(existing.title, existing.description,
                             Money(existing.amount_cents), existing.due_date)

    def build(self):
        draft = self.fields.draft()
        if self.existing is not None:
            return partial(services.edit_milestone, self.uow(), self.existing.id, draft,
                           self.version)
        return partial(services.add_milestone, self.uow(), self.contract_id, draft)


class EditJobDialog(FormDialog):
    """Rename a job; refused with who and when if another seat renamed it meanwhile."""

    def __init__(self, db: Ops, uow, job: JobRow, parent: QWidget | None = None) -> None:
        super().__init__(db, "Edit job", "editJobDialog", "Save", parent)
        self.uow, self.job_id = uow, job.id
        self.version = job.version or None
        self.title_edit = self.line_edit("Job title:", "jobTitleEdit")
        self.title_edit.setText(job.title)

    def build(self):
        title = _check(self.title_edit, partial(clean_required, what="job title"),
                       self.title_edit.text())
        return partial(services.edit_job, self.uow(), self.job_id, title, None, self.version)


class SubmissionDialog(FormDialog):
    """Record that the trainer marked the milestone complete."""

    def __init__(self, db: Ops, uow, milestone: MilestoneRow,
                 parent: QWidget | None = None) -> None:
        super().__init__(db, f"Record submission — {milestone.title}",
                         "recordSubmissionDialog", "Mark complete", parent)
        self.uow, self.milestone_id = uow, milestone.id
        self.note = self.text_edit("Trainer's note:", "submissionNoteEdit",
                                   "What was delivered (optional)")
        self.link = self.line_edit("Deliverable link:", "deliverableLinkEdit",
                                   "https://… (optional)")

    def build(self):
        link = self.link.text().strip()
        if link and not link.lower().startswith(("http://", "https://")):
            raise FieldError(self.link, "The deliverable link must start with https://")
        return partial(services.record_submission, self.uow(), self.milestone_id,
                       self.note.toPlainText(), link)


class RequestChangesDialog(FormDialog):
    def __init__(self, db: Ops, uow, milestone: MilestoneRow,
                 parent: QWidget | None = None) -> None:
        super().__init__(db, f"Request changes — {milestone.title}",
                         "requestChangesDialog", "Request changes", parent)
        self.uow, self.milestone_id = uow, milestone.id
        self.note = self.text_edit("What needs to change:", "changesNoteEdit")

    def build(self):
        note = self.note.toPlainText().strip()
        if not note:
            raise FieldError(self.note, "Tell the trainer what needs to change.")
        return partial(services.request_changes, self.uow(), self.milestone_id, note)
