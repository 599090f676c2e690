"""Mail templates: one plain-text and one HTML file per message kind.

Files live in ``resources/mail_templates/``: ``<kind>.txt`` and ``<kind>.html`` (the kind
with spaces as underscores, e.g. ``payment_sent.txt``); a kind without its own files uses
``default.*``. Fields are written ``{name}``: the message's own fields (``subject``,
``body``, ``link``, ``trainer_name`` and what its use case stored: ``amount``,
``milestone``, ``job``, ``note``…) and the agency's (``agency_name``, ``agency_email``,
``logo``). In HTML every value is escaped; ``{body_html}``, ``{link_html}`` and ``{logo}``
are ready-made markup. A field the message does not have is a :class:`TemplateError`
naming it: the message is never sent half-filled.
"""
from __future__ import annotations

import html
import string
from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import DomainError
from ..resources import resource_path

KINDS = ("payout started", "setup needed", "onboarding link", "payment sent",
         "payout failed", "changes requested", "milestone cancelled")


class TemplateError(DomainError):
    pass


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def default_folder() -> Path:
    return resource_path("mail_templates")


def _slug(kind: str) -> str:
    return kind.replace(" (withdrawn)", "").strip().replace(" ", "_")


class Templates:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else default_folder()

    def source(self, kind: str, suffix: str) -> tuple[str, str]:
        """``(file name, text)`` of the template used for ``kind`` (.txt or .html)."""
        for name in (f"{_slug(kind)}.{suffix}", f"default.{suffix}"):
            path = self.folder / name
            if path.is_file():
                return name, path.read_text(encoding="utf-8")
        raise TemplateError(f"No mail template for “{kind}” in {self.folder} "
                            f"(expected {_slug(kind)}.{suffix} or default.{suffix}).")

    def render(self, kind: str, fields: dict[str, str], has_logo: bool = False) -> Rendered:
        plain = {k: str(v) for k, v in fields.items()}
        link = plain.get("link", "")
        plain.setdefault("link_line", f"\n{link}\n" if link and link not in
                         plain.get("body", "") else "")
        marked = {k: html.escape(v) for k, v in plain.items()}
        marked["body_html"] = "".join(
            f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
            for part in plain.get("body", "").strip().split("\n\n") if part)
        marked["link_html"] = (f'<p><a href="{html.escape(link, quote=True)}">'
                               f"{html.escape(link)}</a></p>" if link else "")
        marked["logo"] = (f'<img src="cid:logo" alt="{marked.get("agency_name", "")}" '
                          'style="max-height:48px">' if has_logo else "")
        marked["link_line"] = ""
        text = self._fill(kind, "txt", plain)
        body = self._fill(kind, "html", marked)
        return Rendered(plain.get("subject", ""), text, body)

    def _fill(self, kind: str, suffix: str, values: dict[str, str]) -> str:
        name, source = self.source(kind, suffix)
        try:
            return source.format_map(_Strict(values))
        except KeyError as error:
            field = error.args[0]
            raise TemplateError(
                f"The mail template {name} uses the field {{{field}}}, which a “{kind}” "
                "message does not have: fix the template (the message stays queued)."
            ) from None
        except (ValueError, IndexError, AttributeError) as error:
            raise TemplateError(f"The mail template {name} is not valid ({error}): write "
                                "fields as {name} and a literal brace as {{ or }}.") from None


class _Strict(dict):
    def __missing__(self, key):
        raise KeyError(key)


def fields_of(template: str) -> set[str]:
    """The field names a template uses (for the preview)."""
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template)
            if name}
