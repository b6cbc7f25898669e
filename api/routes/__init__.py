"""One router per resource: schedules, jobs, cases, health and the page."""
