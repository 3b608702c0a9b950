# reprotect-controller: common tasks. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
DEMO ?= full
# Image the chart expects by default: values.yaml image.repository, tag = Chart.yaml appVersion.
IMAGE_REPOSITORY ?= ghcr.io/reprotect/reprotect-controller
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/reprotect-controller/Chart.yaml)
IMAGE ?= $(IMAGE_REPOSITORY):$(IMAGE_TAG)
CONTAINER_ENGINE ?= $(shell command -v docker >/dev/null 2>&1 && echo docker || echo podman)
# The one workspace build shared by demo, test and bench-scale (tests/build-all.sh: `cargo test
# --workspace --all-targets --no-run`, same profile and features), so whichever runs first builds
# and the others reuse every artifact.
# The shipped (release) binary packs its relative relocations (DT_RELR, glibc >= 2.36: Debian 12, the
# image's base): the loader then reads ~100 KB at start instead of 11 MB of `.rela.dyn`, all of which
# counted in the process's peak RSS (issue 13). The Dockerfile has the same default.
RELEASE_RUSTFLAGS ?= -C link-arg=-Wl,-z,pack-relative-relocs

.PHONY: help prereqs demo test crds chart-crds lint bench bench-scale hot-symbols tools build image

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

prereqs: ## Check the prerequisites (Rust >= workspace rust-version, Go >= 1.26, cc) with a clear message
	@bash tests/demo/prereqs.sh

demo: ## Run the local demo: API server, vcsim, ASR simulator, controller, live progress (DEMO=short for CI)
	@bash tests/demo/run.sh $(DEMO)

build: prereqs ## Build what demo and test need: the Go test tools and promtool side by side with the workspace (as `make test` uses it)
	@bash tests/build-all.sh

test: build ## Run every test (unit, offline CRD checks, real API server, vcsim, ASR simulator, chart, GitOps, demo clean-up)
	@export REPROTECT_TOOLS_BIN="$$(bash tests/tools/build.sh | tail -n1)" REPROTECT_PROMTOOL="$$(bash tests/promtool/build.sh | tail -n1)"; \
	bash tests/run-tests.sh
	@export REPROTECT_TOOLS_BIN="$$(bash tests/tools/build.sh | tail -n1)" REPROTECT_PROMTOOL="$$(bash tests/promtool/build.sh | tail -n1)"; \
	for t in charts/reprotect-controller/tests/*.sh tests/gitops/*.sh tests/demo/test_*.sh; do [ -f "$$t" ] || continue; echo "== $$t"; bash "$$t" || exit 1; done

tools: prereqs ## Build (or reuse) the Go test tools: kube-apiserver, etcd, kubectl, helm, kubeconform, vcsim, promtool
	@echo "tools: building (or reusing) the Go test tools and promtool (first time: about 12 minutes on 2 cores)" >&2
	@bash tests/build-all.sh --go

image: ## Build the controller image as the chart expects it (IMAGE=$(IMAGE_REPOSITORY):<appVersion>)
	$(CONTAINER_ENGINE) build --build-arg RELEASE_RUSTFLAGS="$(RELEASE_RUSTFLAGS)" -t $(IMAGE) .
	@echo "built $(IMAGE); load it into your cluster (kind load docker-image $(IMAGE)) or push it and set image.repository/image.tag"

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

hot-symbols: ## Regenerate controller/hot-symbols.txt (the release link's code order) from a scale run under callgrind; needs valgrind
	RELEASE_RUSTFLAGS="$(RELEASE_RUSTFLAGS)" CARGO="$(CARGO)" bash tests/hot-symbols.sh

bench-scale: ## Scale bench (release controller and bench, the simulator in the bench's process): runs 10x100, 10x100/10, 10x1000 and a steady state; ARGS="10x100 10x300 ..."
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO) build --release -p reprotect-controller --bin reprotect-controller -p reprotect-e2e --bin scale
	controller="$${REPROTECT_CONTROLLER_BIN:-$${CARGO_TARGET_DIR:-target}/release/reprotect-controller}"; \
	  bash tests/hot-symbols.sh --check "$$controller" && \
	  REPROTECT_TOOLS_BIN="$$(bash tests/tools/build.sh | tail -n1)" REPROTECT_CONTROLLER_BIN="$$controller" \
	  "$${CARGO_TARGET_DIR:-target}/release/scale" $(ARGS)
