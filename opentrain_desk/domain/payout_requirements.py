"""Stripe Connect requirement fields (``business_profile.mcc``) in words people use."""
from __future__ import annotations

_WORDS = {
    "business_profile.mcc": "business type",
    "business_profile.url": "website",
    "business_profile.product_description": "description of the work",
    "business_profile.name": "business name",
    "business_type": "business type",
    "external_account": "bank account for payouts",
    "tos_acceptance": "acceptance of Stripe's terms",
    "individual.dob": "date of birth",
    "individual.address": "address",
    "individual.first_name": "legal name",
    "individual.last_name": "legal name",
    "individual.email": "email address",
    "individual.phone": "phone number",
    "individual.id_number": "ID number",
    "individual.ssn_last_4": "last 4 digits of the SSN",
    "individual.verification": "identity document",
    "company.tax_id": "company tax ID",
    "company.name": "company name",
    "company.address": "company address",
    "representative": "representative's details",
    "settings.payments.statement_descriptor": "statement descriptor",
}


def in_words(field: str) -> str:
    """``individual.dob.day`` → ``date of birth``; unknown fields read as their last part."""
    parts = field.strip().split(".")
    for size in range(len(parts), 0, -1):
        words = _WORDS.get(".".join(parts[:size]))
        if words:
            return words
    return parts[-1].replace("_", " ")


def requirements_in_words(fields: str, limit: int = 4) -> str:
    """A comma-separated Stripe list as a short, de-duplicated list of words."""
    words: list[str] = []
    for field in fields.split(","):
        if field.strip() and (word := in_words(field)) not in words:
            words.append(word)
    shown = ", ".join(words[:limit])
    return shown + (f" and {len(words) - limit} more" if len(words) > limit else "")
