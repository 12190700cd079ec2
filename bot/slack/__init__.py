"""The Slack layer: app assembly, thin listeners, pure Block Kit builders, the background runner."""
