"""The Responses API: typed stream events, a pure reducer, and the HTTP client."""
