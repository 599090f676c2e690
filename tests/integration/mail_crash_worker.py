"""Run the mail worker in its own process (killed by the test while it waits for the
server's answer to DATA: see test_mail.py)."""
import sys

from opentrain_desk.mail.link import MailConnection
from opentrain_desk.mail.outbox import MailWorker
from opentrain_desk.persistence import database
from opentrain_desk.services.unit_of_work import UnitOfWorkFactory


def main(db_url: str) -> None:
    engine = database.create_engine(db_url)
    factory = UnitOfWorkFactory(engine, actor="mail-worker")
    MailWorker(factory, MailConnection(factory, None, timeout=120)).run_once()
    sys.exit(3)  # not reached: killed while waiting for the answer


if __name__ == "__main__":
    main(sys.argv[1])
