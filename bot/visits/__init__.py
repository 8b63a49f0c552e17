"""Home visits (走访): the household roster, campaigns, visit records in the
workers' chat, the actions found needs become, and coverage."""
