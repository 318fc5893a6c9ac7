"""Slack in and out: bolt app, payload classification, and answer delivery."""
