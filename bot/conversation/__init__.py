"""The conversation core: one turn at a time per thread, chained on the Responses API.

It does not import Slack code: it is handed a Turn and a Delivery.
"""
