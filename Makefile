# luckystack-go developer commands. `make run` and `make test` are all a
# newcomer needs; the others are for maintainers.
GO ?= go
PORT ?=
NODE_DIRS := $(shell find . -name package-lock.json -not -path '*/node_modules/*' -exec dirname {} \;)

# FUZZ_TARGETS are package:target:executions for make test; make fuzz
# multiplies the executions.
FUZZ_TARGETS := socketio:FuzzDecodePacket:60000 socketio:FuzzPollingPayload:40000 \
	socketio:FuzzWSReader:40000 socketio:FuzzScanJSON:100000 redisadapter:FuzzDecodeMsgpack:2000 \
	client:FuzzDecodePacket:20000 router:FuzzParseHead:20000 router:FuzzReadAnswer:20000 router:FuzzPlainRelay:20000 \
	api:FuzzFlatDecoder:40000 api:FuzzFlatEncoder:40000

# fuzz_all runs every target in FUZZ_TARGETS for its executions times $(1).
define fuzz_all
	@for t in $(FUZZ_TARGETS); do \
	  set -- $$(echo $$t | tr ':' ' '); n=$$(($$3 * $(1))); \
	  echo "$(GO) test ./$$1 -run '^\$$' -fuzz $$2 -fuzztime $${n}x"; \
	  $(GO) test ./$$1 -run '^$$' -fuzz $$2 -fuzztime $${n}x || exit 1; \
	done
endef

.PHONY: run test test-go test-modules node-deps bench bench-smoke fuzz lint

run:
	$(GO) run ./examples/chat $(PORT)

node-deps:
	@for d in $(NODE_DIRS); do \
	  if [ ! -d $$d/node_modules ]; then (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; \
	done

test: node-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...
	@# Race builds leave out the router's raw socket calls (router/rawio_linux.go);
	@# this run covers them.
	$(GO) test -count=1 -timeout 5m ./router/
	@# Execution counts, not durations: Go 1.26's fuzz coordinator can fail a
	@# -fuzztime duration with "context deadline exceeded" on a busy machine
	@# (golang/go#75804, fixed in Go 1.27).
	$(call fuzz_all,1)
	@for m in $$(find . -mindepth 2 -name go.mod -not -path '*/node_modules/*' -exec dirname {} \;); do \
	  echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 8m ./...) || exit 1; \
	done

bench: node-deps
	$(GO) run ./bench/cmd/benchrun

bench-smoke: node-deps
	$(GO) run ./bench/cmd/benchrun -smoke

fuzz:
	@# The same targets, a hundred times as many executions.
	$(call fuzz_all,100)

lint:
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"; fi
