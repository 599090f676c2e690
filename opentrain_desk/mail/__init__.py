"""Outgoing mail: the SMTP adapter, the templates, the outbox worker, the sandbox server."""
