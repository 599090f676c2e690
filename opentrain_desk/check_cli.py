"""``--check-stripe``: print every difference between the books and Stripe (for scripts).

Exit codes: 0 the books match Stripe, 1 differences were found (listed on stdout),
2 the check could not run (Stripe not connected or unreachable)."""
from __future__ import annotations

import sys

from .domain.money import format_cents


def run(settings, sandbox_server=None, out=None) -> int:
    from .workspace import Workspace
    from .services import stripe_check
    from .services.ports import GatewayError
    out = out or sys.stdout
    workspace = Workspace(settings, sandbox_server)
    try:
        gateway = workspace.stripe.gateway()
        if gateway is None:
            print("Stripe is not connected for this workspace: add the secret key in "
                  "Settings → Stripe first.", file=sys.stderr)
            return 2
        try:
            differences = stripe_check.check(workspace.uow, gateway)
        except GatewayError as error:
            print(f"Could not check against Stripe: {error.message}", file=sys.stderr)
            return 2
        for line in report_lines(differences):
            print(line, file=out)
        return 1 if differences else 0
    finally:
        workspace.close()


def report_lines(differences) -> list[str]:
    if not differences:
        return ["No differences: the books match Stripe."]
    lines = [f"{len(differences)} difference(s) between the books and Stripe:"]
    for d in differences:
        amounts = f"books {format_cents(d.books_cents)}, Stripe {format_cents(d.stripe_cents)}"
        lines.append(f"- {d.problem.value}: {d.stripe_id} ({d.label}; {amounts})")
        lines.append(f"  What to do: {d.what_to_do}")
    return lines
