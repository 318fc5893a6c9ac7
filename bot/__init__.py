"""A Slack bot that answers people with OpenAI's Responses API."""
