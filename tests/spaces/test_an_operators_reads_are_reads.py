"""An operator's reads of a space (``ens representatives list``, ``ens export``) are said in its
history as reads, under the name the operator gave, taken as every command takes it."""

from __future__ import annotations


def _ens_representatives(settings, *args: str):
    from tests.helpers.server import run_ens

    return run_ens(settings, "representatives", *args)


async def test_the_list_commands_operator_name_is_taken_as_the_other_commands_take_it(client, person, settings):
    """``list`` takes ``--operator`` as ``add``, ``end`` and ``restore-parent`` do: stripped, a blank
    one none, 255 characters at most (refused past it, exit status 2). It was written raw: a blank
    name showed "   (opérateur du service)", and one of 300 characters failed on PostgreSQL."""
    blank = _ens_representatives(settings, "list", "--space", str(person.space_id), "--operator", "   ")
    assert blank.returncode == 0, blank.stderr
    rows = (await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)).json()["items"]
    assert rows[0]["description"].startswith("Un opérateur du service a consulté"), rows[0]["description"]
    long = _ens_representatives(settings, "list", "--space", str(person.space_id), "--operator", "x" * 300)
    assert long.returncode == 2, (long.returncode, long.stderr[-300:])


async def test_an_operators_read_of_the_representatives_is_listed_among_the_reads(client, person, settings):
    """``ens representatives list`` is a read (the history's own words: "a consulté la liste des
    représentants légaux"), and ``ens export`` too: a holder asking who read their data
    (``action=read``) finds them there, not among the changes (where every operator command was)."""
    listed = _ens_representatives(settings, "list", "--space", str(person.space_id), "--operator", "Agnès Roux")
    assert listed.returncode == 0, listed.stderr
    reads = (
        await client.get("/v1/spaces/me/access-history?action=read&actor=operators", headers=person.headers)
    ).json()
    changes = (
        await client.get("/v1/spaces/me/access-history?action=change&actor=operators", headers=person.headers)
    ).json()
    assert [r["action"] for r in changes["items"]] == []
    assert [r["action"] for r in reads["items"]] == ["ens representatives list"]
