"""The schedule through the API, for every space a caller may open (a child's included), the inputs
a space lacks, the home screen's counts, and the apps that may or may not reach the booklet."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ens.core.scopes import SCOPES
from ens.vaccination.engine.dates import add_months
from tests.helpers.vaccination import child_space, paris_today, set_birthdate, vaccine_id


def _doses(schedule: dict[str, Any], disease: str) -> list[dict[str, Any]]:
    found = [d for d in schedule["diseases"] if d["disease"] == disease]
    return found[0]["doses"] if found else []


def _status(schedule: dict[str, Any], dose_id: str) -> list[str]:
    return [d["status"] for d in _doses(schedule, dose_id.split(".")[0]) if d["doseId"] == dose_id]


async def test_a_parent_reads_the_schedule_of_a_child_space_and_sees_each_entry_counted(client, person):
    born = add_months(paris_today(), -4) - timedelta(days=10)
    child = await child_space(person, birthdate=born)
    url = f"/v1/spaces/{child}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    given = add_months(born, 2).isoformat()
    entry = await client.post(url, json={"vaccineId": hexyon, "date": given, "doseNumber": 1}, headers=person.headers)
    assert entry.status_code == 201, entry.text
    assert entry.json()["recordedBy"]["role"] == "representative"
    response = await client.get(f"{url}/schedule", headers=person.headers)
    assert response.status_code == 200, response.text
    schedule = response.json()
    assert schedule["asOf"] == paris_today().isoformat()
    assert schedule["inputs"] == {
        "birthdate": born.isoformat(),
        "sex": "female",
        "pregnant": None,
        "gestationalWeeks": None,
    }
    assert schedule["edition"].startswith("Calendrier des vaccinations")
    for disease in ("diphtheria", "tetanus", "polio", "pertussis", "hib", "hepatitis_b"):
        first = [d for d in _doses(schedule, disease) if d["doseId"] == f"{disease}.hexa-1"]
        assert [(d["status"], d["vaccinationId"], d["given"]) for d in first] == [("done", entry.json()["id"], given)]
        assert first[0]["obligation"] == "mandatory"
    # The second dose is due from 4 months (2 months after the first) until the day before 5 months.
    second = next(d for d in _doses(schedule, "diphtheria") if d["doseId"] == "diphtheria.hexa-2")
    assert (second["status"], second["dueFrom"], second["dueUntil"]) == (
        "due",
        add_months(born, 4).isoformat(),
        (add_months(born, 5) - timedelta(days=1)).isoformat(),
    )
    # Every item names its rule and sources, and every source is described once.
    sources = {s["id"]: s for s in schedule["sources"]}
    for disease in schedule["diseases"]:
        for dose in disease["doses"]:
            assert dose["doseId"].startswith(disease["disease"] + ".")
            assert dose["sourceIds"] and set(dose["sourceIds"]) <= set(sources)
            assert dose["obligation"] in ("mandatory", "recommended") and dose["reason"]
    counted = [d["status"] for disease in schedule["diseases"] for d in disease["doses"]]
    assert schedule["counts"] == {"due": counted.count("due"), "overdue": counted.count("overdue")}
    summary = (await client.get(f"/v1/spaces/{child}", headers=person.headers)).json()
    assert summary["vaccination"] == schedule["counts"]


async def test_doses_that_may_no_longer_be_given_are_not_counted_on_the_home_screen(client, person):
    """A child of 2½ years vaccinated on time with everything but rotavirus: the rotavirus doses'
    latest age has passed (the calendar: dose 1 up to 4 months, the course before 8 months), so
    they are listed as not counted, never overdue, and the home screen shows nothing overdue."""
    born = add_months(paris_today(), -30) - timedelta(days=3)
    child = await child_space(person, birthdate=born)
    url = f"/v1/spaces/{child}/vaccinations"
    by_age = {
        "HEXYON": (2, 4, 11),
        "PREVENAR 13": (2, 4, 11),
        "BEXSERO": (3, 5, 12),
        "NIMENRIX": (6, 12),
        "PRIORIX": (12, 16),
    }
    for brand, months in by_age.items():
        vaccine = await vaccine_id(client, brand.split()[0].lower(), brand)
        for age in months:
            body = {"vaccineId": vaccine, "date": add_months(born, age).isoformat()}
            assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    rotavirus = _doses(schedule, "rotavirus")
    assert [(d["doseId"], d["status"], d["vaccinationId"], d["overdueSince"]) for d in rotavirus] == [
        (f"rotavirus.{dose}", "not_counted", None, None) for dose in ("rota-1", "rota-2", "rota-3-rotateq")
    ]
    assert all("Ne peut plus être donnée" in d["reason"] for d in rotavirus)
    counted = [d["status"] for disease in schedule["diseases"] for d in disease["doses"]]
    assert schedule["counts"] == {"due": counted.count("due"), "overdue": 0}
    summary = (await client.get(f"/v1/spaces/{child}", headers=person.headers)).json()
    assert summary["vaccination"] == schedule["counts"]


async def test_what_the_space_lacks_may_be_given_and_is_otherwise_unknown(client, person):
    await set_birthdate(person.space_id, date(1996, 3, 1), sex=None)
    url = "/v1/spaces/me/vaccinations/schedule"
    unknown = (await client.get(url, headers=person.headers)).json()
    assert unknown["inputs"]["sex"] is None
    assert _status(unknown, "pertussis.pregnancy") == ["unknown"]
    assert "sexe" in next(d for d in _doses(unknown, "pertussis") if d["doseId"] == "pertussis.pregnancy")["reason"]
    pregnant = (
        await client.get(
            url, params={"sex": "female", "pregnant": "true", "gestationalWeeks": 24}, headers=person.headers
        )
    ).json()
    assert pregnant["inputs"] == {"birthdate": "1996-03-01", "sex": "female", "pregnant": True, "gestationalWeeks": 24}
    assert _status(pregnant, "pertussis.pregnancy") == ["due"]
    # A pregnancy says the sex the space does not record (its doses were unknown: an outside audit).
    implied = (
        await client.get(url, params={"pregnant": "true", "gestationalWeeks": 24}, headers=person.headers)
    ).json()
    assert implied["inputs"]["sex"] == "female" and _status(implied, "pertussis.pregnancy") == ["due"]
    not_pregnant = (await client.get(url, params={"sex": "female", "pregnant": "false"}, headers=person.headers)).json()
    assert _status(not_pregnant, "pertussis.pregnancy") == []
    man = (await client.get(url, params={"sex": "male"}, headers=person.headers)).json()
    assert _status(man, "pertussis.pregnancy") == [] and _status(man, "varicella.women-childbearing-age") == []


async def test_inputs_that_contradict_the_space_or_each_other_are_400(client, person):
    await set_birthdate(person.space_id, date(1996, 3, 1), sex="male")
    url = "/v1/spaces/me/vaccinations/schedule"
    for params, pointer in (
        ({"sex": "female"}, "/sex"),
        ({"gestationalWeeks": 20}, "/gestationalWeeks"),
        ({"pregnant": "true"}, "/pregnant"),
        ({"gestationalWeeks": 50, "pregnant": "true"}, "/gestationalWeeks"),
        ({"sex": "other"}, "/sex"),
        ({"pregnant": "maybe"}, "/pregnant"),
    ):
        response = await client.get(url, params=params, headers=person.headers)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["pointer"] == pointer, params


async def test_a_space_without_birthdate_gets_every_rule_unknown(client, person):
    await set_birthdate(person.space_id, None, sex="female")
    schedule = (await client.get("/v1/spaces/me/vaccinations/schedule", headers=person.headers)).json()
    statuses = {d["status"] for disease in schedule["diseases"] for d in disease["doses"]}
    assert statuses == {"unknown"}
    assert schedule["counts"] == {"due": 0, "overdue": 0}
    assert (await client.get("/v1/spaces/me", headers=person.headers)).json()["vaccination"] == {"due": 0, "overdue": 0}


async def test_apps_reach_the_booklet_with_vaccination_scopes_only(client, person, make_app_token):
    url = "/v1/spaces/me/vaccinations"
    prevenar = await vaccine_id(client, "prevenar", "PREVENAR 13")
    mine = (await client.post(url, json={"vaccineId": prevenar, "date": "2024-01-02"}, headers=person.headers)).json()
    vitals_app = await make_app_token(person, ["vitals.body_weight:read", "vitals.body_weight:write"])
    for response in (
        await client.get(url, headers=vitals_app.headers),
        await client.get(f"{url}/schedule", headers=vitals_app.headers),
        await client.post(url, json={"vaccineId": prevenar, "date": "2024-02-02"}, headers=vitals_app.headers),
    ):
        assert response.status_code == 403, response.text
    reader = await make_app_token(person, ["vaccinations:read"], name="Carnet Plus")
    assert (await client.get(url, headers=reader.headers)).status_code == 200
    assert (await client.get(f"{url}/schedule", headers=reader.headers)).status_code == 200
    refused = await client.post(url, json={"vaccineId": prevenar, "date": "2024-02-02"}, headers=reader.headers)
    assert refused.status_code == 403
    writer = await make_app_token(person, ["vaccinations:read", "vaccinations:write"], name="Carnet Plus")
    created = await client.post(url, json={"vaccineId": prevenar, "date": "2024-02-02"}, headers=writer.headers)
    assert created.status_code == 201, created.text
    assert (
        created.json()["recordedBy"] == {"role": "app", "name": "Carnet Plus"}
        and created.json()["status"] == "declared"
    )
    # An app changes only what it recorded.
    assert (await client.patch(f"{url}/{mine['id']}", json={"note": "x"}, headers=writer.headers)).status_code == 403
    assert (await client.delete(f"{url}/{mine['id']}", headers=writer.headers)).status_code == 403
    own = f"{url}/{created.json()['id']}"
    assert (await client.patch(own, json={"lotNumber": "A1"}, headers=writer.headers)).status_code == 200
    assert (await client.delete(own, headers=writer.headers)).status_code == 204
    # The holder may change anything declared.
    assert (await client.patch(f"{url}/{mine['id']}", json={"note": "vu"}, headers=person.headers)).status_code == 200


def test_the_scopes_are_registered_with_their_french_wording(app):
    read, write = SCOPES.get("vaccinations:read"), SCOPES.get("vaccinations:write")
    assert read is not None and write is not None
    assert (read.capability, read.mode, write.capability, write.mode) == ("vaccination", "read", "vaccination", "write")
    assert read.wording.startswith("Lire le carnet de vaccination")
    assert "carnet" in write.wording
    assert not SCOPES.opens(["vitals.body_weight:read"], "vaccination", mode="read")


async def test_a_product_rule_trusts_the_catalogue_not_a_name_typed_by_hand(client, person):
    born = add_months(paris_today(), -4)
    child = await child_space(person, birthdate=born)
    url = f"/v1/spaces/{child}/vaccinations"
    for months in (2, 3):
        typed = {"vaccineName": "ROTATEQ", "diseases": ["rotavirus"], "date": add_months(born, months).isoformat()}
        assert (await client.post(url, json=typed, headers=person.headers)).status_code == 201
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    assert _status(schedule, "rotavirus.rota-3-rotateq") == ["unknown"]
    listed = await vaccine_id(client, "rotateq", "ROTATEQ")
    other = await child_space(person, birthdate=born, given_name="Noé")
    for months in (2, 3):
        body = {"vaccineId": listed, "date": add_months(born, months).isoformat()}
        assert (
            await client.post(f"/v1/spaces/{other}/vaccinations", json=body, headers=person.headers)
        ).status_code == 201
    schedule = (await client.get(f"/v1/spaces/{other}/vaccinations/schedule", headers=person.headers)).json()
    assert _status(schedule, "rotavirus.rota-3-rotateq") == ["due"]


async def test_the_home_screen_evaluates_the_calendar_once_for_the_same_inputs(client, person, monkeypatch):
    """The home screen's counts are remembered for the inputs they came from: the same booklet,
    birthdate and day evaluate the calendar once; a new entry or another day evaluates it again."""
    from ens.core import clock
    from ens.vaccination import schedule as schedule_module
    from ens.vaccination.engine import evaluate as real

    born = add_months(paris_today(), -4) - timedelta(days=10)
    child = await child_space(person, birthdate=born)
    evaluated: list[date] = []

    def evaluate(*args: Any, **kwargs: Any) -> Any:
        evaluated.append(kwargs["today"])
        return real(*args, **kwargs)

    monkeypatch.setattr(schedule_module, "evaluate", evaluate)

    async def home() -> dict[str, int]:
        answer = await client.get(f"/v1/spaces/{child}", headers=person.headers)
        assert answer.status_code == 200, answer.text
        counts: dict[str, int] = answer.json()["vaccination"]
        return counts

    async def full() -> dict[str, int]:
        answer = await client.get(f"/v1/spaces/{child}/vaccinations/schedule", headers=person.headers)
        counts: dict[str, int] = answer.json()["counts"]
        return counts

    first = await home()
    assert await home() == first and len(evaluated) == 1
    assert first == await full() and first["due"] > 0  # the full schedule is evaluated each time
    assert len(evaluated) == 2

    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    given = add_months(born, 2).isoformat()
    url = f"/v1/spaces/{child}/vaccinations"
    entry = await client.post(url, json={"vaccineId": hexyon, "date": given}, headers=person.headers)
    assert entry.status_code == 201, entry.text
    after_entry = await home()
    assert len(evaluated) == 3 and after_entry == await full() and after_entry != first

    later = clock.now() + timedelta(days=40)
    monkeypatch.setattr(clock, "now", lambda: later)
    next_month = await home()
    assert evaluated[-1] == evaluated[-2] + timedelta(days=40) and next_month == await full()


async def test_an_adult_is_not_counted_overdue_for_doses_recommended_after_her_childhood(client, person):
    """The demo holder's case: born in 1986 with the booklet of her paper one, she had 5 doses counted
    overdue on the home screen (the infants' pneumococcal doses, recommended to all from 2006; Hib,
    1993; the adolescents' MenACWY, 2024). Her child born in 2020 is still listed the first two, past
    their catch-up limits (2 and 5 years): not counted, as for an adult."""
    await set_birthdate(person.space_id, date(1986, 4, 12))
    booklet = [
        ("DTCoq-Polio", ["diphtheria", "tetanus", "pertussis", "polio"], "1986-06-12"),
        ("DTCoq-Polio", ["diphtheria", "tetanus", "pertussis", "polio"], "1986-08-14"),
        ("DTCoq-Polio", ["diphtheria", "tetanus", "pertussis", "polio"], "1987-03-16"),
        ("ROR", ["measles", "mumps", "rubella"], "1987-04-20"),
        ("DT Polio", ["diphtheria", "tetanus", "polio"], "1992-05-05"),
        ("ROR", ["measles", "mumps", "rubella"], "1992-05-05"),
        ("Engerix B 20", [], "1998-01-12"),
        ("Engerix B 20", [], "1998-02-12"),
        ("Engerix B 20", [], "1998-08-12"),
        ("dT Polio", ["diphtheria", "tetanus", "polio"], "1998-09-10"),
        ("Repevax", [], "2011-05-03"),
    ]
    url = "/v1/spaces/me/vaccinations"
    for name, diseases, day in booklet:
        body = {"vaccineName": name, "date": day, **({"diseases": diseases} if diseases else {})}
        created = await client.post(url, json=body, headers=person.headers)
        assert created.status_code == 201, created.text
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    assert [d["doseId"] for d in _doses(schedule, "pneumococcus")] == ["pneumococcus.adult-65y"]
    assert _doses(schedule, "hib") == [] and _doses(schedule, "meningococcus_acwy") == []
    assert schedule["counts"] == {"due": 0, "overdue": 0}
    for disease in schedule["diseases"]:
        for dose in disease["doses"]:
            if dose["dueFrom"] is not None and dose["dueUntil"] is not None:
                assert dose["dueFrom"] <= dose["dueUntil"], dose["doseId"]
    assert (await client.get("/v1/spaces/me", headers=person.headers)).json()["vaccination"] == schedule["counts"]

    child = await child_space(person, birthdate=date(2020, 3, 1))
    child_schedule = (await client.get(f"/v1/spaces/{child}/vaccinations/schedule", headers=person.headers)).json()
    assert _status(child_schedule, "pneumococcus.catch-up-12-23m#1") == ["not_counted"]
    assert [d["status"] for d in _doses(child_schedule, "hib")] == ["not_counted"]
    summary = (await client.get(f"/v1/spaces/{child}", headers=person.headers)).json()
    assert summary["vaccination"] == child_schedule["counts"] and summary["vaccination"]["overdue"] >= 4


async def test_a_man_born_in_1950_is_not_counted_overdue_for_infant_polio_or_pertussis(client, person):
    """Polio vaccination was compulsory from 1964, pertussis vaccination of infants began in 1959: a
    man born in 1950 with his adult boosters in the booklet is listed no infant dose of either, and
    his home screen does not count them; his boosters stand, the next one at 85."""
    await set_birthdate(person.space_id, date(1950, 6, 1))
    url = "/v1/spaces/me/vaccinations"
    for day in ("2015-06-10", "2025-06-10"):
        body = {"vaccineName": "dT Polio", "date": day, "diseases": ["diphtheria", "tetanus", "polio"]}
        created = await client.post(url, json=body, headers=person.headers)
        assert created.status_code == 201, created.text
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    assert [(d["doseId"], d["status"]) for d in _doses(schedule, "polio")] == [
        ("polio.adult-65y", "done"),
        ("polio.adult-75y-plus", "done"),
        ("polio.adult-75y-plus", "upcoming"),
    ]
    assert not [d for d in _doses(schedule, "pertussis") if d["doseId"].startswith("pertussis.hexa-")]
    # Compulsory from 1938, so listed; he is an adult: no longer counted (no_longer_counted).
    assert _status(schedule, "diphtheria.hexa-1") == ["not_counted"]
    assert schedule["counts"]["overdue"] == 0
    assert (await client.get("/v1/spaces/me", headers=person.headers)).json()["vaccination"] == schedule["counts"]


async def test_a_condition_the_space_cannot_tell_is_said_in_french(client, person):
    """A dose for people with a condition the space cannot know is ``unknown``, its reason naming
    the condition: it was the calendar file's English ("chronic respiratory or cardiac disease
    likely to decompensate with RSV", an outside audit), to a person reading French."""
    await set_birthdate(person.space_id, date(1950, 3, 1), sex="female")
    schedule = (await client.get("/v1/spaces/me/vaccinations/schedule", headers=person.headers)).json()
    rsv = next(d for d in _doses(schedule, "rsv") if d["doseId"] == "rsv.older-adult-65-74y-comorbidity")
    assert rsv["status"] == "unknown"
    assert "maladie respiratoire ou cardiaque chronique" in rsv["reason"]
    english = ("disease", "history", "given", "before", "months", "season", "pregnancy test", "negative")
    said = [dose["reason"] for disease in schedule["diseases"] for dose in disease["doses"] if dose["reason"]]
    assert said and not [reason for reason in said if any(f" {word}" in reason for word in english)]
    # "Femmes en âge de procréer", given in words only, is 15 to 49 years (ENS's reading): not a
    # dose to do at 76 (it was "à faire maintenant"; then "unknown", closed in 2000: an outside
    # audit), not hers at all; nor due since her birth for a girl of 10.
    past = [d for d in _doses(schedule, "varicella") if d["doseId"] == "varicella.women-childbearing-age"]
    assert past == []
    await set_birthdate(person.space_id, paris_today().replace(year=paris_today().year - 10), sex="female")
    girl = (await client.get("/v1/spaces/me/vaccinations/schedule", headers=person.headers)).json()
    women = next(d for d in _doses(girl, "varicella") if d["doseId"] == "varicella.women-childbearing-age")
    assert (
        women["status"] == "upcoming"
        and women["dueFrom"] == paris_today().replace(year=paris_today().year + 5).isoformat()
    ), women


def test_every_condition_of_the_calendar_has_its_french_words() -> None:
    from ens.vaccination.calendar import schedule_data

    data = schedule_data()
    conditions = {d.population.condition for disease in data.calendar.diseases for d in disease.doses}
    assert conditions - {None} <= data.rules.conditions_fr.words.keys()


def test_ages_in_words_never_override_ages_the_calendar_gives() -> None:
    """ENS's reading of "femmes en âge de procréer" applies to a dose the calendar gives no age: a
    calendar that gives it ages, or a window that ends before it starts, stops the service."""
    import msgspec
    import pytest

    from ens.vaccination.calendar import (
        CALENDAR_FILE,
        RULES_FILE,
        Calendar,
        Rules,
        _completed,
        check,
        schedule_data,
    )

    calendar = msgspec.json.decode(CALENDAR_FILE.read_bytes(), type=Calendar)
    rules = msgspec.json.decode(RULES_FILE.read_bytes(), type=Rules)
    aged = _completed(calendar, rules)
    no_earliest = msgspec.structs.replace(rules.earliest_ages, doses={})
    with pytest.raises(ValueError, match="ages of its own"):
        _completed(
            aged,
            msgspec.structs.replace(
                rules, min_intervals=msgspec.structs.replace(rules.min_intervals, doses={}), earliest_ages=no_earliest
            ),
        )
    # The same for ENS's intervals and earliest ages: a calendar that states one stops the service.
    with pytest.raises(ValueError, match=r"min_intervals names pneumococcus\.pcv-2, which has an interval of its own"):
        _completed(aged, msgspec.structs.replace(rules, ages_in_words={}, earliest_ages=no_earliest))
    with pytest.raises(
        ValueError, match=r"earliest_ages names \S+, which the calendar gives an earliest age of its own"
    ):
        _completed(
            aged,
            msgspec.structs.replace(
                rules, ages_in_words={}, min_intervals=msgspec.structs.replace(rules.min_intervals, doses={})
            ),
        )
    window = rules.ages_in_words["varicella.women-childbearing-age"]
    backwards = msgspec.structs.replace(window, age_min_months=600)
    broken = msgspec.structs.replace(rules, ages_in_words={"varicella.women-childbearing-age": backwards})
    with pytest.raises(ValueError, match="ages_in_words"):
        check(msgspec.structs.replace(schedule_data(), rules=broken))
