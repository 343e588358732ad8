"""Who hears about a change: subscriptions, rendering, delivery and feeds."""

from .channels import (
    CHANNELS,
    AddressError,
    AppriseChannel,
    Channel,
    EmailChannel,
    SendError,
    WebhookChannel,
    channel_for,
)
from .delivery import (
    DeliveryFailure,
    DeliveryReport,
    FailingChannel,
    TestAlertResult,
    deliver_pending,
    deliveries,
    enqueue_new_events,
    failing_channels,
    send_test_alert,
)
from .feeds import atom_feed, entry_id, feed_xml, write_feed
from .netguard import RefusedTarget
from .render import Message
from .settings import DEFAULT_BASE_URL, AlertSettings
from .signing import sign, verify, verify_headers
from .subscriptions import SubscribeResult, Subscription, confirm, subscribe, subscriptions, unsubscribe

__all__ = [
    "DEFAULT_BASE_URL",
    "AddressError",
    "AlertSettings",
    "AppriseChannel",
    "CHANNELS",
    "Channel",
    "DeliveryFailure",
    "DeliveryReport",
    "EmailChannel",
    "FailingChannel",
    "Message",
    "RefusedTarget",
    "SendError",
    "SubscribeResult",
    "Subscription",
    "TestAlertResult",
    "WebhookChannel",
    "atom_feed",
    "channel_for",
    "confirm",
    "deliver_pending",
    "deliveries",
    "enqueue_new_events",
    "entry_id",
    "failing_channels",
    "feed_xml",
    "send_test_alert",
    "sign",
    "subscribe",
    "subscriptions",
    "unsubscribe",
    "verify",
    "verify_headers",
    "write_feed",
]
