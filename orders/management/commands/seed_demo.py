"""Create the demo sign-ins and link them to the customers Nue knows for their emails.

Idempotent: running it again changes nothing (existing passwords are kept).
Refuses to run with DEBUG=false unless --force, so demo passwords never reach production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from orders.nue import NueError, tenant
from portal.models import CustomerAccount, Membership, Role, User
from portal.roles import SUPPORT_GROUP, ensure_support_group

DEMO_PASSWORD = "portal-demo"


@dataclass(frozen=True)
class DemoMember:
    email: str
    role: Role
    # Their own settings (/account/); empty: taken from the browser at the first sign-in.
    language: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class DemoStaff:
    email: str
    first_name: str
    last_name: str
    book: tuple[str, ...] = ()  # emails whose customers are in this manager's book
    support: bool = False
    superuser: bool = False


MEMBERS = (
    DemoMember("ada@acme.example", Role.ADMIN),
    DemoMember("ben@acme.example", Role.VIEWER),
    DemoMember("bob@acme.example", Role.BUYER),
    # Globex is billed in EUR; Grace reads the portal in German, in Berlin time.
    DemoMember("grace@globex.example", Role.ADMIN, language="de", time_zone="Europe/Berlin"),
)
STAFF = (
    DemoStaff(
        "maria@nue.example", "Maria", "Manager", book=("ada@acme.example", "grace@globex.example")
    ),
    DemoStaff("sam@nue.example", "Sam", "Support", support=True),
    DemoStaff("admin@nue.example", "Admin", "", superuser=True),
)


class Command(BaseCommand):
    help = "Seed the portal's demo sign-ins, linked to Nue customers by contact email."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG=false.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to seed demo sign-ins with DEBUG=false (use --force).")
        try:
            contacts = {
                c.email.lower(): c for c in tenant().contacts_by_email([m.email for m in MEMBERS])
            }
            missing = [m.email for m in MEMBERS if m.email not in contacts]
            if missing:
                raise CommandError(
                    f"Nue has no contact for {', '.join(missing)}; seed the Nue side first "
                    "(manage.py seed_emulator)."
                )
            customer_ids = sorted({c.customer_id for c in contacts.values()})
            names = {c.id: c.name for c in tenant().customers(customer_ids)}
        except NueError as error:
            raise CommandError(f"Could not reach Nue to link the demo sign-ins: {error}") from error

        with transaction.atomic():
            accounts: dict[str, CustomerAccount] = {}
            for member in MEMBERS:
                contact = contacts[member.email]
                account, _ = CustomerAccount.objects.update_or_create(
                    nue_customer_id=contact.customer_id,
                    defaults={"name": names.get(contact.customer_id, contact.customer_id)},
                )
                accounts[member.email] = account
                user = self._user(member.email, contact.first_name, contact.last_name)
                self._preferences(user, member)
                Membership.objects.update_or_create(
                    user=user, account=account, defaults={"role": member.role}
                )
            for staff in STAFF:
                user = self._user(staff.email, staff.first_name, staff.last_name, staff=True)
                if staff.superuser and not user.is_superuser:
                    user.is_superuser = True
                    user.save(update_fields=["is_superuser"])
                if staff.support:
                    ensure_support_group()
                    user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
                for email in staff.book:
                    accounts[email].managers.add(user)

        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS("Demo sign-ins (password: portal-demo):"))
            for member in MEMBERS:
                account = accounts[member.email]
                self.stdout.write(f"  {member.email:<24} {account.name} ({member.role.label})")
            for staff in STAFF:
                kind = (
                    "superuser"
                    if staff.superuser
                    else "support agent"
                    if staff.support
                    else ("account manager")
                )
                self.stdout.write(f"  {staff.email:<24} {kind}")

    def _preferences(self, user: User, member: DemoMember) -> None:
        """The member's demo language and time zone, where the person has chosen none."""
        changed = []
        if member.language and not user.language:
            user.language = member.language
            changed.append("language")
        if member.time_zone and not user.time_zone:
            user.time_zone = member.time_zone
            changed.append("time_zone")
        if changed:
            user.save(update_fields=changed)

    def _user(self, email: str, first: str, last: str, *, staff: bool = False) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last, "is_staff": staff}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user
