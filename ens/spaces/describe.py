"""One sentence of plain French per access-history row, for the phone app: who, as what, did what,
and whether it was refused. Built when the history is read, from what the row records (the
method and route, the capability, the actor, the outcome): rows store no sentence, so the words
can improve without rewriting history.

Every capability's resource name has its words here; the app refuses to start when a route
declares a resource without them (``ens.app``).
"""

from __future__ import annotations

from typing import Any

from ens.spaces.matrix import access_matrix
from ens.spaces.rights import KIND_WORDS

# The thing a route works on, with its article, as the object of a verb ("a consulté …").
RESOURCE_WORDS: dict[str, str] = {
    "space": "l'espace",
    "access-history": "l'historique des accès",
    "representatives": "les représentants légaux",
    "grants": "les applications connectées",
    "vitals": "les mesures",
    "records": "le dossier",
    "directives": "les directives anticipées",
    "trusted-person": "la personne de confiance",
    "emergency-contacts": "les contacts d'urgence",
    "doctor": "le médecin traitant",
    "profile": "le profil médical",
    "vaccination": "le carnet de vaccination",
    "documents": "les documents",
    "professionals": "les professionnels autorisés",
    "access-requests": "les demandes d'accès",
    "export": "l'export de l'espace",
    "import": "les données importées dans l'espace",
}

_VERBS = {
    "GET": "a consulté",
    "HEAD": "a consulté",
    "POST": "a ajouté",
    "PUT": "a modifié",
    "PATCH": "a modifié",
    "DELETE": "a supprimé",
}
_TRIED = {
    "GET": "a tenté de consulter",
    "HEAD": "a tenté de consulter",
    "POST": "a tenté d'ajouter",
    "PUT": "a tenté de modifier",
    "PATCH": "a tenté de modifier",
    "DELETE": "a tenté de supprimer",
}

EMERGENCY_OPENING = "POST /v1/pro/emergency-access"
# The row of an app's connection the service ended at a token request (a code or refresh token
# presented twice: ``ens.spaces.history.AppConnectionEnded``): refused (400), it tells an end.
CONNECTION_ENDED_BY_SERVICE = "POST /oauth/token"


