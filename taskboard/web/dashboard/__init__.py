"""The HTMX dashboard: pages, their fragments, filter forms and POST actions."""
