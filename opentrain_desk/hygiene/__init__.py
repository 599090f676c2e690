"""App hygiene: self-check, logs, crash reports, single instance, backups, palette, About."""
