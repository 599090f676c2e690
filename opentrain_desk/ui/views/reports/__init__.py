"""Reports, one module per thing a person sees: the invoice list and its filters
(``invoices_tab``, model in ``invoices_model``), the monthly chart (``chart``), the payment
history tab (``history_tab``), exports (``exporter``: every file the area writes, on
``ctx.files``), Check against Stripe (``stripe_check`` + ``differences``), and the page
that holds the tabs (``page``). Period arithmetic is ``domain.periods`` (pure, tested)."""
