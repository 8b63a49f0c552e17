"""The web channel: a mobile chat page (H5) on the same engine, served by Starlette."""
