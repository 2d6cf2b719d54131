"""The operator commands behind `sohbet check-env`, `security-check`, `cleanup`, `healthcheck` and `predeploy`,
one module per command. Each returns structured results (findings, counts, a health summary); `app/cli.py`
prints them."""
