"""Check the Nue tenant the portal is configured for (NUE_API_URL, NUE_API_KEY), print a table of
findings, and store the answers in the tenant's capability record, which the portal then uses.

Read-only unless --with-drafts: then it also creates draft orders named
"nue_check probe — safe to delete" (never activated) and lists every one it created, since Nue
documents no way to delete them. Exits non-zero when the key is refused, the customer is not
found, or a read the portal relies on fails. The findings are orders.tenant_check's and
orders.tenant_probes'.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders import capabilities, tenant_check, tenant_probes


class Command(BaseCommand):
    help = (
        "Check the configured Nue tenant and store what the portal should send and show "
        "(read-only unless --with-drafts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customer",
            help="A Nue customer's id or name: its contacts, orders, subscriptions and invoices "
            "are read, and its orders tell the totals' arithmetic.",
        )
        parser.add_argument(
            "--with-drafts",
            action="store_true",
            help="Also create draft orders for this customer (never activated) to learn the "
            "coterm field, the upgrade target field and how a Reconfigure quantity is read.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer: str | None = options["customer"]
        with_drafts: bool = options["with_drafts"]
        if with_drafts and not customer:
            raise CommandError("--with-drafts needs --customer: the drafts are that customer's.")
        api_url = capabilities.api_url()
        self.stdout.write(f"Checking the Nue tenant at {api_url}")
        report = tenant_check.run_checks(
            customer, probes=tenant_probes.PROBES if with_drafts else ()
        )
        self.stdout.write(table(report.findings))
        if report.drafts:
            self.stdout.write(
                f"\nDraft orders created ({len(report.drafts)}), never activated. Nue documents "
                "no way to delete one: cancel them in Nue."
            )
            for draft in report.drafts:
                self.stdout.write(f"  {draft.order_number}  id {draft.id}  {draft.name or ''}")
        if not report.key_accepted:
            raise CommandError(
                f"Nue did not accept the API key at {api_url}: check NUE_API_URL and "
                "NUE_API_KEY. Nothing was stored."
            )
        record = tenant_check.store(report, api_url, with_drafts=with_drafts)
        self.stdout.write(f"\nStored in the capability record of {record.api_url}.")
        if report.failed:
            names = ", ".join(f.name for f in report.failed)
            raise CommandError(f"{len(report.failed)} checks failed: {names}")


def table(findings: tuple[tenant_check.Finding, ...]) -> str:
    """finding | result | evidence, the first two columns as wide as their longest cell."""
    rows = [("Finding", "Result", "Evidence"), *((f.name, f.result, f.evidence) for f in findings)]
    first = max(len(r[0]) for r in rows)
    second = max(len(r[1]) for r in rows)
    lines = [f"{a:<{first}} | {b:<{second}} | {c}" for a, b, c in rows]
    lines.insert(1, f"{'-' * first}-+-{'-' * second}-+-{'-' * 8}")
    return "\n".join(lines)
