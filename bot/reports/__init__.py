"""The staff report: figures (kpi), the period and area it covers (scope), charts as
inline SVG (charts), the HTML page and the .xlsx export (output), ``sanliang report``
(cli) and ``/report`` in the chat (dialog)."""
