"""``ens demo``: a demo holder to explore the API with (and the login, in dev)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from ens import db
from ens.app import all_tables
from ens.auth.dev_identities import DEV_IDENTITIES, dev_sub
from ens.settings import Settings
from ens.spaces.service import Identity, sign_in_identity

DEMO_IDENTITY = "camille"


async def seed_demo(settings: Settings) -> None:
    """Create (or refresh) the demo holder's account and space, then say how to use them."""
    console = Console()
    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, all_tables())
    await db.start(engine, 2)
    try:
        identity = DEV_IDENTITIES[DEMO_IDENTITY]
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Demo holder", total=1)
            signed_in = await sign_in_identity(
                Identity(
                    issuer=settings.effective_oidc_issuer,
                    sub=dev_sub(identity),
                    given_name=identity.given_name,
                    family_name=identity.family_name,
                    birthdate=identity.birthdate,
                    gender=identity.gender,
                    birthplace=identity.birthplace or None,
                    email=identity.email,
                )
            )
            progress.advance(task)
        console.print(f"Demo holder: {identity.given_name} {identity.family_name}, space {signed_in.space_id}")
        console.print("Try it:")
        console.print(f"  TOKEN=$(.venv/bin/ens dev token {DEMO_IDENTITY})")
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {settings.public_url}/v1/me')
        console.print(f'  curl -H "Authorization: Bearer $TOKEN" {settings.public_url}/v1/spaces/me')
    finally:
        await db.stop(engine)
