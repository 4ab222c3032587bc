"""Security notices by e-mail: a new device, a replaced second factor, recovery codes used or renewed;
owed until sent when the mail server does not take them (:mod:`ens.core.owed_mail`)."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from ens.auth.errors import CodeRefused
from ens.auth.login.attempt import LoginContext
from ens.core.owed_mail import send_owed_notice
from ens.core.pdf import french_date
from ens.spaces import service as spaces

log = logging.getLogger("ens.auth.login")


# The e-mails say times in France's time zone, and say so (an account has no time zone of its own).
_ZONE = ZoneInfo("Europe/Paris")


def new_device(at: datetime, app: str) -> str:
    """A new sign-in: when and with which app (it said neither: "a new device"), and what to do if
    it was not the person (it said "let us know", with no way to)."""
    local = at.astimezone(_ZONE)
    return (
        "Bonjour,\n\nUn nouvel appareil s'est connecté à votre espace santé le "
        f"{french_date(local.date())} à {local:%H:%M} (heure de Paris), avec l'application « {app} ».\n"
        "Si ce n'est pas vous : déconnectez cet appareil depuis « Appareils connectés », changez le mot de "
        "passe du compte avec lequel vous vous identifiez (FranceConnect) et remplacez votre second facteur "
        "de connexion : il a fallu les deux pour entrer.\n"
    )


EMAIL_CHANGED = (
    "Bonjour,\n\nL'adresse e-mail de votre espace santé vient d'être remplacée par celle que votre "
    "service d'identité a transmise ; les messages de sécurité iront désormais à la nouvelle adresse.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
# The provider gave no address the account can keep (none, or not one address: the claim is left
# out, ens.auth.login.provider): the old one was told of a "nouvelle adresse" there was not (a review).
EMAIL_REMOVED = (
    "Bonjour,\n\nL'adresse e-mail de votre espace santé vient d'être retirée : votre service d'identité "
    "n'en a transmis aucune utilisable à votre dernière connexion. Les messages de sécurité ne vous "
    "parviendront plus tant qu'une connexion n'en aura pas transmis une ; vérifiez l'adresse e-mail "
    "enregistrée auprès de votre service d'identité (FranceConnect).\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
FACTOR_REPLACED = (
    "Bonjour,\n\nLe second facteur de connexion de votre espace santé vient d'être remplacé ; "
    "l'ancien ne fonctionne plus, et vos autres appareils ont été déconnectés.\n"
    "Les applications que vous avez autorisées à lire ou écrire dans votre espace (balance, "
    "tensiomètre...) restent connectées : si vous n'en reconnaissez pas une, retirez-la de votre espace.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
RECOVERY_USED = (
    "Bonjour,\n\nUn code de secours vient d'être utilisé pour vous connecter à votre espace santé.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
CODES_LOCKED = (
    "Bonjour,\n\nTrop de codes erronés ont été saisis pour votre espace santé : la vérification de vos "
    "codes est bloquée pour un temps, puis de plus en plus longtemps si cela continue, là où ils ont été "
    "saisis : un navigateur où vous avez déjà validé votre code n'est pas bloqué par des essais faits "
    "ailleurs.\n"
    "Si ce n'est pas vous, quelqu'un connaît sans doute le mot de passe du compte avec lequel vous vous "
    "identifiez (FranceConnect), ou tient l'un de vos appareils connectés : changez ce mot de passe et "
    "déconnectez, depuis « Appareils connectés », tout appareil que vous ne reconnaissez pas.\n"
)


async def tell_of_a_lock(ctx: LoginContext, account_id: UUID, refusal: CodeRefused) -> None:
    """E-mail the person when a wrong code has just locked their codes (it was silent: an outside
    audit), whichever way in sent it."""
    if refusal.locked_now:
        await notify(ctx, account_id, subject="Connexion bloquée après des codes erronés", text=CODES_LOCKED)


RECOVERY_CODES_RENEWED = (
    "Bonjour,\n\nDe nouveaux codes de secours viennent d'être créés pour votre espace santé ; "
    "les anciens ne fonctionnent plus.\nSi ce n'est pas vous, contactez-nous immédiatement.\n"
)


async def notify(ctx: LoginContext, account_id: UUID, *, subject: str, text: str) -> None:
    """A security notice by e-mail to the account's address (:func:`send_owed_notice`)."""
    email = (await spaces.get_account(account_id)).email
    if email:
        await send_owed_notice(ctx.mailer, account_id, email, subject, text)
