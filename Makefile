# Developer entry points; the work is done by the scripts in scripts/.
ODOO_SRC ?= $(HOME)/.cache/kpulse_dunning/odoo-19.0
VENV ?= .venv
export ODOO_SRC VENV

.PHONY: setup run test lint clean-db dist test-wheel pytest test-upgrade

setup:
	bash scripts/setup.sh

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

clean-db:
	bash scripts/clean_db.sh

# Packaging and the other test runners (README: "Packaging, pytest and upgrades").
dist:
	bash scripts/dist.sh

test-wheel:
	bash scripts/test_wheel.sh

pytest:
	bash scripts/pytest.sh

test-upgrade:
	bash scripts/test_upgrade.sh
