"""The login pages as a person using a keyboard, or a phone at 200 % zoom, gets them (an outside audit
in Chromium at 360 px).

- What has the keyboard's focus must be seen (WCAG 2.4.7): Chromium's own ring was a thin dark line
  on the dark blue buttons, and on the secondary buttons it only turned their dark blue border
  black. A ring of its own colour, outside the element, now stands out from the card.
- At 200 % a 360 px phone lays pages out 180 CSS px wide (WCAG 1.4.4, 1.4.10): the margins left
  100 px for the text, titles broke inside their words ("Protég / ez") and the names of the consent
  page's space choice one letter a line ("J / e / a / n").
- A refused code is on screen when its page opens scrolled to the code's field (the field has the
  focus): it was above the screen on the enrolment page.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Page

from ens.auth.login import pages

pytestmark = pytest.mark.browser

_TWO_SPACES = pages.ConsentView(
    app_name="Balance Connectée",
    publisher="Balances SA",
    label_status="labelled",
    permissions=["Lire les mesures de poids enregistrées dans l'espace"],
    spaces=[
        pages.SpaceChoice(id="a", label="Jean Dupont (votre espace)"),
        pages.SpaceChoice(id="b", label="Inès Dupont (vous le représentez : parent)"),
    ],
)
# A stand-in for the QR code, as tall as segno's (a 360 px phone draws it 256 px high).
_QR = '<svg viewBox="0 0 53 53"><rect width="53" height="53"/></svg>'


def _pages() -> dict[str, str]:
    return {
        "enrolment": pages.enrol_page(
            _QR,
            "otpauth://totp/x?secret=ABCD",
            secret="WXHY NCQ3 TXPX ZT63",
            csrf="c",
            error="Le code doit comporter 6 chiffres.",
        ),
        "code": pages.otp_page("c", "Ce code n'est pas valable. Il vous reste 4 essais.", email_hint="ca…@example.fr"),
        "e-mail code": pages.email_only_page("c", "ca…@example.fr"),
        "recovery codes": pages.recovery_codes_page(["RHP4B-EU4WP"] * 10, "c"),
        "consent": pages.consent_page(_TWO_SPACES, "c"),
        "reopening": pages.reopen_page("c"),
        "error": pages.error_page("Connexion impossible", "Aucune connexion en cours dans ce navigateur."),
    }


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_what_has_the_keyboards_focus_is_ringed_outside_it(page: Page) -> None:
    await page.set_content(pages.otp_page("c", email_hint="ca…@example.fr"))
    shot = Image.open(io.BytesIO(await page.screenshot())).convert("RGB")
    card = shot.getpixel((30, 30))  # inside the card, beside its content
    assert isinstance(card, tuple)
    ringed = []
    for _ in range(4):  # the field (focused as the page opens), then each button
        name = await page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        box = await page.evaluate("(r => [r.left, r.top, r.height])(document.activeElement.getBoundingClientRect())")
        shot = Image.open(io.BytesIO(await page.screenshot())).convert("RGB")
        # Two to five pixels out of the element's left edge, halfway down: the ring, not the card.
        around = [shot.getpixel((int(box[0]) - dx, int(box[1] + box[2] / 2))) for dx in (3, 4)]
        ringed.append((name, max(_contrast(pixel, card) for pixel in around)))  # type: ignore[arg-type]
        await page.keyboard.press("Tab")
    assert [name for name, _ in ringed][:2] == ["code", "Valider"]
    assert all(contrast >= 3 for _, contrast in ringed), ringed


@pytest.mark.parametrize("name", list(_pages()))
async def test_at_200_percent_on_a_phone_no_text_goes_one_letter_a_line(page: Page, name: str) -> None:
    await page.set_viewport_size({"width": 180, "height": 740})
    await page.set_content(_pages()[name])
    assert await page.evaluate("document.documentElement.scrollWidth") == 180
    # Each text of 12 characters or more: at least 6 characters a line on average.
    crushed = await page.evaluate(
        """() => { const found = []; const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const text = node.textContent.trim();
            if (text.length < 12 || node.parentElement.closest('style')) continue;
            const range = document.createRange(); range.selectNodeContents(node);
            const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top));
            const lines = new Set(tops).size;
            if (text.length / lines < 6) found.push(`${text.slice(0, 30)}: ${lines} lines`);
          } return found; }"""
    )
    assert crushed == [], crushed


async def test_a_refused_code_is_on_screen_when_the_enrolment_page_opens_at_its_field(page: Page) -> None:
    await page.set_content(_pages()["enrolment"])
    assert await page.evaluate("document.activeElement.id") == "code"
    assert await page.evaluate("scrollY") > 0  # opened scrolled down, to the field
    refusal = await page.evaluate(
        "(r => [r.top, r.bottom])(document.getElementById('code-error').getBoundingClientRect())"
    )
    viewport = page.viewport_size
    assert viewport is not None
    assert 0 <= refusal[0] and refusal[1] <= viewport["height"], refusal
