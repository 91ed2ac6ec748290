# The two commands that matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# what the compiler reads: dist/ is rebuilt only when one of them changed
SOURCES := $(shell find . -name '*.ts' -not -path './node_modules/*' -not -path './dist/*' -not -path './.run/*') tsconfig.json package.json

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: deps
deps: node_modules
	@hack/install-etcd.sh
	@hack/install-databases.sh

dist/.built: node_modules $(SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

.PHONY: build
build: deps dist/.built

.PHONY: lint
lint: node_modules
	npx eslint .
	npx prettier --check .

.PHONY: test
test: build lint
	npx jest

.PHONY: run
run: build
	node dist/hack/run.js

.PHONY: bench
bench: build
	node dist/bench/run.js

.PHONY: clean
clean:
	rm -rf dist .run

.PHONY: help
help:
	@echo "make run    start etcd, the API server, the controller-manager, the SQL broker and a scripted broker on loopback"
	@echo "            (kubeconfig in .run/kubeconfig); Ctrl-C stops them. Ports, when the defaults are taken:"
	@echo "              PORT=8443            the API server"
	@echo "              CM_PORT=8444         the controller-manager (/healthz, /readyz, /metrics)"
	@echo "              BROKER_PORT=         the scripted broker (default: a free port)"
	@echo "              SQL_BROKER_PORT=     the SQL broker (default: a free port)"
	@echo "            Database servers the SQL broker administers (installed and started on loopback when unset):"
	@echo "              POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
	@echo "              MARIADB_URL=mysql://root@127.0.0.1:3306"
	@echo "make test   typecheck, lint and run every test"
	@echo "make bench  run the benchmarks"
