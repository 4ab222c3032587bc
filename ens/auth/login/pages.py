"""The login pages: server-rendered HTML in French, mobile first, no external asset.

Every value is escaped; every form that changes something carries the login attempt's CSRF token.
Form names are part of the API contract (scripts and browser tests drive them): the one-time-code
input is ``code``, the consent buttons are ``decision=approve|deny`` (reopening a closed space's
``decision=reopen|later``), the provider's identity
buttons are ``login=<identity>``, and a page that only confirms has one form with one button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Login pages (and the development provider's): never cached, never framed (the consent button
# must not be clickjacked); the Referrer-Policy every answer gets is ens.core.security_headers'. No
# form-action: browsers apply it to the redirect a form's answer gives, and the code and consent
# forms end in one to the app.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:18px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#161616;background:#f6f6f6}
main{max-width:32rem;margin:0 auto;padding:1.25rem;overflow-wrap:anywhere}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
p{margin:.75rem 0}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
label{display:block;font-weight:600;margin:1rem 0 .5rem}
input[type=text]{width:100%;font-size:1.5rem;padding:.75rem;border:2px solid #3a3a3a;border-radius:.5rem;
letter-spacing:.2em}
button,.button{display:block;width:100%;min-height:3rem;margin:.75rem 0;padding:.75rem 1rem;font-size:1.1rem;
border:0;border-radius:.5rem;background:#000091;color:#fff;text-align:center;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#000091;border:2px solid #000091}
.error{background:#ffe9e9;color:#ce0500;border-left:4px solid #ce0500;padding:.75rem;border-radius:.25rem}
.info{background:#e8edff;border-left:4px solid #000091;padding:.75rem;border-radius:.25rem}
.qr svg{width:100%;max-width:16rem;height:auto;display:block;margin:0 auto}
code,.codes li{font-family:ui-monospace,monospace;font-size:1.1rem}
.codes{padding-left:2.5rem;line-height:1.7}
ul.perms li{margin:.5rem 0}
.small{font-size:.9rem;color:#555}
fieldset{border:2px solid #ddd;border-radius:.5rem;margin:1rem 0;padding:.5rem 1rem}
label.choice{font-weight:400;display:flex;gap:.75rem;align-items:center;min-height:3rem;margin:0}
label.choice input{width:1.5rem;height:1.5rem;flex:none}
:focus-visible{outline:3px solid #0a76f6;outline-offset:2px}
@media (max-width:20rem){main{padding:.5rem}.card{padding:.75rem}h1{font-size:1.25rem}fieldset{padding:.25rem .5rem}
label.choice{gap:.5rem}button,.button{padding:.75rem .5rem}}
"""


# The last three lines of _STYLE (an outside audit, in Chromium at 360 px):
# - A ring around what has the keyboard's focus, outside it and of a colour of its own: Chromium's
#   own was a thin dark line on the dark blue buttons, and turned the secondary buttons' dark blue
#   border black, hardly seen (WCAG 2.4.7).
# - On a screen 20rem wide or less (a 360 px phone at 200 %: 180 CSS px), the page and card margins
#   shrink, and the title: they left 100 px for the text, titles broke inside their words ("Protég / ez") and the
#   space choice's names one letter a line ("J / e / a / n") (WCAG 1.4.4, 1.4.10).


def page(title: str, body: str) -> str:
    """The frame of every page: readable at 360 px wide, no script, no external asset."""
    return (
        "<!doctype html>\n"
        '<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)} — Espace santé</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="card"><h1>{escape(title)}</h1>{body}</div></main></body></html>'
    )


def _message(info: str | None, unsent: str | None = None) -> str:
    """What the page says first: a code was sent, or why none could be (a refused code is said at
    its field, ``_code_field``)."""
    out = f'<p class="error" role="alert">{escape(unsent)}</p>' if unsent else ""
    return out + (f'<p class="info" role="status">{escape(info)}</p>' if info else "")


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def _code_field(label: str, *, digits_only: bool = True, error: str | None = None, autofocus: bool = True) -> str:
    """The one-time-code input. ``digits_only``: a phone shows its digit pad; not where a recovery
    code (letters and digits, ``6CJPP-2PURU``) may be typed, which a digit pad cannot write.

    A refused code is said between the label and the field, and tied to the field
    (``aria-invalid``, ``aria-describedby``): the field has the focus when the page opens, so a
    phone shows the page scrolled to it and a screen reader starts there. Said at the top of the
    page, the refusal was above the screen on the enrolment page (its QR code between them) and
    never read aloud (an outside audit)."""
    keyboard = 'inputmode="numeric" autocapitalize="off"' if digits_only else 'autocapitalize="characters"'
    refusal = f'<p class="error" id="code-error" role="alert">{escape(error)}</p>' if error else ""
    tied = ' aria-invalid="true" aria-describedby="code-error"' if error else ""
    return (
        f'<label for="code">{escape(label)}</label>{refusal}'
        f'<input type="text" id="code" name="code" autocomplete="one-time-code" {keyboard} '
        f'autocorrect="off" spellcheck="false" maxlength="32" required{" autofocus" if autofocus else ""}{tied}>'
    )


