"""The mail outbox against a real SMTP server (aiosmtpd) in the test process."""
from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opentrain_desk.mail.sandbox_smtp import SandboxSmtp, free_port
from opentrain_desk.mail.smtp import SmtpSender, SmtpSettings
from opentrain_desk.mail.templates import KINDS, TemplateError, Templates
from opentrain_desk.services import mail as mail_service
from opentrain_desk.services.ports import MailError, MailErrorKind, OutgoingMail
from opentrain_desk.services.workspace_settings import workspace_id
from tests.integration.mail_helpers import (add_trainer, configure, force_due, owe, rows,
                                            worker)

SCRIPT = Path(__file__).with_name("mail_crash_worker.py")


@pytest.fixture
def smtp(tmp_path):
    server = SandboxSmtp(tmp_path / "mail").start()
    yield server
    server.stop()


def test_each_kind_is_sent_once_with_a_stable_message_id(factory, smtp):
    link = configure(factory, smtp)
    trainer = add_trainer(factory)
    for kind in KINDS:
        owe(factory, trainer, kind, event=f"test:{kind}", amount="$10.00")
    worker(factory, link).run_once()
    worker(factory, link).run_once()  # nothing left: nothing sent again
    received = smtp.received()
    assert len(received) == len(KINDS)
    with factory() as uow:
        workspace = workspace_id(uow)
    for row, mail in zip(rows(factory), received, strict=True):
        assert row.status == "sent" and row.sent_at is not None and row.attempts == 1
        assert mail.message_id == row.message_id == (
            f"<otd-msg-{row.id}.{workspace}@acme.test>")
        assert mail.to == ("ana@example.com",) and mail.subject == row.subject
        assert f"Body of {row.kind}." in mail.text() and "Acme Agency" in mail.text()
        assert f"Body of {row.kind}." in mail.html() and "<b>Acme Agency</b>" in mail.html()
        assert mail.path is not None and mail.path.read_bytes() == mail.raw
    setup = next(m for m in received if m.subject == "Subject of setup needed")
    assert "https://example.com/link" in setup.text()
    assert 'href="https://example.com/link"' in setup.html()


def test_without_smtp_messages_stay_drafts_for_the_mail_client_way(factory, smtp):
    trainer = add_trainer(factory)
    owe(factory, trainer)
    [row] = rows(factory)
    assert row.status == "draft"
    link = configure(factory, smtp)
    worker(factory, link).run_once()
    assert smtp.received() == [] and rows(factory)[0].status == "draft"
    mail_service.resend(factory, row.id)  # a person chose to send it after all
    worker(factory, link).run_once()
    assert rows(factory)[0].status == "sent" and len(smtp.received()) == 1


def test_the_same_event_applied_twice_gives_one_message(factory, smtp):
    link = configure(factory, smtp)
    trainer = add_trainer(factory)
    owe(factory, trainer, event="payout:op_1:sent")
    owe(factory, trainer, event="payout:op_1:sent")
    assert len(rows(factory)) == 1
    worker(factory, link).run_once()
    assert len(smtp.received()) == 1


def test_wrong_password_keeps_the_message_queued_with_the_reason(factory, tmp_path):
    server = SandboxSmtp(auth=("agent", "right")).start()
    try:
        link = configure(factory, server, user="agent", password="wrong")
        owe(factory, add_trainer(factory))
        mail_worker = worker(factory, link)
        mail_worker.run_once()
        [row] = rows(factory)
        assert row.status == "queued" and "refused the user name or password" in row.last_error
        assert row.next_attempt_at is not None and "wrong" not in row.last_error
        assert mail_worker.state.online is False and server.received() == []
        link.save(link.config(), "right")
        force_due(factory)
        mail_worker.run_once()
        assert rows(factory)[0].status == "sent" and len(server.received()) == 1
    finally:
        server.stop()


def test_server_down_retries_later_then_sends(factory, tmp_path):
    port = free_port()
    server = SandboxSmtp(port=port)
    link = configure(factory, server)
    owe(factory, add_trainer(factory))
    mail_worker = worker(factory, link)
    mail_worker.run_once()
    [row] = rows(factory)
    assert row.status == "queued" and "Cannot reach the mail server" in row.last_error
    assert row.next_attempt_at is not None and row.attempts == 1
    server.start()
    try:
        mail_worker.run_once()  # not due yet: backoff
        assert server.received() == []
        force_due(factory)
        mail_worker.run_once()
        [row] = rows(factory)
        assert row.status == "sent" and row.attempts == 2 and row.last_error == ""
        assert len(server.received()) == 1
    finally:
        server.stop()


def test_tls_refused(factory, smtp):
    link = configure(factory, smtp, security="starttls")  # the server offers no STARTTLS
    owe(factory, add_trainer(factory))
    worker(factory, link).run_once()
    [row] = rows(factory)
    assert row.status == "queued" and "does not offer STARTTLS" in row.last_error
    link = configure(factory, smtp, security="tls")  # implicit TLS against a plain server
    force_due(factory)
    worker(factory, link).run_once()
    [row] = rows(factory)
    assert row.status == "queued" and "secure connection" in row.last_error
    assert smtp.received() == []


