"""The printable certificate (``Accept: application/pdf`` on the booklet): dated, the holder, every
entry with its status, and where a child's mandatory vaccinations stand. Its text is read back
with pypdf; each one is also saved in tests/artifacts/ to be looked at."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

from fpdf import FPDF
from pypdf import PageObject, PdfReader

from ens.core import clock, db
from ens.core.pdf import FAMILY, FONTS, french_date
from ens.vaccination.calendar import disease_labels
from ens.vaccination.engine.dates import add_months
from tests.helpers.server import ARTIFACTS
from tests.helpers.vaccination import child_space, paris_today, vaccine_id

PDF = "application/pdf"


def _text(pdf: bytes, name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


async def test_a_childs_certificate_lists_every_entry_with_its_status_and_the_mandatory_vaccinations(client, person):
    today = paris_today()
    born = add_months(today, -13) - timedelta(days=3)
    child = await child_space(person, birthdate=born, given_name="Léonie")
    url = f"/v1/spaces/{child}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    prevenar = await vaccine_id(client, "prevenar 13", "PREVENAR 13")
    given = []
    for months, lot in ((2, "HX-001"), (4, "HX-002"), (11, "HX-003")):
        day = add_months(born, months).isoformat()
        for vaccine in (hexyon, prevenar):
            body = {"vaccineId": vaccine, "date": day, "doseNumber": months // 4 + 1, "lotNumber": lot}
            response = await client.post(
                url, json={**body, "administeredBy": "Dr Œuvray", "location": "PMI"}, headers=person.headers
            )
            assert response.status_code == 201, response.text
            given.append(response.json())
    await db.fetch(
        "UPDATE vaccinations SET status = 'validated' WHERE space_id = {} AND id = {}", child, uuid.UUID(given[0]["id"])
    )
    response = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == PDF
    assert response.headers["content-disposition"] == 'inline; filename="certificat-de-vaccination.pdf"'
    assert response.content.startswith(b"%PDF")
    text = _text(response.content, "vaccination-certificate-child.pdf")
    assert "Certificat de vaccination" in text
    assert f"établi le {french_date(today)}" in text
    assert "Léonie" in text and person.family_name not in text and french_date(born) in text
    # The family name in capitals, in its field and the footer, as the directives print it.
    assert f"Nom {person.family_name.upper()}" in text and f"Léonie {person.family_name.upper()}, établi" in text
    for months in (2, 4, 11):
        assert add_months(born, months).strftime("%d/%m/%Y") in text
    assert text.count("HEXYON") == 3 and text.count("PREVENAR 13") == 3
    assert "HX-003" in text and "Dr Œuvray" in text
    assert text.count("Validée") == 2 and text.count("Déclarée") == 6  # 1 and 5 in the table, 1 each in the legend
    # The mandatory vaccinations of a child born since 2018: the infant series is done, MMR (12 months) is
    # late, the meningococci were never given.
    assert "Vaccinations obligatoires" in text
    assert re.search(r"Diphtérie\s*À jour", text)
    assert re.search(r"Rougeole\s*(En retard|À faire maintenant)", text)
    assert "Cachet et signature" in text


async def test_a_catch_up_due_after_the_obligation_ended_is_not_listed_as_mandatory(client, person):
    """The meningococcal obligation ends at 24 months (décret n° 2024-694): at 2 years and 4 months
    (born after mid-2024, in the obligation's cohort) the ACWY and MenB catch-ups of that age are
    only recommended, so neither is among the mandatory vaccinations (the MenB booster of the
    infant series never started had been listed late: an outside audit)."""
    born = add_months(paris_today(), -28) - timedelta(days=3)
    child = await child_space(person, birthdate=born, given_name="Aïcha")
    url = f"/v1/spaces/{child}/vaccinations"
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    acwy = next(d for d in schedule["diseases"] if d["disease"] == "meningococcus_acwy")["doses"]
    catch_up = [d for d in acwy if d["doseId"] == "meningococcus_acwy.transitional-catch-up-to-3y#1"]
    assert [(d["status"], d["obligation"]) for d in catch_up] == [("due", "recommended")]
    response = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200, response.text
    text = _text(response.content, "vaccination-certificate-after-the-obligation.pdf")
    assert "Vaccinations obligatoires" in text
    assert "méningocoque B" not in text
    assert "méningocoques A, C, W, Y" not in text
    menb = next(d for d in schedule["diseases"] if d["disease"] == "meningococcus_b")["doses"]
    first = [d for d in menb if d["doseId"] == "meningococcus_b.transitional-catch-up-2-4y#1"]
    assert [(d["status"], d["obligation"]) for d in first] == [("due", "recommended")]


async def test_a_child_born_before_2018_has_the_dtp_obligation_on_the_certificate_and_in_the_schedule(
    client, person, monkeypatch
):
    """A child born in 2016 is under the obligation before the loi n° 2017-1836 (CSP L3111-2 and
    L3111-3 as they were): the primary series and first booster of diphtheria, tetanus and polio.
    The certificate had no "Vaccinations obligatoires" section at all; it now has one with those
    three diseases only, as a 2018 child's shows its own. The obligation binds a minor's parents
    and she turns 18 in April 2034: the clock is set to a day she is 10, so that the test does not
    depend on the year it runs in."""
    born = date(2016, 4, 12)
    day = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: day)
    child = await child_space(person, birthdate=born, given_name="Maëlys")
    url = f"/v1/spaces/{child}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    for months in (2, 4):  # the booster at 11 months was never given
        body = {"vaccineId": hexyon, "date": add_months(born, months).isoformat(), "lotNumber": f"HX-{months}"}
        assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    doses = {d["doseId"]: d for disease in schedule["diseases"] for d in disease["doses"]}
    for disease in ("diphtheria", "tetanus", "polio"):
        assert [doses[f"{disease}.hexa-{n}"]["obligation"] for n in (1, 2, 3)] == ["mandatory"] * 3
        assert doses[f"{disease}.hexa-3"]["status"] == "overdue"
        assert "né avant le 1er janvier 2018" in doses[f"{disease}.hexa-3"]["reason"]
        assert "csp_l3111_2_before_2018" in doses[f"{disease}.hexa-1"]["sourceIds"]
        assert doses[f"{disease}.dtcap-6y"]["obligation"] == "recommended"
    assert doses["pertussis.hexa-1"]["obligation"] == "recommended"
    assert {"csp_l3111_2_before_2018", "decret_65_213_polio"} <= {s["id"] for s in schedule["sources"]}
    response = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200, response.text
    text = _text(response.content, "vaccination-certificate-born-2016.pdf")
    assert "Maëlys" in text and french_date(born) in text
    assert "Vaccinations obligatoires" in text
    section = text.split("Vaccinations obligatoires", 1)[1].split("Statut des vaccinations", 1)[0]
    late = re.findall(r"(Diphtérie|Tétanos|Poliomyélite)\s*En retard", section)
    assert late == ["Diphtérie", "Tétanos", "Poliomyélite"]
    assert "Coqueluche" not in section and "Hépatite B" not in section and "Rougeole" not in section


async def test_an_adults_certificate_has_no_mandatory_section(client, person):
    """The holder, born in 1990, is under no obligation: the certificate is unchanged."""
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    body = {"vaccineId": hexyon, "date": "1990-07-17"}
    assert (await client.post("/v1/spaces/me/vaccinations", json=body, headers=person.headers)).status_code == 201
    response = await client.get("/v1/spaces/me/vaccinations", headers={**person.headers, "Accept": PDF})
    text = _text(response.content, "vaccination-certificate-adult.pdf")
    assert "HEXYON" in text and "Vaccinations obligatoires" not in text


async def test_an_empty_booklet_still_prints_a_dated_certificate(client, person):
    response = await client.get("/v1/spaces/me/vaccinations", headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200
    text = _text(response.content, "vaccination-certificate-empty.pdf")
    assert "Le carnet ne contient aucune vaccination." in text
    assert f"établi le {french_date(paris_today())}" in text


async def test_a_lot_number_of_twelve_characters_prints_on_one_line(client, person):
    """The lot's column held 9 capitals: a lot number such as A21CB123AB-2 printed as "A21CB123" over
    "AB-2", which a pharmacist or a school nurse copies wrong (is the hyphen part of it?)."""
    for day, lot in ((4, "SBNH7K45JX01"), (5, "A21CB123AB-2"), (6, "FE2090-R7A3B")):
        body = {"vaccineName": "INFANRIX HEXA", "diseases": ["diphtheria"], "date": f"2020-03-0{day}", "lotNumber": lot}
        assert (await client.post("/v1/spaces/me/vaccinations", json=body, headers=person.headers)).status_code == 201
    response = await client.get("/v1/spaces/me/vaccinations", headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200
    text = _text(response.content, "vaccination-certificate-lots.pdf")
    assert "SBNH7K45JX01" in text and "A21CB123AB-2" in text and "FE2090-R7A3B" in text
    assert "04/03/2020" in text and "Déclarée" in text


def _pieces(page: PageObject) -> list[tuple[float, str]]:
    """A page's pieces of text as drawn: where each starts (x, in points) and what it says."""
    drawn: list[tuple[float, str]] = []
    page.extract_text(visitor_text=lambda text, cm, tm, font, size: drawn.append((tm[4], text.strip())))
    return [(x, text) for x, text in drawn if text]


async def test_a_row_that_does_not_fit_at_the_foot_of_a_page_goes_whole_to_the_next(client, person):
    """A lot number at its longest (64 characters) takes ten lines of its narrow column: the fifth
    such entry, at the foot of page 1, printed its first lines there and the rest at the top of
    page 2 (an outside audit), a lot number to be copied from two pages. With one to six entries,
    every row is now whole on one page, under the table's heading, its lot wrapped in its column."""
    url = "/v1/spaces/me/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    lots = [f"{n:02d}" + "W" * 62 for n in range(1, 7)]
    font = FPDF(unit="pt")
    font.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    font.set_font(FAMILY, "", 9)
    for count in range(1, len(lots) + 1):
        body = {"vaccineId": hexyon, "date": f"2020-01-{count:02d}", "doseNumber": 1, "lotNumber": lots[count - 1]}
        assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
        printed = await client.get(url, headers={**person.headers, "Accept": PDF})
        assert printed.status_code == 200, printed.text
        text = _text(printed.content, f"vaccination-certificate-{count}-long-lots.pdf")
        assert text.count("Déclarée") == count + 1, count  # each row's status, and the legend's
        pages = PdfReader(io.BytesIO(printed.content)).pages
        written = [re.sub(r"\s", "", page.extract_text()) for page in pages]
        for day, lot in enumerate(lots[:count], start=1):
            row = re.compile(f"{day:02d}/01/2020HEXYONDiphtérie[^/]*HépatiteB1{lot}—Déclarée")
            whole = [page for page in written if row.search(page)]  # its date to its status, on one page
            assert len(whole) == 1, (count, day)
            assert whole[0].index("DateVaccinProtègecontreDoseLotFaitparStatut") < whole[0].index(lot)
        for page in pages:
            pieces = _pieces(page)
            columns = {text: x for x, text in pieces}
            for x, text in pieces:
                if "WW" in text:  # a line of a lot, from the left of its column to before the next
                    assert abs(x - columns["Lot"]) < 0.1 and x + font.get_string_width(text) < columns["Fait par"]


async def test_json_stays_the_default_and_an_app_with_the_read_scope_may_print(client, person, make_app_token):
    assert (
        (await client.get("/v1/spaces/me/vaccinations", headers=person.headers))
        .headers["content-type"]
        .startswith("application/json")
    )
    either = await client.get(
        "/v1/spaces/me/vaccinations", headers={**person.headers, "Accept": "application/json, application/pdf;q=0.5"}
    )
    assert either.headers["content-type"].startswith("application/json")
    reader = await make_app_token(person, ["vaccinations:read"])
    printed = await client.get("/v1/spaces/me/vaccinations", headers={**reader.headers, "Accept": PDF})
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")


async def test_entries_at_their_longest_print_whole(client, person):
    """Who gave a dose and where are 255 characters each, printed in one narrow cell: a row taller
    than a page, which fpdf2 refused (500), so that a representative or an app allowed to write the
    booklet could make the holder's certificate unprintable. The row now goes on over the next
    pages, and every character is printed (each field here of letters found nowhere else)."""
    url = "/v1/spaces/me/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    widest = {"administeredBy": "W" * 255, "location": "W" * 255, "lotNumber": "W" * 64}
    entries = [
        {"vaccineId": hexyon, "date": "2020-01-10", "doseNumber": 99, **widest},
        {
            "vaccineName": ("Vaccin préparé à façon " * 12)[:255],
            "diseases": sorted(disease_labels()),  # every disease the calendar and the vaccine list know
            "date": "2021-03",
            "administeredBy": "Ш" * 255,
            "location": "Щ" * 255,
            "lotNumber": "Ж" * 64,
        },
    ]
    for body in entries:
        response = await client.post(url, json=body, headers=person.headers)
        assert response.status_code == 201, response.text
    printed = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert printed.status_code == 200, printed.text
    text = _text(printed.content, "vaccination-certificate-longest.pdf")
    assert text.count("W") - text.count("A, C, W, Y") == 255 * 2 + 64  # and "méningocoques A, C, W, Y"
    assert (text.count("Ш"), text.count("Щ"), text.count("Ж")) == (255, 255, 64)
    # Counted by word: the name may go on over a page break, between two words.
    assert text.count("préparé") == text.count("façon") == 11 and "(suite)" in text
    assert "Cachet et signature" in text


async def test_names_and_places_in_any_script_print_on_the_certificate(client, make_person, caplog):
    """A child named 明美 or نور, a dose given in a clinic abroad: the certificate printed nothing for
    the Chinese (DejaVu Sans lacks it) and the Arabic unjoined, left to right. Read back now, each
    is there in the order written, and fpdf2 reports no missing glyph."""
    parent = await make_person(given_name="Karim", family_name="Haddad حداد")
    child = await child_space(parent, birthdate=paris_today() - timedelta(days=400), given_name="明美 نور")
    url = f"/v1/spaces/{child}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    body = {
        "vaccineId": hexyon,
        "date": "2026-01-10",
        "doseNumber": 1,
        "administeredBy": "د. أحمد",
        "location": "東京の病院 🏥",
    }
    response = await client.post(url, json=body, headers=parent.headers)
    assert response.status_code == 201, response.text
    with caplog.at_level("WARNING"):
        printed = await client.get(url, headers={**parent.headers, "Accept": PDF})
    assert printed.status_code == 200, printed.text
    text = _text(printed.content, "vaccination-certificate-any-script.pdf")
    assert "明美" in text and "نور" in text and "حداد" in text
    assert "د. أحمد" in text and "東京の病院" in text and "🏥" in text
    assert not [record for record in caplog.records if "glyphs" in record.getMessage()]