def error_page(title: str, detail: str) -> str:
    return page(title, f'<p class="error" role="alert">{escape(detail)}</p>')


def enrol_page(qr_svg: str, otpauth_uri: str, *, secret: str, csrf: str, error: str | None = None) -> str:
    # The field takes the focus only after a refused code: on first sight the page opens at its
    # title and the steps to follow, not scrolled past them to the field (an outside audit).
    return page(
        "Protégez votre compte",
        "<p>Votre espace santé demande un code à usage unique à chaque connexion. "
        "Installez une application d'authentification (par exemple FreeOTP ou Aegis), puis :</p>"
        f'<a class="button" href="{escape(otpauth_uri)}">Ajouter à mon application d\'authentification</a>'
        f'<p>ou scannez ce code QR avec un autre appareil :</p><div class="qr">{qr_svg}</div>'
        f'<p class="small">Clé à saisir à la main : <code>{escape(secret)}</code></p>'
        f'<form method="post" action="/login/otp">{_csrf(csrf)}'
        + _code_field("Code à 6 chiffres affiché par l'application", error=error, autofocus=error is not None)
        + '<button type="submit">Valider</button></form>',
    )


def otp_page(
    csrf: str,
    error: str | None = None,
    *,
    info: str | None = None,
    unsent: str | None = None,
    email_hint: str | None = None,
    allow_lost: bool = True,
    app_name: str | None = None,
) -> str:
    """The code form. ``app_name``: the application the login opens, said above the form (an app on
    the phone could start a login in the name of another: the person sees whose it is)."""
    alternatives = ""
    if email_hint:
        alternatives += (
            f'<form method="post" action="/login/email-code">{_csrf(csrf)}'
            f'<button type="submit" class="secondary">Recevoir plutôt un code par e-mail ({escape(email_hint)})'
            "</button></form>"
        )
    if allow_lost:
        alternatives += (
            f'<form method="post" action="/login/lost-factor">{_csrf(csrf)}'
            '<button type="submit" class="secondary">J\'ai perdu mon téléphone et mes codes de secours</button>'
            "</form>"
        )
    opening = f"<p>Connexion à <strong>{escape(app_name)}</strong></p>" if app_name else ""
    return page(
        "Code de connexion",
        opening
        + _message(info, unsent)
        + f'<form method="post" action="/login/otp">{_csrf(csrf)}'
        + _code_field(
            "Code de votre application, code reçu par e-mail ou code de secours", digits_only=False, error=error
        )
        + '<button type="submit">Valider</button></form>'
        + alternatives,
    )


def email_only_page(
    csrf: str, email_hint: str, *, error: str | None = None, info: str | None = None, unsent: str | None = None
) -> str:
    """Lost second factor: after proving identity again at the provider, a code sent by e-mail."""
    return page(
        "Vérification par e-mail",
        _message(info, unsent)
        + (
            f"<p>Les codes à 6 chiffres sont envoyés à {escape(email_hint)} et valables 10 minutes.</p>"
            if error or unsent
            else f"<p>Nous avons envoyé un code à 6 chiffres à {escape(email_hint)}. Il est valable 10 minutes.</p>"
        )
        + f'<form method="post" action="/login/otp">{_csrf(csrf)}'
        + _code_field("Code reçu par e-mail", error=error)
        + '<button type="submit">Valider</button></form>'
        f'<form method="post" action="/login/email-code">{_csrf(csrf)}'
        '<button type="submit" class="secondary">Renvoyer un code</button></form>',
    )


def recovery_codes_page(codes: Sequence[str], csrf: str, *, action: str = "/login/recovery-codes") -> str:
    items = "".join(f"<li>{escape(code)}</li>" for code in codes)
    return page(
        "Vos codes de secours",
        "<p>Notez ces codes et gardez-les en lieu sûr. Chacun remplace une fois le code de votre application "
        "si vous perdez votre téléphone. Ils ne seront plus jamais affichés.</p>"
        f'<ol class="codes">{items}</ol>'
        f'<form method="post" action="{escape(action)}">{_csrf(csrf)}'
        '<button type="submit">J\'ai noté mes codes</button></form>',
    )


