"""Business rules, one module per domain noun or external system."""
