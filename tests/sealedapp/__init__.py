"""A test-only app with sealed fields (installed only when HIMAYA_ENV=test)."""
