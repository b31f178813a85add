"""The merchant page's words, in English and Danish."""

from collections.abc import Mapping

TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Connect Stripe to e-conomic",
        "stripe": "Stripe",
        "installed": "Kobling is installed",
        "not_installed": "Kobling is not installed",
        "test_mode": "test mode",
        "economic": "Visma e-conomic",
        "not_connected": "Not connected",
        "not_connected_help": "Connect your e-conomic company so Kobling can keep your books.",
        "connect": "Connect e-conomic",
        "act_in_stripe": "You connect e-conomic from the Kobling app in your Stripe Dashboard: "
        "this button takes you there.",
        "manage_in_stripe": "To disconnect, or to connect another company, use the Kobling app "
        "in your Stripe Dashboard.",
        "connected": "Connected",
        "connected_developer": "Connected to a developer agreement",
        "company": "Company",
        "agreement": "Agreement number",
        "cin": "Company registration number (CVR)",
        "vat_number": "VAT number",
        "connected_at": "Connected",
        "continue": "Continue",
        "failed": "We couldn't connect e-conomic",
        "try_again": "Try again",
        "disconnected": "Disconnected",
        "reconnect": "Reconnect",
        "waiting": "Finishing… this page updates by itself.",
        "shared_warning": "This e-conomic company is also connected to {count} other Stripe "
        "account(s). Make sure that is intended, or connect another company.",
        "remove_in_economic": "To remove the app in e-conomic too: Settings → Extensions → Apps.",
        "developer_warning": "This is an e-conomic developer agreement: it holds no bookkeeping, "
        "so Kobling cannot sync anything to it. Connect your company's own agreement instead.",
        "reason.state_invalid": "The sign-in took too long or was already used.",
        "reason.grant_rejected": "e-conomic did not accept the access it gave us.",
        "reason.permission_refused": "The e-conomic user who added the app lacks a role Kobling "
        "requires (Superuser). Ask a user with that role in e-conomic to add it.",
        "reason.economic_unavailable": "e-conomic did not answer. This is usually brief.",
        "reason.app_uninstalled": "Kobling was uninstalled from Stripe.",
        "reason.merchant_request": "You disconnected e-conomic.",
        "reason.grant_revoked": "The Kobling app was removed in e-conomic.",
        "reason.replaced": "Another company was connected instead.",
        "reason.unknown": "Something went wrong.",
    },
    "da": {
        "title": "Forbind Stripe med e-conomic",
        "stripe": "Stripe",
        "installed": "Kobling er installeret",
        "not_installed": "Kobling er ikke installeret",
        "test_mode": "testtilstand",
        "economic": "Visma e-conomic",
        "not_connected": "Ikke forbundet",
        "not_connected_help": "Forbind din e-conomic-virksomhed, så Kobling kan føre dit regnskab.",
        "connect": "Forbind e-conomic",
        "act_in_stripe": "Du forbinder e-conomic fra Kobling-appen i dit Stripe Dashboard: "
        "knappen fører dig dertil.",
        "manage_in_stripe": "Brug Kobling-appen i dit Stripe Dashboard for at afbryde "
        "forbindelsen eller forbinde en anden virksomhed.",
        "connected": "Forbundet",
        "connected_developer": "Forbundet til en udvikleraftale",
        "company": "Virksomhed",
        "agreement": "Aftalenummer",
        "cin": "CVR-nummer",
        "vat_number": "Momsnummer",
        "connected_at": "Forbundet",
        "continue": "Fortsæt",
        "failed": "Vi kunne ikke forbinde e-conomic",
        "try_again": "Prøv igen",
        "disconnected": "Afbrudt",
        "reconnect": "Forbind igen",
        "waiting": "Gør klar… siden opdaterer sig selv.",
        "shared_warning": "Denne e-conomic-virksomhed er også forbundet til {count} anden/andre "
        "Stripe-konti. Sørg for, at det er meningen, eller forbind en anden virksomhed.",
        "remove_in_economic": "Fjern også appen i e-conomic: Indstillinger → Udvidelser → Apps.",
        "developer_warning": "Dette er en e-conomic-udvikleraftale: den har intet regnskab, så "
        "Kobling kan ikke synkronisere noget til den. Forbind din virksomheds egen aftale i "
        "stedet.",
        "reason.state_invalid": "Login tog for lang tid eller var allerede brugt.",
        "reason.grant_rejected": "e-conomic godkendte ikke den adgang, vi fik.",
        "reason.permission_refused": "e-conomic-brugeren, der tilføjede appen, mangler en rolle, "
        "Kobling kræver (Superuser). Bed en bruger med den rolle i e-conomic om at tilføje den.",
        "reason.economic_unavailable": "e-conomic svarede ikke. Det går som regel hurtigt over.",
        "reason.app_uninstalled": "Kobling blev afinstalleret fra Stripe.",
        "reason.merchant_request": "Du afbrød forbindelsen til e-conomic.",
        "reason.grant_revoked": "Kobling-appen blev fjernet i e-conomic.",
        "reason.replaced": "En anden virksomhed blev forbundet i stedet.",
        "reason.unknown": "Noget gik galt.",
    },
}


def language(asked: str | None, accept_language: str | None) -> str:
    for candidate in (asked, accept_language):
        if candidate and candidate[:2].lower() in TEXT:
            return candidate[:2].lower()
    return "en"


def reason_text(lang: str, reason: str | None) -> str:
    words = TEXT[lang]
    return words.get(f"reason.{reason}", words["reason.unknown"])
