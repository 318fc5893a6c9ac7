"""Pure text rendering for Slack: Markdown to mrkdwn, and splitting long answers."""
