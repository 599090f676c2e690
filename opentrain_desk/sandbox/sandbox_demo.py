"""The demo agency inside the Stripe sandbox: real emulator charges behind its states."""
from __future__ import annotations

from datetime import timedelta

from ..domain.milestones import MilestoneStatus
from ..payments.outbox import OutboxWorker
from ..services import billing, funding
from ..services import jobs as services
from ..services.ports import PaymentGateway
from ..services.unit_of_work import UnitOfWorkFactory
from .demo import advance_locally, seed_demo

COMPANY = {"company.name": "Northwind AI Data Studio", "company.email": "billing@northwind.example"}


def seed_sandbox_demo(factory: UnitOfWorkFactory, gateway: PaymentGateway) -> None:
    """Demo agency with a test card on file; funded milestones are funded for real."""
    with factory() as uow:
        if uow.settings.get(funding.default_card_key(gateway.mode)):
            return  # already seeded
        for key, value in COMPANY.items():
            uow.settings.set(key, value)
        uow.commit()
    card = billing.add_test_card(factory, gateway, "pm_card_visa")
    needs_3ds = billing.add_test_card(factory, gateway, "pm_card_authenticationRequired")
    billing.set_default(factory, gateway, card.id)
    worker = OutboxWorker(factory, lambda: gateway, lease=timedelta(0))

    def advance(f: UnitOfWorkFactory, milestone_id: int, target: str) -> None:
        if target == "NOT_FUNDED":
            return
        if target == "FUNDING":  # a payment waiting for 3-D Secure: "Funding (action needed)"
            funding.queue_funding(f(), milestone_id, gateway.mode, needs_3ds.id)
        else:
            funding.queue_funding(f(), milestone_id, gateway.mode)
        worker.run_once(reconcile=False)
        if target in ("PENDING_APPROVAL", "PAID"):
            advance_locally(f, milestone_id, target, from_status=MilestoneStatus.ACTIVE_FUNDED)

    seed_demo(factory, advance)
