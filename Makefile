# The two commands that matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: deps
deps: node_modules
	@hack/install-etcd.sh

.PHONY: build
build: deps
	npx tsc -p tsconfig.json

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
	@echo "make run    start etcd, the API server, the controller-manager and a scripted broker on loopback (kubeconfig in .run/kubeconfig)"
	@echo "make test   typecheck, lint and run every test"
	@echo "make bench  run the benchmarks"
