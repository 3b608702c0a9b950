# reprotect-controller: common tasks. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
DEMO ?= full

.PHONY: help demo test crds chart-crds lint bench bench-scale tools

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

demo: ## Run the local demo: API server, vcsim, ASR simulator, controller, live progress (DEMO=short for CI)
	@bash tests/demo/run.sh $(DEMO)

test: tools ## Run every test (unit, offline CRD checks, real API server, vcsim, ASR simulator)
	REPROTECT_TOOLS_BIN="$$(bash tests/tools/build.sh | tail -n1)" $(CARGO) test --workspace --all-targets --no-fail-fast -- --test-threads=4
	@if [ -d charts/reprotect-controller/tests ]; then for t in charts/reprotect-controller/tests/*.sh tests/gitops/*.sh; do [ -f "$$t" ] && bash "$$t" || exit 1; done; fi

tools: ## Build (or reuse) the Go test tools: kube-apiserver, etcd, kubectl, helm, vcsim
	@bash tests/tools/build.sh >/dev/null

crds: ## Regenerate crds/ from the Rust types
	$(CARGO) run -q -p reprotect-controller -- crd --output-dir crds
	@$(MAKE) -s chart-crds

chart-crds: ## Copy crds/ into the Helm chart
	@if [ -d charts/reprotect-controller ]; then mkdir -p charts/reprotect-controller/crds && cp crds/*.yaml charts/reprotect-controller/crds/; fi

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: ## Run the benchmarks (preflight, ASR simulator throughput, vCenter observation, scale)
	$(CARGO) bench --workspace

bench-scale: tools ## Scale bench: 10 vaults x 100 machines to Protected (time, ARM requests per machine, controller RSS); ARGS="vaults per-vault"
	$(CARGO) build -q -p reprotect-controller -p reprotect-e2e --bins
	REPROTECT_TOOLS_BIN="$$(bash tests/tools/build.sh | tail -n1)" "$${CARGO_TARGET_DIR:-target}/debug/scale" $(ARGS)
