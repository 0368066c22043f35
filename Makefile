# luckystack-go developer commands. `make run` and `make test` are all a
# newcomer needs; the others are for maintainers.
GO ?= go
PORT ?=
NODE_DIRS := $(shell find . -name package-lock.json -not -path '*/node_modules/*' -exec dirname {} \;)

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
	@# Execution counts, not durations: Go 1.26's fuzz coordinator can fail a
	@# -fuzztime duration with "context deadline exceeded" on a busy machine
	@# (golang/go#75804, fixed in Go 1.27).
	$(GO) test ./socketio -run '^$$' -fuzz FuzzDecodePacket -fuzztime 60000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzPollingPayload -fuzztime 40000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzWSReader -fuzztime 40000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzScanJSON -fuzztime 100000x
	$(GO) test ./redisadapter -run '^$$' -fuzz FuzzDecodeMsgpack -fuzztime 2000x
	$(GO) test ./client -run '^$$' -fuzz FuzzDecodePacket -fuzztime 20000x
	$(GO) test ./router -run '^$$' -fuzz FuzzParseHead -fuzztime 20000x
	$(GO) test ./router -run '^$$' -fuzz FuzzReadAnswer -fuzztime 20000x
	@for m in $$(find . -mindepth 2 -name go.mod -not -path '*/node_modules/*' -exec dirname {} \;); do \
	  echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 8m ./...) || exit 1; \
	done

bench: node-deps
	$(GO) run ./bench/cmd/benchrun

bench-smoke: node-deps
	$(GO) run ./bench/cmd/benchrun -smoke

fuzz:
	@# Long runs by execution count, for the reason given under test.
	$(GO) test ./socketio -run '^$$' -fuzz FuzzDecodePacket -fuzztime 5000000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzPollingPayload -fuzztime 3000000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzWSReader -fuzztime 3000000x
	$(GO) test ./socketio -run '^$$' -fuzz FuzzScanJSON -fuzztime 10000000x
	$(GO) test ./redisadapter -run '^$$' -fuzz FuzzDecodeMsgpack -fuzztime 200000x
	$(GO) test ./client -run '^$$' -fuzz FuzzDecodePacket -fuzztime 2000000x
	$(GO) test ./router -run '^$$' -fuzz FuzzParseHead -fuzztime 2000000x
	$(GO) test ./router -run '^$$' -fuzz FuzzReadAnswer -fuzztime 2000000x

lint:
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: go install honnef.co/go/tools/cmd/staticcheck@latest"; fi
