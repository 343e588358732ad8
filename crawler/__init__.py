"""What to fetch and how politely: the Scrapy spiders, their settings, and the source registry."""
