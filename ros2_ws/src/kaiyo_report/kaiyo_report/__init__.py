"""Recording and replay (MCAP), survey reports for the cooperative, live web view."""
