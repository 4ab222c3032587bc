"""Who may do what on a space: the one table (DOMAIN.md §2, CSP L1111-6, L1111-13-1, R1111-17).

Every route under ``/v1/spaces/{space}`` declares the action it performs (``Need.action``); the door
decides the caller's kind and looks the pair up here. No route checks a role by hand.

(A holder under 18 who signed in with their own identity has the holder's rights but advance
directives, the trusted person and erasing, which are an adult's.)

| action                              | holder | parent | tutelle | curatelle        | habil. fam. |
|-------------------------------------|--------|--------|---------|------------------|-------------|
| read (confidential items aside)     | yes    | yes    | yes     | while consented  | yes         |
| write measures, vaccinations, contacts, profile | yes | yes | yes | no          | yes         |
| write advance directives            | yes    | never  | never   | never            | never       |
| designate the trusted person        | yes    | never  | never   | never            | never       |
| connect/revoke apps, professionals  | yes    | yes    | yes     | no               | yes         |
| close or reopen the space           | yes    | yes    | yes     | no               | no          |
| erase the space                     | yes    | yes    | no      | no               | no          |
| invite a representative             | no     | yes    | no      | no               | no          |
| hand the space over at 18 (claim)   | no     | yes    | no      | no               | no          |
| leave (withdraw one's own right)    | no     | yes    | no      | no               | no          |
| record consent for a curator        | yes    | no     | no      | no               | no          |
| hide an item from representatives   | yes    | no     | no      | no               | no          |

(A court measure is added and ended by an operator, citing the decision: ``ens representatives``.
From the 18th birthday, when no parent made the claim code in time, an operator who checked the
young adult's identity issues it: ``ens claim-codes issue``.)

A health professional's rights are not in this table's columns: the door reads them from the
access matrix (``ens.spaces.matrix``: profession, resource, read or write) while the holder's
authorisation is valid, and reads only during an emergency access. Of this table's actions a
professional may read and write data, and on a minor's space hide an item from the parents at the
minor's request (CSP L1111-5) — never manage access, close, erase or write directives.

Representation relating only to property gives no access at all (the space is not visible); a
parent's right ends on the child's 18th birthday in the space's time zone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Action(StrEnum):
    READ = "read"
    WRITE_DATA = "write_data"
    WRITE_DIRECTIVES = "write_directives"
    DESIGNATE_TRUSTED_PERSON = "designate_trusted_person"
    MANAGE_ACCESS = "manage_access"
    CLOSE_REOPEN = "close_reopen"
    ERASE = "erase"
    INVITE = "invite"
    HAND_OVER = "hand_over"
    LEAVE = "leave"
    RECORD_CONSENT = "record_consent"
    HIDE_FROM_REPRESENTATIVES = "hide_from_representatives"


# The kinds of representative (API.md: representatives.kind).
RepresentativeKind = Literal["parent", "tutelle", "curatelle", "habilitation_familiale"]
REPRESENTATIVE_KINDS: tuple[RepresentativeKind, ...] = ("parent", "tutelle", "curatelle", "habilitation_familiale")
COURT_KINDS: tuple[RepresentativeKind, ...] = ("tutelle", "curatelle", "habilitation_familiale")

# Who acts: the holder, a representative of a kind (a curator without the holder's consent is a
# kind of their own: they may see that the space exists, nothing more), or an app.
ActorKind = Literal[
    "holder",
    "minor_holder",
    "parent",
    "tutelle",
    "curatelle",
    "curatelle_without_consent",
    "habilitation_familiale",
    "app",
    "professional",
    "professional_emergency",
]

_PARENTS_ONLY = frozenset({Action.INVITE, Action.HAND_OVER, Action.LEAVE})

RIGHTS: dict[ActorKind, frozenset[Action]] = {
    "holder": frozenset(Action) - _PARENTS_ONLY,
    # A minor who signed in with their own identity holds their space, but advance directives, the
    # trusted person (CSP L1111-11, L1111-6: "toute personne majeure") and erasing are for adults.
    "minor_holder": frozenset(Action)
    - _PARENTS_ONLY
    - {Action.WRITE_DIRECTIVES, Action.DESIGNATE_TRUSTED_PERSON, Action.ERASE},
    "parent": frozenset(
        {
            Action.READ,
            Action.WRITE_DATA,
            Action.MANAGE_ACCESS,
            Action.CLOSE_REOPEN,
            Action.ERASE,
            Action.INVITE,
            Action.HAND_OVER,
            Action.LEAVE,
        }
    ),
    "tutelle": frozenset({Action.READ, Action.WRITE_DATA, Action.MANAGE_ACCESS, Action.CLOSE_REOPEN}),
    "curatelle": frozenset({Action.READ}),
    "curatelle_without_consent": frozenset(),
    "habilitation_familiale": frozenset({Action.READ, Action.WRITE_DATA, Action.MANAGE_ACCESS}),
    # An app's rights are its scopes (checked by the door against the route's capability).
    "app": frozenset({Action.READ, Action.WRITE_DATA}),
    # Within the access matrix (the door); hiding from the parents only on a minor's space (SpaceAccess).
    "professional": frozenset({Action.READ, Action.WRITE_DATA, Action.HIDE_FROM_REPRESENTATIVES}),
    "professional_emergency": frozenset({Action.READ}),
}

# Plain French, for error messages and the access history.
ACTION_WORDS: dict[Action, str] = {
    Action.READ: "consulter l'espace",
    Action.WRITE_DATA: "modifier les données de l'espace",
    Action.WRITE_DIRECTIVES: "rédiger les directives anticipées",
    Action.DESIGNATE_TRUSTED_PERSON: "désigner la personne de confiance",
    Action.MANAGE_ACCESS: "gérer les applications et les professionnels autorisés",
    Action.CLOSE_REOPEN: "fermer ou rouvrir l'espace",
    Action.ERASE: "supprimer définitivement l'espace",
    Action.INVITE: "inviter un représentant",
    Action.HAND_OVER: "remettre l'espace à son titulaire devenu majeur",
    Action.LEAVE: "renoncer à sa représentation",
    Action.RECORD_CONSENT: "consentir à l'accès d'un curateur",
    Action.HIDE_FROM_REPRESENTATIVES: "masquer un élément aux représentants",
}

KIND_WORDS: dict[ActorKind, str] = {
    "holder": "titulaire",
    "minor_holder": "titulaire mineur",
    "parent": "parent",
    "tutelle": "tuteur",
    "curatelle": "curateur",
    "curatelle_without_consent": "curateur",
    "habilitation_familiale": "habilité familial",
    "app": "application",
    "professional": "professionnel de santé",
    "professional_emergency": "professionnel de santé en accès d'urgence",
}


# English, for problem details (the API's language).
ACTION_ENGLISH: dict[Action, str] = {
    Action.READ: "read this space",
    Action.WRITE_DATA: "change this space's data",
    Action.WRITE_DIRECTIVES: "write advance directives",
    Action.DESIGNATE_TRUSTED_PERSON: "designate the trusted person",
    Action.MANAGE_ACCESS: "connect or revoke apps and professionals",
    Action.CLOSE_REOPEN: "close or reopen this space",
    Action.ERASE: "erase this space",
    Action.INVITE: "invite a representative",
    Action.HAND_OVER: "hand this space over to its holder",
    Action.LEAVE: "withdraw from representing this holder",
    Action.RECORD_CONSENT: "record consent for a curator",
    Action.HIDE_FROM_REPRESENTATIVES: "hide an item from the representatives",
}

KIND_ENGLISH: dict[ActorKind, str] = {
    "holder": "holder",
    "minor_holder": "holder under 18",
    "parent": "parent",
    "tutelle": "guardian (tutelle)",
    "curatelle": "curator (curatelle)",
    "curatelle_without_consent": "curator (curatelle) without the holder's consent",
    "habilitation_familiale": "family representative (habilitation familiale)",
    "app": "app",
    "professional": "health professional",
    "professional_emergency": "health professional in an emergency access",
}


def allows(kind: ActorKind, action: Action) -> bool:
    """Whether a caller of this kind may perform ``action`` (the table above)."""
    return action in RIGHTS[kind]


# The kinds a person may be, in the order the table shows them (apps are said separately).
PERSON_KINDS: tuple[ActorKind, ...] = (
    "holder",
    "parent",
    "tutelle",
    "curatelle",
    "habilitation_familiale",
)


def who_may(action: Action) -> str:
    """The sentence an operation's OpenAPI description carries: who may perform ``action``."""
    kinds = [KIND_ENGLISH[kind] for kind in PERSON_KINDS if allows(kind, action)]
    if action is Action.READ and allows("curatelle", action):
        kinds = [
            k if k != KIND_ENGLISH["curatelle"] else "curator (curatelle) while the holder consents" for k in kinds
        ]
    return "Who may (the table of rights): " + (", ".join(kinds) if kinds else "nobody") + "."


def table_markdown() -> str:
    """The table of rights as Markdown (the OpenAPI document's description carries it)."""
    header = "| action | " + " | ".join(KIND_ENGLISH[kind] for kind in PERSON_KINDS) + " |"
    rule = "|---" * (len(PERSON_KINDS) + 1) + "|"
    rows = [
        f"| {ACTION_ENGLISH[action]} | "
        + " | ".join("yes" if allows(kind, action) else "no" for kind in PERSON_KINDS)
        + " |"
        for action in Action
    ]
    return "\n".join([header, rule, *rows])
