"""Settings: one scrollable column of sections, each in its own module of this package.

Data is loaded the first time the page is shown; every section runs its work on
``ctx.db`` (database) or ``ctx.net`` (Stripe) with itself as the owner, so a section
that is gone receives nothing.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from ...context import AppContext
from .appearance_section import AppearanceSection
from .billing_section import BillingSection
from .common import label
from .company_section import CompanySection
from .email_section import EmailSection
from .plan_section import PlanSection
from .profile_section import ProfileSection
from .stripe_section import StripeSection
from .team_section import TeamSection
from .workspace_section import WorkspaceSection

PAGE_WIDTH = 860  # the settings column stays readable on wide windows


class SettingsPage(QWidget):
    """Scrollable column of sections; data is loaded the first time the page is shown."""

    stripeChanged = Signal()  # a key was saved or removed (mode may have changed)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPage")
        self.ctx = ctx
        self._loaded = False
        self.stripe_section = StripeSection(ctx)
        self.billing_section = BillingSection(ctx)
        self.company_section = CompanySection(ctx)
        self.email_section = EmailSection(ctx)
        self.plan_section = PlanSection(ctx)
        self.workspace_section = WorkspaceSection(ctx)
        self.profile_section = ProfileSection(ctx)
        self.team_section = TeamSection(ctx)
        self.appearance_section = AppearanceSection(ctx.extras.get("layout"))
        self.scroll = QScrollArea(objectName="settingsScroll", widgetResizable=True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self.stripe_section.changed.connect(self._stripe_changed)

    def _content(self) -> QWidget:
        column = QWidget(objectName="settingsColumn")
        column.setMaximumWidth(PAGE_WIDTH)
        sections = QVBoxLayout(column)
        sections.setContentsMargins(0, 0, 0, 0)
        sections.setSpacing(18)
        sections.addWidget(label("Settings", role="title"))
        for section in (self.stripe_section, self.billing_section, self.company_section,
                        self.email_section, self.plan_section, self.profile_section,
                        self.team_section, self.appearance_section,
                        self.workspace_section):
            sections.addWidget(section)
        sections.addStretch()
        content = QWidget()
        outer = QHBoxLayout(content)
        outer.setContentsMargins(20, 12, 20, 20)
        outer.addWidget(column, 1)
        outer.addStretch(0)
        return content

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._load_once()

    def _load_once(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.refresh()

    def refresh(self) -> None:
        self.stripe_section.refresh()
        self.billing_section.reload()
        self.company_section.load()
        self.email_section.load()
        self.plan_section.load()
        self.profile_section.load()
        self.team_section.load()

    def _stripe_changed(self) -> None:
        self.stripeChanged.emit()
        if self.ctx.sync is not None:
            self.ctx.sync.connection_changed()
        self.billing_section.reload()  # the other key may be another account / mode

    # -- called from elsewhere (e.g. the "no payment method" prompt) ----------------------
    def show_billing(self) -> None:
        """Scroll to the Billing section and focus its table."""
        self._reveal_billing()
        QTimer.singleShot(0, self, self._reveal_billing)  # again once the layout has settled

    def _reveal_billing(self) -> None:
        self.scroll.ensureWidgetVisible(self.billing_section, 0, 0)
        self.billing_section.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_plan(self) -> None:
        """Scroll to the Plan section (from the 'plan required' prompt)."""
        self._load_once()
        QTimer.singleShot(0, self, self._reveal_plan)
        self.plan_section.plans.setFocus(Qt.FocusReason.OtherFocusReason)

    def _reveal_plan(self) -> None:
        self.scroll.ensureWidgetVisible(self.plan_section, 0, 0)

    def add_payment_method(self) -> None:
        """Open the add-payment-method dialog (or say why it cannot open)."""
        self.show_billing()
        self.billing_section.add_payment_method()
