"""The seeded demo the suite runs against (seed_emulator, then seed_demo): who signs in, which
customers and subscriptions they find. Tests name these instead of repeating the literals."""

from __future__ import annotations

from nue_emulator.seed import demo_uuid
from orders.management.commands.seed_demo import DEMO_PASSWORD

PASSWORD = DEMO_PASSWORD

# Sign-ins (seed_demo): members of a customer, then Nue's staff.
ADA = "ada@acme.example"  # admin of Acme
BEN = "ben@acme.example"  # viewer of Acme
BOB = "bob@acme.example"  # buyer of Acme, activates up to the approval threshold
GRACE = "grace@globex.example"  # admin of Globex; reads the portal in German, in Berlin time
MARIA = "maria@nue.example"  # account manager, Acme and Globex in her book
SAM = "sam@nue.example"  # support agent
SUPERUSER = "admin@nue.example"

GRACE_LANGUAGE = "de"
GRACE_TIME_ZONE = "Europe/Berlin"

# Customers (seed_emulator): Nue's ids and names. Initech has no sign-in.
ACME_ID = demo_uuid("customer:acme")
GLOBEX_ID = demo_uuid("customer:globex")
INITECH_ID = demo_uuid("customer:initech")
ACME = "Acme Corporation"
GLOBEX = "Globex GmbH"  # billed in EUR
GLOBEX_CURRENCY = "EUR"
INITECH = "Initech LLC"

# Subscriptions (seed_emulator).
PRO = "SUB-00000001"  # Acme: Pro Plan (US), 5 seats, monthly billing
GLOBEX_PRO = "SUB-00000007"
# Acme: Starter Plan (US), 4 seats, its cancellation at the end of the term scheduled.
CONTRACTORS = "SUB-00000009"
