"""Functions a team can turn on with BOT_FUNCTIONS (see docs/tools.md).

- `bot.functions.clock:current_time`: the date and time now, in the asker's time zone.
- `bot.functions.clock:days_between`: the number of days between two dates.
"""
