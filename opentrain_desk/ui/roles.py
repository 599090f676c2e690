"""What the signed-in member's role cannot do is disabled, with the reason as its tooltip.

One table names each action widget (by its ``objectName``, see UI_CONTRACT.md) and the
capability it needs. :class:`RoleGate` applies it to the main window and to everything
opened from it — contract tabs, dialogs — when they are shown, and again whenever a view
re-enables a button for its own reasons (a milestone selected), so the views need not know
about roles. The services refuse the same things (``RoleRefused``) and, in a team
workspace, so does the database: hiding is a courtesy, not the protection.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QWidget

from ..domain.roles import Capability, RoleRefused
from ..services.team import Member

C = Capability
GATED: dict[str, Capability] = {
    **dict.fromkeys(("newJobButton", "welcomeNewJobButton", "actionNewJob", "archiveJobButton",
                     "restoreJobButton"), C.MANAGE_JOBS),
    "hireButton": C.HIRE,
    **dict.fromkeys(("addMilestoneButton", "editMilestoneButton", "deleteMilestoneButton"),
                    C.EDIT_MILESTONES),
    "recordSubmissionButton": C.RECORD_SUBMISSION,
    "requestChangesButton": C.REQUEST_CHANGES,
    **dict.fromkeys(("fundMilestoneButton", "cancelFundingButton", "adoptChargeButton",
                     "completeAuthButton"), C.FUND),
    **dict.fromkeys(("approveMilestoneButton", "confirmApproveButton", "retryPayoutButton",
                     "setupPayoutsButton"), C.APPROVE),
    **dict.fromkeys(("refundMilestoneButton", "confirmRefundButton", "refundPayoutButton",
                     "refundChargeButton", "saveEvidenceButton", "submitEvidenceButton"),
                    C.REFUND),
    **dict.fromkeys(("addPaymentMethodButton", "addBankAccountButton", "openCardSetupButton",
                     "removePaymentMethodButton", "setDefaultPaymentMethodButton"),
                    C.BILLING),
    **dict.fromkeys(("subscribeButton", "changePlanButton", "cancelPlanButton",
                     "resumePlanButton", "renewPlanButton", "accountTypeCombo"), C.PLAN),
    **dict.fromkeys(("saveStripeKeyButton", "removeStripeKeyButton", "stripeKeyEdit"),
                    C.STRIPE_KEY),
    **dict.fromkeys(("saveCompanyButton", "chooseLogoButton", "removeLogoButton"),
                    C.COMPANY_DETAILS),
    "markMessageSentButton": C.MESSAGES,
    **dict.fromkeys(("exportCsvButton", "exportPdfButton", "exportPdfAction",
                     "exportHistoryCsvButton", "exportDifferencesButton", "exportAuditCsvButton",
                     "exportZipChoiceButton", "exportFolderChoiceButton"), C.EXPORT),
    **dict.fromkeys(("addMemberButton", "memberRoleCombo", "deactivateMemberButton",
                     "reactivateMemberButton", "resetPasswordButton", "saveYourNameButton"),
                    C.MANAGE_TEAM),
}

_TIP = "roleTip"  # property: the tooltip a widget had before the gate replaced it
_HELD = "roleHeld"  # property: the gate (not the view) keeps it disabled


def refusal(member: Member, capability: Capability) -> str:
    return str(RoleRefused(member.role, capability))


def allowed(member: Member | None, name: str) -> bool:
    """May ``member`` use the widget named ``name``? (Unknown member: yes, for now.)"""
    capability = GATED.get(name)
    return member is None or capability is None or member.can(capability)


OFFLINE = ("The connection to the workspace server is lost: changes are off until it is "
           "back (the app reconnects by itself). What you typed is kept.")


class RoleGate(QObject):
    """Keeps the main window's (and its dialogs') gated actions disabled for this role,
    and every one of them while the team server is unreachable (``set_offline``)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.member: Member | None = None
        self.offline = ""  # why nothing can be changed now ("" = connected)
        QApplication.instance().installEventFilter(self)  # removed when the gate dies

    def set_member(self, member: Member) -> None:
        """Apply ``member``'s role; again when it changes while signed in, both ways (a
        promotion re-enables what the gate alone held disabled)."""
        self.member = member
        self._reapply()

    def set_offline(self, reason: str) -> None:
        """Writes off with ``reason`` while the server is lost; ``""`` when it is back."""
        if reason != self.offline:
            self.offline = reason
            self._reapply()

    def _why_not(self, capability: Capability) -> str:
        if self.offline:
            return self.offline
        if self.member is not None and not self.member.can(capability):
            return refusal(self.member, capability)
        return ""

    def _reapply(self) -> None:
        for name in GATED:
            for widget in self.window.findChildren(QWidget, name):
                self._apply(widget)
            for action in self.window.findChildren(QAction, name):
                self._apply_action(action)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if ((self.member is not None or self.offline)
                and event.type() in (QEvent.Type.Show, QEvent.Type.EnabledChange)
                and isinstance(watched, QWidget) and watched.objectName() in GATED
                and self._mine(watched)):
            self._apply(watched)
        return False

    def _mine(self, widget: QWidget) -> bool:
        parent = widget.parentWidget()
        while parent is not None:
            if parent is self.window:
                return True
            parent = parent.parentWidget()
        return False

    def _apply(self, widget: QWidget) -> None:
        reason = self._why_not(GATED[widget.objectName()])
        if not reason:
            self._release(widget)
            return
        if widget.property(_TIP) is None:
            widget.setProperty(_TIP, widget.toolTip())
        widget.setToolTip(reason)
        if widget.isEnabled():
            widget.setProperty(_HELD, True)  # the view wanted it enabled
            widget.setEnabled(False)

    def _release(self, widget: QWidget) -> None:
        """The role may now (an upgrade while signed in): the view's own state returns —
        its tooltip, and enabled if the gate was what held it disabled."""
        if widget.property(_TIP) is not None:
            widget.setToolTip(widget.property(_TIP))
            widget.setProperty(_TIP, None)
        if widget.property(_HELD):
            widget.setProperty(_HELD, None)
            widget.setEnabled(True)

    def _apply_action(self, action: QAction) -> None:
        reason = self._why_not(GATED[action.objectName()])
        if action.property(_HELD) is None:  # once: keep it disabled while the role may not
            action.changed.connect(lambda a=action: self._hold_action(a))
            action.setProperty(_HELD, False)
        if not reason:
            if action.property(_HELD):
                action.setProperty(_HELD, False)
                action.setToolTip(action.property(_TIP) or "")
                action.setEnabled(True)
            return
        if not action.property(_HELD):
            action.setProperty(_TIP, action.toolTip())
        action.setProperty(_HELD, True)
        action.setToolTip(reason)
        action.setEnabled(False)

    def _hold_action(self, action: QAction) -> None:
        if action.property(_HELD) and action.isEnabled():
            action.setEnabled(False)

    def close(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
