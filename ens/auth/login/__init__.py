"""The login in the browser, from ``/oauth/authorize`` to the redirect back to the app.

A login attempt is one database row (API processes are stateless) bound to the browser by a cookie
carrying a random token, of which the row keeps a hash. It walks these steps:

``upstream`` (at the identity provider) → ``reopen`` (own space closed) → ``enrol`` (first login, or
after a lost factor) | ``otp`` (second factor) | ``lost_email`` (lost factor: e-mail code) →
``recovery_codes`` (shown once after enrolment) → ``consent`` (third-party apps) → ``done``.

Each function returns what the browser should see next — a :class:`Screen` to render or a
:class:`Redirect` — and raises :class:`LoginFailed` for what cannot go on.

- :mod:`~ens.auth.login.attempt`: the attempt's row, what the browser sees next, the finish;
- :mod:`~ens.auth.login.provider`: start, callback and logout (and its return) at the identity provider;
- :mod:`~ens.auth.login.second_factor`: enrolment, codes, a lost factor, reopening a closed space;
- :mod:`~ens.auth.login.consent`: a third-party app's permissions, approved or denied;
- :mod:`~ens.auth.login.notices`: the security notices sent by e-mail.
"""

from ens.auth.login.attempt import ATTEMPT_TTL, Attempt, LoginContext, Redirect, Screen, ScreenKind, load
from ens.auth.login.consent import consent_screen, decide
from ens.auth.login.notices import RECOVERY_CODES_RENEWED, notify
from ens.auth.login.professional import pro_callback
from ens.auth.login.provider import AuthorizeRequest, callback, confirm_logout, logout, logout_screen, start
from ens.auth.login.second_factor import (
    CODE_NOT_SENT,
    acknowledge_recovery_codes,
    current_screen,
    lost_factor,
    reopen,
    request_email_code,
    submit_code,
)

__all__ = [
    "ATTEMPT_TTL",
    "CODE_NOT_SENT",
    "RECOVERY_CODES_RENEWED",
    "Attempt",
    "AuthorizeRequest",
    "LoginContext",
    "Redirect",
    "Screen",
    "ScreenKind",
    "acknowledge_recovery_codes",
    "callback",
    "confirm_logout",
    "consent_screen",
    "current_screen",
    "decide",
    "load",
    "logout",
    "logout_screen",
    "lost_factor",
    "notify",
    "pro_callback",
    "reopen",
    "request_email_code",
    "start",
    "submit_code",
]
