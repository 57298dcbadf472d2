# hostnet.netif — every entry point sets itself up (venv, Python requirements,
# Debian packages) so a fresh clone on a fresh machine works as root.
SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON      ?= python3
VENV        := $(CURDIR)/.venv
BIN         := $(VENV)/bin
BUILD       := $(CURDIR)/.build
COLLECTIONS := $(BUILD)/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/hostnet/netif
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
PYTEST      := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: lab lab-down help setup os-deps venv collection test unit integration sanity lint build doc-check audit demo bench clean \
        yamllint changelog-lint ee-check changelog test-collections

help:
	@echo "make audit   - audit this machine with the default baseline (reports on disk)"
	@echo "make test    - set up and run every test and gate"
	@echo "make lab     - an N-host lab that stays up (NETIF_LAB_HOSTS=$(NETIF_LAB_HOSTS)); make lab-down removes it"
	@echo "make unit | integration | molecule | sanity | lint | build | doc-check | docs | bench | demo | clean"
	@echo "make lint = yamllint + changelog-lint + ee-check + ansible-lint; make changelog - release notes"

setup: os-deps venv collection

os-deps:
	@bash .ci/os-deps.sh

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

unit: venv collection
	bash .ci/pytest-run.sh $(PYTEST) tests/unit

integration: setup test-collections
	bash .ci/pytest-run.sh $(PYTEST) tests/integration

# Pinned test-only collections (community.general for the fact cache plugin tests).
test-collections: venv
	@bash .ci/test-collections.sh

# build, doc-check and sanity each run on a staged copy of the tree (.ci/stage.sh).
build: venv
	bash .ci/build.sh

doc-check: venv
	bash .ci/doc-check.sh

sanity: venv
	bash .ci/sanity.sh

# lint: every YAML file (yamllint), the changelog fragments (antsibull-changelog),
# the execution-environment fit (ansible-builder, bindep), then ansible-lint.
# The tools live in .build/tools-venv and .build/lint-venv, pinned.
lint: venv
	bash .ci/yamllint.sh
	bash .ci/changelog.sh lint
	bash .ci/ee-check.sh
	bash .ci/lint.sh

yamllint: venv
	bash .ci/yamllint.sh

changelog-lint: venv
	bash .ci/changelog.sh lint

ee-check: venv
	bash .ci/ee-check.sh

# (Re)generate changelogs/changelog.yaml and CHANGELOG.rst for galaxy.yml's
# version from changelogs/fragments (README: Releasing).
changelog: venv
	bash .ci/changelog.sh release

test: setup
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) molecule
	$(MAKE) build
	$(MAKE) doc-check
	$(MAKE) sanity
	$(MAKE) lint

# Audit this machine (connection local) with the default policy (cis_network +
# fleet); reports in ./netif-reports. Findings do not fail the target.
audit: setup
	$(BIN)/ansible-playbook -i localhost, -c local -e ansible_python_interpreter=/usr/bin/python3 \
	  -e netif_audit_report_dir=$(CURDIR)/netif-reports hostnet.netif.audit
	@$(BIN)/python -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; \
	  print("audit %s: findings %s; failing by severity %s" % (s["result"], s["findings"], s["failed_by_severity"]))' \
	  $(CURDIR)/netif-reports/netif-audit.json
	@echo "HTML report: $(CURDIR)/netif-reports/netif-audit.html"

# An 8-host lab (network namespaces over SSH; NETIF_DEMO_HOSTS=N for another size)
# with planted deviations, audited by the role; torn down afterwards. Reports in
# ./netif-reports/demo.
demo: setup
	NETIF_DEMO_REPORTS=$(CURDIR)/netif-reports/demo $(BIN)/python tests/integration/test_audit_lab.py

# A lab that stays up to try things on: NETIF_LAB_HOSTS network-namespace hosts
# with sshd, this checkout as the collection, an ansible.cfg in the lab's
# directory (printed, with what to type next). make lab-down removes it by name.
NETIF_LAB_NAME  ?= netiflab
NETIF_LAB_HOSTS ?= 3
lab: setup
	$(BIN)/python -m tests.lab up --name $(NETIF_LAB_NAME) --hosts $(NETIF_LAB_HOSTS) --ansible-cfg

lab-down: venv
	$(BIN)/python -m tests.lab down --name $(NETIF_LAB_NAME)

clean:
	rm -rf $(BUILD) tests/output

bench: setup
	$(BIN)/python bench/bench_facts.py
	$(BIN)/python bench/bench_audit_offline.py
	$(BIN)/python bench/bench_audit_live.py
	$(BIN)/python bench/bench_setters.py --rounds 3

# Molecule scenarios (extensions/molecule; README there): default = the
# configure role, audit = the audit role, each on lab hosts over SSH with
# molecule's built-in delegated driver (no container engine). Molecule comes
# from requirements-dev.txt; each scenario keeps its state in
# .build/molecule/<scenario> and tears its lab down by name, also on failure.
.PHONY: molecule
MOLECULE_SCENARIOS := default audit
molecule: setup
	@rc=0; t0=$$SECONDS; for s in $(MOLECULE_SCENARIOS); do \
	  echo "== molecule test -s $$s"; \
	  MOLECULE_EPHEMERAL_DIRECTORY=$(BUILD)/molecule/$$s NO_COLOR=1 $(BIN)/molecule test -s $$s || rc=1; \
	done; \
	echo "molecule: $(MOLECULE_SCENARIOS): $$([ $$rc -eq 0 ] && echo passed || echo FAILED) in $$((SECONDS - t0))s"; \
	exit $$rc

# Regenerate every generated page under docs/ (rules.md from the audit
# baselines, reference/ from the modules' and roles' own documentation);
# tests/unit fails when one is stale.
.PHONY: docs
docs: venv collection
	$(BIN)/python docs/gen_rules.py
	$(BIN)/python docs/gen_reference.py
