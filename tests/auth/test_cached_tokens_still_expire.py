"""Access tokens: a token remembered after its first check still dies at its expiry."""

from __future__ import annotations

import time
import uuid

import pytest

from ens.auth.tokens import AccessTokens
from ens.core.errors import Unauthorized
from ens.spaces.caller import Caller


def test_a_remembered_token_is_refused_once_expired(settings):
    tokens = AccessTokens(settings)
    caller = Caller(
        kind="person",
        account_id=uuid.uuid4(),
        client_id="ens-mobile",
        grant_id=uuid.uuid4(),
        scopes=frozenset({"space"}),
    )
    # Expiry is in whole seconds: a 1 s token issued late in a second is already dead early in the
    # next one (seen on a loaded machine), so 2 s, and a wait past them.
    token = tokens.issue(caller, ttl=2)
    assert tokens.verify(token) == caller  # checked, then remembered
    assert tokens.verify(token) == caller
    time.sleep(2.1)
    with pytest.raises(Unauthorized):
        tokens.verify(token)


def test_a_token_for_another_audience_is_refused(settings):
    other = AccessTokens(type(settings).from_env(env="dev", public_url="https://elsewhere.example"))
    caller = Caller(
        kind="app",
        account_id=uuid.uuid4(),
        client_id="x",
        grant_id=uuid.uuid4(),
        scopes=frozenset(),
        space_id=uuid.uuid4(),
    )
    with pytest.raises(Unauthorized):
        AccessTokens(settings).verify(other.issue(caller))
