"""Who hears about a change: subscriptions, rendering, delivery and feeds."""
