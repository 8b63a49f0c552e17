"""Community workers: roles and areas, the request workflow, deadlines, reminders,
回访 and the report."""
