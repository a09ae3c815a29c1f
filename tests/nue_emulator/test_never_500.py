"""Whatever JSON arrives, the emulator answers 2xx or a precise 4xx, never 500."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nue_emulator.seed import salesforce_id
from tests.nue_emulator.conftest import ACME

REAL = [
    salesforce_id("01u", f"pbe:{sku}")
    for sku in ("PLAN-PRO-US", "PLATFORM-SUITE", "INSIGHTS", "ONBOARDING-FEE", "PLAN-ENTERPRISE-US")
]
REAL += [
    "opt-admin-seats",
    "opt-integration-pack",
    "opt-api-endpoints",
    "opt-premium-support",
    "Renew",
    "Cancel",
    "UpdateQuantity",
    "UpdateTerm",
    "Reconfigure",
    "Upgrade",
    "CoTerm",
    "ConvertFreeTrial",
    "SUB-00000001",
    "SUB-00000003",
    "SUB-00000005",
    "SUB-00000007",
    "WELCOME10",
    "Monthly",
    "2026-12-01",
    "2027-06-30",
    1,
    3,
    12,
    0,
    -2,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["2027-01-01", "2027-02-30", "SUB-00000001", ACME]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "customer",
    "effectiveDate",
    "orderProducts",
    "options",
    "billToContact",
    "billingPeriod",
    "assetChanges",
    "products",
    "poDate",
    "transactionHub",
]
LINE_FIELDS = [
    "priceBookEntryId",
    "quantity",
    "subscriptionStartDate",
    "subscriptionTerm",
    "coTermAsset",
    "addOns",
    "priceTagCodes",
    "isFreeTrial",
    "changeType",
    "assetNumber",
    "startDate",
    "term",
    "renewalTerm",
    "cancellationDate",
    "coTermDate",
    "targetPriceBookEntryId",
    "productOptionId",
    "productOptionQuantity",
]
lines = st.fixed_dictionaries({}, optional=dict.fromkeys(LINE_FIELDS, values))
bodies = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(FIELDS, values),
        "orderProducts": st.lists(lines, max_size=3),
        "assetChanges": st.lists(lines, max_size=3),
        "customer": st.sampled_from([{"id": ACME}, {"id": "x"}, ACME, None]),
    },
)


@settings(
    max_examples=int(os.environ.get("NEVER_500_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, path=st.sampled_from(["/orders", "/change-orders", "/orders/invoice-preview"]))
def test_it_never_fails_with_500(api, body, path):
    response = api.post(path, body)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["status"] == "FAILURE"
