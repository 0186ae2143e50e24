# Shortcuts for the commands in README's Development section.
# `make test` needs nothing but Go; `make test-all` runs every test against
# the PostgreSQL and Redis named below (override them on the command line);
# `make ci` is what CI runs.

KEYWARD_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
KEYWARD_TEST_REDIS ?= redis://127.0.0.1:6379/0
# The version .ci/run pins (one place for it).
GOLANGCI_LINT_VERSION := $(shell sed -n 's/^golangci_version=//p' .ci/run)
GOLANGCI_LINT := $(shell go env GOPATH)/bin/golangci-lint

.PHONY: test test-all ci lint bench

# The quick loop: skips what needs PostgreSQL, Redis, Chromium or several processes.
test:
	go test -short ./...

# All tests; those needing a service it cannot reach skip with a message.
test-all:
	KEYWARD_TEST_POSTGRES='$(KEYWARD_TEST_POSTGRES)' KEYWARD_TEST_REDIS='$(KEYWARD_TEST_REDIS)' go test ./...

ci:
	bash .ci/run

lint:
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION)" ]; then \
		go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$(GOLANGCI_LINT_VERSION); \
	fi
	$(GOLANGCI_LINT) run ./...

bench:
	go test -run '^$$' -bench . ./internal/...
