"""The adversarial suite's helpers: hostile ERP rows (fuzz) and a sync killed at random moments (kill)."""
