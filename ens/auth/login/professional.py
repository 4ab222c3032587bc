"""A health professional's login: their software (an OAuth client registered with ``--kind
professional``) sends them to the professionals' provider (Pro Santé Connect, or the embedded
``/dev-pro-idp`` in development), which authenticates them with the CPS card or the e-CPS app.

That authentication is the strong one: no ENS one-time code is asked. The ID token's ``acr`` must
reach ``ENS_PRO_OIDC_ACR`` (checked by the relying party, :class:`ens.auth.upstream.Upstream`). The
userinfo names the professional (``SubjectNameID``: 8 + RPPS or 0 + ADELI) and their exercises
(``SubjectRefPro.exercices[].codeProfession``, TRE_G15); a professional whose professions the
access matrix does not know is refused — they could open nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ens.auth.clients import find_client, held_enabled
from ens.auth.errors import LoginFailed, UpstreamRefused
from ens.auth.login.attempt import (
    LoginContext,
    Redirect,
    finish,
    provider_refusal,
    seal,
    update_attempt,
)
from ens.auth.login.provider import claim_text, take_attempt
from ens.core.db import write_transaction
from ens.core.errors import Invalid
from ens.spaces.matrix import access_matrix
from ens.spaces.professionals import Exercise, ProfessionalIdentity, id_type_of, sign_in_professional
from ens.spaces.service import create_professional_grant

log = logging.getLogger("ens.auth.login")
# The longest a profession's code (TRE_G15: two digits) and a place of practice's name are kept.
MAX_PROFESSION_CODE = 8
MAX_PLACE = 255


def professional_identity(issuer: str, claims: dict[str, Any]) -> ProfessionalIdentity:
    """The professional as Pro Santé Connect's claims describe them; :class:`LoginFailed` when the
    national identifier is neither RPPS nor ADELI, or no exercise has a profession the matrix knows.
    Exercises whose profession the matrix knows come first (the first is the one the door uses)."""
    national_id = claim_text(claims, "SubjectNameID", max_length=32) or ""
    if id_type_of(national_id) is None:
        raise LoginFailed(
            "Votre identifiant national (RPPS ou ADELI) n'a pas été reconnu.", title="Identifiant non reconnu"
        )
    ref = claims.get("SubjectRefPro")
    raw = ref.get("exercices") if isinstance(ref, dict) else None
    exercises: list[Exercise] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not item.get("codeProfession"):
            continue
        activities = item.get("activities")
        places = [
            place
            for activity in (activities if isinstance(activities, list) else [])
            if isinstance(activity, dict)
            and (place := claim_text(activity, "raisonSocialeSite", max_length=MAX_PLACE, strict=False)) is not None
        ]
        # An exercise whose profession ENS cannot keep is left out, as one it does not know is put
        # last: the professional logs in by the others.
        code = claim_text(item, "codeProfession", max_length=MAX_PROFESSION_CODE, strict=False)
        if code is not None:
            exercises.append(Exercise(profession_code=code, places=places))
    matrix = access_matrix()
    exercises.sort(key=lambda exercise: exercise.profession_code not in matrix.professions)
    if not exercises or exercises[0].profession_code not in matrix.professions:
        raise LoginFailed(
            "Votre profession n'ouvre l'accès à aucun espace santé.", title="Profession non prise en charge"
        )
    first = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], dict) else {}
    return ProfessionalIdentity(
        issuer=issuer,
        sub=claim_text(claims, "sub", required=True) or "",
        national_id=national_id,
        given_name=claim_text(claims, "given_name") or claim_text(first, "prenomDexercice") or "",
        family_name=claim_text(claims, "family_name") or claim_text(first, "nomDexercice") or "",
        exercises=tuple(exercises),
    )


async def pro_callback(
    ctx: LoginContext, cookie: str | None, *, state: str | None, code: str | None, error: str | None
) -> Redirect:
    """The professionals' provider sends the browser back: verify everything, then straight back to
    the software with an authorization code (no one-time code, no consent page: the professional's
    own software acts for them, within the access matrix)."""
    attempt = await take_attempt(ctx.settings, cookie, state=state, professional=True)
    if error:
        return provider_refusal(attempt, error, issuer=ctx.settings.public_url)
    if not code:
        raise LoginFailed("La réponse du service d'identité est incomplète (code manquant).")
    upstream = ctx.pro_upstream
    client = await find_client(attempt.client_id)
    if upstream is None or client is None:
        raise LoginFailed("La connexion des professionnels de santé n'est pas configurée sur ce service.")
    try:
        proven = await upstream.finish_login(code, attempt.upstream_verifier, nonce=attempt.upstream_nonce)
    except UpstreamRefused as exc:
        log.warning("professional login refused: %s", exc.detail)
        raise LoginFailed("L'identité transmise par le service d'identité n'a pas pu être vérifiée.") from exc
    identity = professional_identity(upstream.issuer, {**proven.userinfo, **proven.claims})
    try:
        professional_id = await sign_in_professional(identity)
    except Invalid as exc:
        raise LoginFailed("L'identité transmise par le service d'identité est incomplète.") from exc
    async with write_transaction():
        if not await held_enabled(client.client_id):  # disabled since the attempt began
            raise LoginFailed("Ce logiciel n'est plus enregistré auprès du service.")
        grant_id = await create_professional_grant(professional_id, client.client_id, client_name=client.name)
    id_token = seal(ctx.settings, attempt.id, proven.id_token)
    await update_attempt(attempt.id, account_id=professional_id, id_token=id_token)
    signed_in = replace(attempt, account_id=professional_id)
    return await finish(ctx, signed_in, client=client, kind="professional", grant_id=grant_id, space_id=None)
