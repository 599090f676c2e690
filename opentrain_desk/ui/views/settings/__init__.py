"""Settings, one module per section (see ``page.py`` for the page that stacks them):

``stripe_section`` (the key), ``billing_section`` + ``cards_model`` +
``payment_method_dialog`` (payment methods), ``company_section`` + ``logo_field``,
``plan_section``, ``profile_section`` (You), ``appearance_section``,
``workspace_section``; ``common`` holds the small widget helpers they share.
"""
from .page import SettingsPage

__all__ = ["SettingsPage"]
