"""What the tests, the bench, the demo runner and the sandbox share: starting the stack
(`stack`, `infra`), signing as Stripe does (`stripe_signing`), a merchant's browser over HTTP
(`merchant`), reading topics (`kafka_topics`) and waiting with a deadline (`waiting`).

Development only: no service imports it (import-linter checks this, `make lint`).
"""
