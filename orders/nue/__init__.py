"""The one gateway to Nue: HTTP client, typed models, request bodies and the error taxonomy.

Nothing else in the portal imports httpx, and this package imports no ORM, no views and nothing
of the portal outside it. Views get `request.nue` (orders.scope.CustomerNue, bound to the acting
customer by orders.middleware) and call domain verbs that return the typed, immutable results
defined here; they never see a dict, an `httpx.Response` or a customer id. Account mapping
(server side only) uses `tenant()`. Tests swap the process-wide client with `install_client()`.

- errors: NueError and its kinds.
- fields: Nue's spelling variants and the readers every model parses with.
- models: what Nue answers (Order, Subscription, Invoice, Product, ...).
- results: what the write verbs return.
- requests: id formats and what the verbs send (LineRequest, AddOn, AssetChange), in a tenant's
  Dialect (what the guides leave open, as `manage.py nue_check` found it).
- transport: NueClient, the envelope, the process-wide client, the in-process emulator.
- tenant: unscoped calls for account mapping and for nue_check.
"""

from orders.nue.catalog import (
    PriceBookEntry,
    PriceTag,
    PriceTier,
    Product,
    ProductOption,
    ProductRelationship,
)
from orders.nue.errors import (
    NueAuthError,
    NueConflict,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueRateLimited,
    NueUnavailable,
    NueValidationError,
    OperationInProgress,
)
from orders.nue.models import (
    Address,
    Asset,
    Contact,
    Customer,
    Invoice,
    InvoiceDetail,
    InvoiceItem,
    InvoiceOrder,
    InvoicePreview,
    Listed,
    MagicLink,
    Order,
    OrderLine,
    Page,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
    Unparsed,
    parse_each,
)
from orders.nue.requests import (
    ACTIVATED_FILTERS,
    CATALOG_ID,
    CHANGE_TYPES,
    COTERM_FIELDS,
    CUSTOMER_ID,
    DEFAULT_DIALECT,
    INVOICE_ID,
    ORDER_ID,
    SUBSCRIPTION_NAME,
    TEMPLATE_ID,
    UPGRADE_TARGET_FIELDS,
    AddOn,
    AssetChange,
    ContactRequest,
    Dialect,
    LineRequest,
    PayInvoiceRequest,
)
from orders.nue.results import (
    ActivationResult,
    ChangeOrderResult,
    DraftChangeOrder,
    DraftResult,
)
from orders.nue.tenant import Tenant, tenant
from orders.nue.transport import (
    DEFAULT_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_GET_RETRIES,
    MAX_RETRY_AFTER,
    EmbeddedTransport,
    Envelope,
    NueClient,
    build_default_client,
    embedded_emulator,
    get_client,
    install_client,
    serving_origin,
    site_url,
)

__all__ = [
    "ACTIVATED_FILTERS",
    "CATALOG_ID",
    "CHANGE_TYPES",
    "COTERM_FIELDS",
    "CUSTOMER_ID",
    "DEFAULT_DIALECT",
    "DEFAULT_TIMEOUT",
    "INVOICE_ID",
    "MAX_BODY_BYTES",
    "MAX_GET_RETRIES",
    "MAX_RETRY_AFTER",
    "ORDER_ID",
    "SUBSCRIPTION_NAME",
    "TEMPLATE_ID",
    "UPGRADE_TARGET_FIELDS",
    "ActivationResult",
    "AddOn",
    "Address",
    "Asset",
    "AssetChange",
    "ChangeOrderResult",
    "Contact",
    "ContactRequest",
    "Customer",
    "Dialect",
    "DraftChangeOrder",
    "DraftResult",
    "EmbeddedTransport",
    "Envelope",
    "Invoice",
    "InvoiceDetail",
    "InvoiceItem",
    "InvoiceOrder",
    "InvoicePreview",
    "LineRequest",
    "Listed",
    "MagicLink",
    "NueAuthError",
    "NueClient",
    "NueConflict",
    "NueError",
    "NueNotFound",
    "NueProtocolError",
    "NueRateLimited",
    "NueUnavailable",
    "NueValidationError",
    "OperationInProgress",
    "Order",
    "OrderLine",
    "Page",
    "PayInvoiceRequest",
    "PriceBookEntry",
    "PriceTag",
    "PriceTier",
    "Product",
    "ProductOption",
    "ProductRelationship",
    "Subscription",
    "SubscriptionChange",
    "SubscriptionSnapshot",
    "Tenant",
    "Unparsed",
    "build_default_client",
    "embedded_emulator",
    "get_client",
    "install_client",
    "parse_each",
    "serving_origin",
    "site_url",
    "tenant",
]