def recovery_codes_seen_page(csrf: str) -> str:
    """The codes' page once they were shown (asked again, or its form sent again by a reload): they
    are not shown twice, and the login goes on. It said "Notez ces codes" above an empty list."""
    return page(
        "Vos codes de secours",
        "<p>Vos codes de secours ont déjà été affichés : ils ne le seront plus. Si vous ne les avez pas "
        "notés, vous pourrez en créer de nouveaux depuis l'application, une fois connecté.</p>"
        f'<form method="post" action="/login/recovery-codes">{_csrf(csrf)}'
        '<button type="submit">Continuer</button></form>',
    )


def reopen_page(csrf: str) -> str:
    """The page offering to reopen a closed space after login."""
    return page(
        "Votre espace santé est fermé",
        "<p>Vous avez fermé votre espace santé. Vous pouvez le rouvrir : tout ce qu'il contenait "
        "sera de nouveau disponible. Vous pouvez aussi continuer sans le rouvrir (pour accéder aux "
        "espaces des personnes que vous représentez, ou le rouvrir plus tard depuis l'application).</p>"
        f'<form method="post" action="/login/reopen">{_csrf(csrf)}'
        '<button type="submit" name="decision" value="reopen">Rouvrir mon espace santé</button>'
        '<button type="submit" name="decision" value="later" class="secondary">Continuer sans rouvrir</button>'
        "</form>",
    )


@dataclass(frozen=True)
class SpaceChoice:
    id: str
    label: str


@dataclass(frozen=True)
class ConsentView:
    app_name: str
    publisher: str | None
    label_status: str
    permissions: list[str]
    # The spaces the app may be connected to (the person's own first); one: no choice to make.
    spaces: list[SpaceChoice]


_LABEL_WORDS = {"labelled": "Application référencée (labellisée)", "pending": "Référencement en cours"}


def consent_page(view: ConsentView, csrf: str) -> str:
    permissions = "".join(f"<li>{escape(text)}</li>" for text in view.permissions)
    publisher = f' <span class="small">éditée par {escape(view.publisher)}</span>' if view.publisher else ""
    return page(
        "Autoriser une application",
        f"<p><strong>{escape(view.app_name)}</strong>{publisher}</p>"
        f'<p class="info">{escape(_LABEL_WORDS.get(view.label_status, view.label_status))}</p>'
        f"{_which_space(view.spaces)}"
        f'<ul class="perms">{permissions}</ul>'
        '<p class="small">Vous pourrez retirer cette autorisation à tout moment depuis votre espace.</p>'
        f'<form method="post" action="/login/consent">{_csrf(csrf)}{_space_radios(view.spaces)}'
        '<button type="submit" name="decision" value="approve">Autoriser</button>'
        '<button type="submit" name="decision" value="deny" class="secondary">Refuser</button></form>',
    )


def _which_space(spaces: list[SpaceChoice]) -> str:
    if len(spaces) == 1:
        return f"<p>demande à accéder à l'espace santé de <strong>{escape(spaces[0].label)}</strong> pour :</p>"
    return "<p>demande à accéder à un espace santé (choisissez lequel ci-dessous) pour :</p>"


def _space_radios(spaces: list[SpaceChoice]) -> str:
    """With several spaces, one radio button each (the person's own checked): the ``space`` field;
    with one, that space (the person's own, or, their own left closed, the one they represent)."""
    if len(spaces) == 1:
        return f'<input type="hidden" name="space" value="{escape(spaces[0].id)}">'
    radios = "".join(
        f'<label class="choice"><input type="radio" name="space" value="{escape(choice.id)}"'
        f"{' checked' if index == 0 else ''}> {escape(choice.label)}</label>"
        for index, choice in enumerate(spaces)
    )
    return f"<fieldset><legend>Pour l'espace de</legend>{radios}</fieldset>"


def logout_page(csrf: str) -> str:
    """The page the logout starts from: one form, posted with the login's CSRF token."""
    return page(
        "Se déconnecter",
        "<p>Vous allez être déconnecté de votre espace santé dans ce navigateur, et du service "
        "d'identité (FranceConnect) par lequel vous vous êtes connecté.</p>"
        f'<form method="post" action="/oauth/logout">{_csrf(csrf)}'
        '<button type="submit">Me déconnecter</button></form>',
    )


def logged_out_page() -> str:
    return page("Vous êtes déconnecté", "<p>Vous pouvez fermer cette page.</p>")