def _one_item(words: str, collection: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Adding one item to ``collection``, and reading, changing or removing one, said of one item
    (``words``, with its article) rather than of the whole list."""
    return {
        ("POST", collection): (f"{_VERBS['POST']} {words}", f"{_TRIED['POST']} {words}"),
        **{
            (method, f"{collection}/{{id}}"): (f"{_VERBS[method]} {words}", f"{_TRIED[method]} {words}")
            for method in ("GET", "HEAD", "PATCH", "DELETE")
        },
    }


# Routes whose meaning the method alone does not say: (method, end of the route) -> (done, tried).
_SPECIAL: dict[tuple[str, str], tuple[str, str]] = {
    # (After an erase nothing of the space remains, its history included: a row here is a closing.)
    ("DELETE", "/v1/spaces/{space}"): ("a fermé l'espace", "a tenté de fermer ou supprimer l'espace"),
    ("POST", "/reopen"): ("a rouvert l'espace", "a tenté de rouvrir l'espace"),
    ("POST", "/representatives/invitations"): (
        "a créé une invitation pour l'autre parent",
        "a tenté d'inviter un représentant",
    ),
    ("POST", "/claim-codes"): (
        "a créé le code de reprise de l'espace à 18 ans",
        "a tenté de créer le code de reprise de l'espace",
    ),
    ("PUT", "/consent"): ("a enregistré le consentement au curateur", "a tenté d'enregistrer un consentement"),
    ("DELETE", "/representatives/{id}"): ("a mis fin à une représentation", "a tenté de retirer un représentant"),
    ("POST", "/v1/spaces"): ("a créé l'espace", "a tenté de créer l'espace"),
    ("POST", "/login/consent"): ("a connecté une application à l'espace", "a tenté de connecter une application"),
    ("POST", "/documents"): ("a ajouté un document", "a tenté d'ajouter un document"),
    ("GET", "/documents/{id}"): ("a consulté un document", "a tenté de consulter un document"),
    ("GET", "/documents/{id}/content"): ("a téléchargé un document", "a tenté de télécharger un document"),
    # A HEAD reads what the document is (its name, type and size in the headers), not its content:
    # it read "a consulté les documents", the whole list (an outside audit of the documents).
    ("HEAD", "/documents/{id}"): ("a consulté un document", "a tenté de consulter un document"),
    ("HEAD", "/documents/{id}/content"): ("a consulté un document", "a tenté de consulter un document"),
    ("PATCH", "/documents/{id}"): (
        "a modifié le masquage d'un document",
        "a tenté de modifier le masquage d'un document",
    ),
    ("DELETE", "/documents/{id}"): ("a supprimé un document", "a tenté de supprimer un document"),
    ("DELETE", "/grants/{id}"): ("a déconnecté une application", "a tenté de déconnecter une application"),
    # The app revoking its own tokens (RFC 7009): ``ens.spaces.history.AppConnectionEnded``.
    ("POST", "/oauth/revoke"): ("s'est déconnectée de l'espace", "a tenté de se déconnecter de l'espace"),
    ("POST", "/v1/invitations/{code}/accept"): (
        "a rejoint l'espace comme parent",
        "a tenté de rejoindre l'espace",
    ),
    ("POST", "/v1/pro/emergency-access"): (
        "a ouvert l'espace en accès d'urgence",
        "a tenté d'ouvrir l'espace en accès d'urgence",
    ),
    ("POST", "/block"): ("a bloqué un professionnel de santé", "a tenté de bloquer un professionnel de santé"),
    ("POST", "/professionals"): (
        "a autorisé un professionnel de santé",
        "a tenté d'autoriser un professionnel de santé",
    ),
    ("PATCH", "/professionals/{id}"): (
        "a renouvelé l'autorisation d'un professionnel de santé",
        "a tenté de renouveler l'autorisation d'un professionnel de santé",
    ),
    ("DELETE", "/professionals/{id}"): (
        "a révoqué l'autorisation d'un professionnel de santé",
        "a tenté de révoquer l'autorisation d'un professionnel de santé",
    ),
    ("POST", "/approve"): ("a accepté une demande d'accès", "a tenté d'accepter une demande d'accès"),
    ("POST", "/refuse"): ("a refusé une demande d'accès", "a tenté de refuser une demande d'accès"),
    ("GET", "/emergency-access"): (
        "a consulté l'autorisation d'accès d'urgence",
        "a tenté de consulter l'autorisation d'accès d'urgence",
    ),
    ("PUT", "/emergency-access"): (
        "a modifié l'autorisation d'accès d'urgence",
        "a tenté de modifier l'autorisation d'accès d'urgence",
    ),
    ("POST", "/v1/claims/{code}/accept"): (
        "a repris son espace à sa majorité",
        "a tenté de reprendre l'espace",
    ),
    # Directives are revoked (a new version says so), not deleted; a confirmation adds nothing (an
    # outside audit read "a supprimé" and "a ajouté les directives anticipées").
    ("DELETE", "/directives"): ("a révoqué les directives anticipées", "a tenté de révoquer les directives anticipées"),
    ("POST", "/directives/confirm"): (
        "a confirmé les directives anticipées",
        "a tenté de confirmer les directives anticipées",
    ),
    # The former versions, not the current one: both read "a consulté la personne de confiance" (an
    # outside audit of the records), and the holder could not tell a look at who it had been. HEAD
    # reads as GET does (its row is recorded): named GET alone, a HEAD still read so (a review).
    **{
        (method, end): (f"{_VERBS[method]} {what}", f"{_TRIED[method]} {what}")
        for method in ("GET", "HEAD")
        for end, what in (
            ("/trusted-person/history", "les personnes de confiance désignées auparavant"),
            ("/directives/versions", "les versions des directives anticipées"),
        )
    },
    ("DELETE", "/trusted-person"): (
        "a mis fin à la désignation de la personne de confiance",
        "a tenté de mettre fin à la désignation de la personne de confiance",
    ),
    # One contact, one entry of the profile: removing one allergy read "a supprimé le profil
    # médical" (an outside audit), and the holder took the whole list for gone.
    **_one_item("un contact d'urgence", "/emergency-contacts"),
    # One measure (a batch, which may hold many, still adds "les mesures") and one entry of the
    # booklet: a doctor removing one read "a supprimé le carnet de vaccination" (an outside audit).
    **{route: sentences for route, sentences in _one_item("une mesure", "/vitals").items() if route[0] != "POST"},
    **_one_item("une vaccination", "/vaccinations"),
    **{
        route: sentences
        for part in ("conditions", "allergies", "treatments", "family-history")
        for route, sentences in _one_item("une entrée du profil médical", f"/profile/{part}").items()
    },
}


# The decisions about one professional, said with their name when the row keeps it (``subject_name``,
# ``SpaceAccess.names_subject``): "a bloqué un professionnel de santé" told neither the holder with
# several professionals nor the other parent whom (an outside audit). A refusal names no one.
_ABOUT_A_PROFESSIONAL: dict[tuple[str, str], str] = {
    ("POST", "/v1/spaces/{space}/professionals"): "a autorisé {name}",
    ("PATCH", "/v1/spaces/{space}/professionals/{id}"): "a renouvelé l'autorisation {of_name}",
    ("DELETE", "/v1/spaces/{space}/professionals/{id}"): "a révoqué l'autorisation {of_name}",
    ("POST", "/v1/spaces/{space}/professionals/{id}/block"): "a bloqué {name}",
    ("POST", "/v1/spaces/{space}/access-requests/{id}/approve"): "a accepté la demande d'accès {of_name}",
    ("POST", "/v1/spaces/{space}/access-requests/{id}/refuse"): "a refusé la demande d'accès {of_name}",
}


def of_name(name: str) -> str:
    """ "de" and a name, elided before a vowel or an h: "de Claire Bernard", "d'Inès Roux"."""
    return f"d'{name}" if name[:1].lower() in "aeiouyhàâéèêëîïôöûüù" else f"de {name}"


# The measures' names, as a court decision says them ("une mesure de protection (tutelle)").
_MEASURE_WORDS = {"tutelle": "tutelle", "curatelle": "curatelle", "habilitation_familiale": "habilitation familiale"}


def _operator_words(row: Any) -> str:
    """What an operator's command did (``ens.spaces.history.OperatorAction``): the right's kind and
    its holder's name as the row keeps them, never the decision's reference nor a reason."""
    action = str(row["action"])
    kind = _get(row, "subject_kind")
    name = _get(row, "subject_name") or "une personne"
    measure = _MEASURE_WORDS.get(kind or "")
    if action == "ens representatives add":
        what = f"une mesure de protection ({measure})" if measure else "une mesure de protection"
        return f"a enregistré {what} confiée à {name}, sur décision de justice"
    if action == "ens representatives end":
        if kind == "parent":
            return f"a mis fin au droit de parent de {name}, sur décision de justice"
        what = f"à la mesure de protection ({measure})" if measure else "à la représentation"
        return f"a mis fin {what} confiée à {name}"
    if action == "ens representatives restore-parent":
        return f"a rétabli le droit de parent de {name}, sur décision de justice"
    if action == "ens representatives list":
        return "a consulté la liste des représentants légaux, pour une demande traitée par le service"
    if action == "ens claim-codes issue":
        return "a émis un code de reprise de l'espace à 18 ans, après vérification d'identité"
    if action == "ens export" and int(_get(row, "outcome") or 200) >= 500:
        return (
            "n'a pas terminé l'export de tout l'espace (FHIR) : une erreur l'a interrompu, aucun fichier n'a été remis"
        )
    if action == "ens export":
        return "a lancé l'export de tout l'espace (FHIR), pour une demande traitée par le service"
    if action == "ens apps disable":
        return f"a déconnecté l'application {name}, retirée du service"
    return "a modifié les représentants légaux"


def actor_words(row: Any) -> str:
    """Who acted: "Vous", "Marie Dupont (parent)", "L'application Withings", "Un professionnel"."""
    kind = row["actor_kind"]
    if row["acting_as"] == "operator":
        name = row["actor_name"]
        return f"{name} (opérateur du service)" if name else "Un opérateur du service"
    if row["acting_as"] == "app":
        return f"L'application {row['client_name']}" if row["client_name"] else "Une application"
    name = row["actor_name"] or "Une personne"
    if row["acting_as"] == "holder":
        return f"{name} (titulaire)"
    if row["acting_as"] == "representative":
        return f"{name} ({KIND_WORDS.get(kind, 'représentant')})" if kind else f"{name} (représentant)"
    if row["acting_as"] == "professional":
        profession = access_matrix().label(_get(row, "profession"))
        # An attempt to open an emergency access that was refused opened none; a request refused
        # during one that runs (a write: it is read-only) was made in it all the same.
        opening_refused = row["action"] == EMERGENCY_OPENING and int(_get(row, "outcome") or 200) >= 400
        if kind == "professional_emergency" and not opening_refused:
            return f"{name} ({profession}, en accès d'urgence)"
        return f"{name} ({profession})"
    return name


def _get(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (KeyError, IndexError):
        return None


# Why the service ended an app's connection at a token request (``AppConnectionEnded.reason``).
_CONNECTION_ENDED = {
    "refresh_token_reused": ", par sécurité : un jeton de renouvellement déjà utilisé a été présenté à nouveau",
    "code_reused": ", par sécurité : un code d'autorisation déjà utilisé a été présenté à nouveau",
    "right_lapsed": " : le droit de la personne qui l'avait connectée à l'espace a pris fin",
}


def describe(row: Any) -> str:
    """The row as a sentence: "Marie Dupont (parent) a consulté les mesures."."""
    method, _, route = str(row["action"]).partition(" ")
    refused = int(row["outcome"]) >= 400
    if row["action"] == CONNECTION_ENDED_BY_SERVICE:
        # The service ended the app's connection (a security measure): the request was refused, and
        # what the row tells is the end, not a refusal.
        why = _CONNECTION_ENDED.get(_get(row, "subject_kind") or "", "")
        return f"{actor_words(row)} a été déconnectée par le service{why}."
    if row["acting_as"] == "operator":
        # A refused command writes no row: an operator's row is a change made, an export begun,
        # or (outcome 500) that export failed.
        return f"{actor_words(row)} {_operator_words(row)}."
    special = next((words for (m, end), words in _SPECIAL.items() if m == method and route.endswith(end)), None)
    subject = _get(row, "subject_name")
    about_a_professional = _ABOUT_A_PROFESSIONAL.get((method, route))
    if about_a_professional is not None and subject and not refused:
        done = about_a_professional.format(name=subject, of_name=of_name(subject))
        sentence = f"{actor_words(row)} {done}, professionnel de santé"
    elif special is not None:
        verb = special[1] if refused else special[0]
        sentence = f"{actor_words(row)} {verb}"
    else:
        thing = RESOURCE_WORDS.get(row["resource_type"] or "", "l'espace")
        verbs = _TRIED if refused else _VERBS
        sentence = f"{actor_words(row)} {verbs.get(method, 'a accédé à')} {thing}"
    reason = _get(row, "emergency_reason")
    why = f" Motif donné : « {reason} »." if reason else ""
    if refused:
        return f"{sentence} : refusé ({_REFUSALS.get(int(row['outcome']), 'erreur')}).{why}"
    return f"{sentence}.{why}"


_REFUSALS = {
    400: "demande mal formée",
    401: "connexion expirée ou révoquée",
    403: "droits insuffisants",
    404: "introuvable",
    405: "méthode non acceptée",
    409: "conflit",
    410: "espace fermé",
    412: "modifié entre-temps",
    413: "trop volumineux",
    415: "format non accepté",
    416: "plage hors du fichier",
    422: "données invalides",
    428: "version attendue manquante",
    429: "trop de tentatives",
}