async def test_a_mandatory_vaccination_never_given_and_no_longer_recommended_is_still_listed(client, person):
    """A child of 6 in the 2018 obligation's cohort, never vaccinated against Haemophilus influenzae b
    nor pneumococcus: the calendar no longer recommends either at that age (its catch-up limits, 5
    and 2 years), so their doses are not counted. The mandatory section left both diseases out, and
    read as if they were not among the obligations (an outside audit): it lists them, saying so."""
    born = add_months(paris_today(), -74)
    child = await child_space(person, birthdate=born, given_name="Noé")
    url = f"/v1/spaces/{child}/vaccinations"
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    by_disease = {d["disease"]: d["doses"] for d in schedule["diseases"]}
    hib = [d for d in by_disease["hib"] if d["obligation"] == "mandatory"]
    assert hib and {d["status"] for d in hib} == {"not_counted"}
    response = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert response.status_code == 200, response.text
    text = _text(response.content, "vaccination-certificate-never-given.pdf")
    section = text.split("Vaccinations obligatoires", 1)[1].split("Statut des vaccinations", 1)[0]
    never = r"Haemophilus influenzae (de )?type b\s*Jamais faite, plus recommandée à cet âge"
    assert re.search(never, section), section
    # One dose given at 2 months, the rest never: incomplete, not "À jour".
    second = await child_space(person, birthdate=born, given_name="Lou")
    url = f"/v1/spaces/{second}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    body = {"vaccineId": hexyon, "date": add_months(born, 2).isoformat(), "lotNumber": "HX-2"}
    assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
    response = await client.get(url, headers={**person.headers, "Accept": PDF})
    text = _text(response.content, "vaccination-certificate-incomplete.pdf")
    section = text.split("Vaccinations obligatoires", 1)[1].split("Statut des vaccinations", 1)[0]
    incomplete = r"Haemophilus influenzae (de )?type b\s*Incomplète, plus recommandée à cet âge"
    assert re.search(incomplete, section), section


async def test_a_certificate_asked_again_is_304_until_the_booklet_changes(client, person):
    """Each print's bytes differ (the PDF's creation time and /ID): If-None-Match was 304 only within
    the second (an outside audit of the records, for the directives' print, which this shares)."""
    url = "/v1/spaces/me/vaccinations"
    first = await client.get(url, headers={**person.headers, "Accept": PDF})
    assert first.status_code == 200 and first.headers["etag"].startswith('W/"')
    tag = first.headers["etag"]
    again = await client.get(url, headers={**person.headers, "Accept": PDF, "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag
    vaccine = await vaccine_id(client, "boostrixtetra", "BOOSTRIXTETRA")
    day = (paris_today() - timedelta(days=30)).isoformat()
    added = await client.post(url, json={"vaccineId": vaccine, "date": day}, headers=person.headers)
    assert added.status_code == 201, added.text
    after = await client.get(url, headers={**person.headers, "Accept": PDF, "If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert len(_text(after.content, "vaccination-certificate-after.pdf")) > len(_text(first.content, "first.pdf"))