def test_a_server_that_never_answers_times_out(factory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never say a word
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        server = type("S", (), {"host": "127.0.0.1", "port": listener.getsockname()[1]})
        link = configure(factory, server, timeout=0.5)
        owe(factory, add_trainer(factory))
        worker(factory, link).run_once()  # returns: no hang
        [row] = rows(factory)
        assert row.status == "queued" and "did not answer" in row.last_error
        assert accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_refused_recipient_fails_with_the_reason_and_is_not_retried(factory, smtp):
    smtp.reject.add("gone@example.com")
    link = configure(factory, smtp)
    owe(factory, add_trainer(factory, email="gone@example.com"))
    owe(factory, add_trainer(factory, "Bo", "bo@example.com"))
    worker(factory, link).run_once()
    gone, bo = rows(factory)
    assert gone.status == "failed" and "refused the address gone@example.com" in gone.last_error
    assert "550" in gone.last_error and bo.status == "sent"
    force_due(factory)
    worker(factory, link).run_once()
    assert rows(factory)[0].status == "failed" and len(smtp.received()) == 1
    mail_service.resend(factory, gone.id)  # by hand, e.g. after the address was fixed
    assert rows(factory)[0].status == "queued"


def test_a_template_with_a_missing_field(factory, smtp, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    for source in Templates().folder.iterdir():
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "payment_sent.txt").write_text("{body}\nYour code: {bonus_code}\n",
                                             encoding="utf-8")
    link = configure(factory, smtp)
    link.templates = Templates(folder)
    with pytest.raises(TemplateError, match=r"payment_sent.txt uses the field \{bonus_code\}"):
        link.preview("payment sent")
    link.preview("payout failed")  # the others are fine
    owe(factory, add_trainer(factory))
    worker(factory, link).run_once()
    [row] = rows(factory)
    assert row.status == "queued" and "{bonus_code}" in row.last_error
    assert smtp.received() == []  # never a half-filled mail


def test_do_not_email(factory, smtp):
    link = configure(factory, smtp)
    trainer = add_trainer(factory)
    owe(factory, trainer)
    mail_service.set_do_not_email(factory, trainer, True)
    owe(factory, trainer, "payout failed")
    worker(factory, link).run_once()
    assert [r.status for r in rows(factory)] == ["withheld", "withheld"]
    assert smtp.received() == []
    with pytest.raises(Exception, match="do not e-mail"):
        mail_service.resend(factory, rows(factory)[0].id)


def test_killed_while_sending_leaves_the_message_unknown_and_unsent_again(
        factory, smtp, sqlite_url):
    link = configure(factory, smtp)
    owe(factory, add_trainer(factory))
    smtp.hold_answer = threading.Event()  # the message arrives; the answer never comes
    process = subprocess.Popen([sys.executable, str(SCRIPT), sqlite_url],
                               cwd=Path(__file__).resolve().parents[2])
    try:
        assert smtp.data_arrived.wait(30), "the worker never sent DATA"
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    [row] = rows(factory)
    assert row.status == "sending" and row.attempts == 1
    smtp.hold_answer.set()
    smtp.hold_answer = None
    worker(factory, link).run_once()
    worker(factory, link).run_once()
    [row] = rows(factory)
    assert row.status == "unknown" and "may have been sent" in row.last_error
    assert len(smtp.received()) == 1  # never re-sent automatically
    mail_service.resend(factory, row.id)  # a person decides: the same Message-ID again
    worker(factory, link).run_once()
    first, second = smtp.received()
    assert first.message_id == second.message_id == rows(factory)[0].message_id


def test_a_dropped_answer_after_data_is_unknown(factory, smtp):
    smtp.hold_answer = threading.Event()
    sender = SmtpSender(SmtpSettings("127.0.0.1", smtp.port, "none", sender_address="a@b.c",
                                     timeout=0.5))
    with pytest.raises(MailError) as caught:
        sender.send(OutgoingMail("<x@y>", "ana@example.com", "s", "t"))
    smtp.hold_answer.set()
    assert caught.value.kind is MailErrorKind.UNKNOWN


def test_starttls_and_login_over_tls(factory, tmp_path):
    pytest.importorskip("cryptography")
    from tests.integration.tls_certs import make_cert
    cert, key = make_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server = SandboxSmtp(auth=("agent", "s3cret"), tls_context=server_ctx,
                         require_starttls=True).start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        sender = SmtpSender(SmtpSettings("127.0.0.1", server.port, "starttls", "agent",
                                         "s3cret", "Acme", "payouts@acme.test", 5),
                            client_ctx)
        sender.send(OutgoingMail("<t@acme.test>", "ana@example.com", "Hello", "Text"))
        assert [m.subject for m in server.received()] == ["Hello"]
    finally:
        server.stop()


def test_outbox_on_sqlite_and_postgres(migrated_db_url, smtp):
    from opentrain_desk.persistence import database
    from opentrain_desk.services.unit_of_work import UnitOfWorkFactory
    engine = database.create_engine(migrated_db_url)
    database.migrate(engine)
    factory = UnitOfWorkFactory(engine, actor="owner@agency")
    try:
        link = configure(factory, smtp)
        trainer = add_trainer(factory)
        owe(factory, trainer, event="e:1")
        owe(factory, trainer, event="e:1")
        claimed = mail_service.claim_next(factory, "acme.test")
        assert claimed is not None and mail_service.claim_next(factory, "acme.test") is None
        mail_service.record_sent(factory, claimed)
        worker(factory, link).run_once()
        [row] = rows(factory)
        assert row.status == "sent" and smtp.received() == []  # claimed by hand above
    finally:
        engine.dispose()
