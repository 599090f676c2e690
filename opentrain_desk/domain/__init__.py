"""Plain-Python domain: money, jobs, contracts, milestones. No Qt, no SQLAlchemy."""
