"""Admin tools: reload content, upload and publish content files with history and
rollback, the gap report, and announcements to residents who opted in."""
