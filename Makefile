# Baton — build, test and tooling. `make help` lists the targets.
#
# Sources are picked up by directory: every .c file under the library
# directories goes into libbaton.a except each program's main.c; every
# tests/unit/test_*.c becomes one Check test binary. Adding a module needs no
# Makefile change.

SHELL := /bin/bash
.DEFAULT_GOAL := all

BATON_CACHE ?= $(HOME)/.cache/baton

# The one version (operator/common/version.h): the chart's appVersion, which
# is also the image tag. --version prints it.
VERSION ?= $(shell awk -F'"' '/^appVersion:/ {print $$2}' charts/baton/Chart.yaml)
RAFT_VERSION ?= 0.22.1-1
# raft is built with our patches (consensus/raft-patches/): their hash is in
# the prefix, so a changed patch means a new build (consensus/build-raft.sh)
RAFT_PATCH_ID := $(shell cat consensus/raft-patches/*.patch | sha256sum | cut -c1-8)
RAFT_PREFIX ?= $(BATON_CACHE)/raft-$(RAFT_VERSION)-$(RAFT_PATCH_ID)
# libcurl, HTTP and HTTPS only, linked statically (operator/kube/build-curl.sh
# says why: Debian's libcurl4 loads ~30 libraries Baton never uses). The
# prefix carries the version and a hash of the configure flags, which the
# script prints.
CURL_VERSION ?= 7.88.1-10+deb12u15
CURL_ID := $(shell CURL_VERSION=$(CURL_VERSION) operator/kube/build-curl.sh --id)
CURL_PREFIX ?= $(BATON_CACHE)/curl-$(CURL_ID)

SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build/plain
else
BUILD ?= build/san
endif

CC ?= gcc
PKGS := libuv jansson yaml-0.1 openssl libpq
# what the static libcurl needs after it (nghttp2, OpenSSL, zlib), as its
# curl-config says (its -l flags but -lcurl: the archive itself is named).
# Expanded when a program is linked, so `make deps all` works.
CURL_LIBS = $(CURL_PREFIX)/lib/libcurl.a \
	$(filter-out -lcurl,$(filter -l%,$(shell $(CURL_PREFIX)/bin/curl-config --static-libs 2>/dev/null)))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) -fno-strict-aliasing
CPPFLAGS += -DBATON_VERSION='"$(VERSION)"'
# curl's headers before PKG_CFLAGS' /usr/include/<multiarch>, where
# libcurl4-openssl-dev's would be if it is installed
CPPFLAGS += -D_GNU_SOURCE -I. -Ioperator -I$(RAFT_PREFIX)/include \
	-I$(CURL_PREFIX)/include -DCURL_STATICLIB $(PKG_CFLAGS)
LDLIBS += $(RAFT_PREFIX)/lib/libraft.a -llz4 $(CURL_LIBS) $(PKG_LIBS) -lhttp_parser -lm -lpthread
# Sanitized builds are also the checked builds: ALWAYS()/NEVER() abort there
# and are plain conditions in build/plain (operator/common/assert.h).
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
CPPFLAGS += -DBATON_CHECKED
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifneq ($(COVERAGE),)
CFLAGS += --coverage -O0
LDFLAGS += --coverage
endif

LIB_DIRS := operator/common operator/kube operator/engine operator/agent \
	operator/batond operator/batonctl operator/http consensus mesh-adapters
LIB_SRCS := $(filter-out %/main.c,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libbaton.a

# The PostgreSQL server module (operator/engine/pg_lease/, docs/agent.md):
# not in libbaton.a (LIB_DIRS globs are not recursive), built against the
# server headers (postgresql-server-dev-15), and never sanitized: it runs
# inside postgres, which is not.
PG_SERVER_INC := $(shell pg_config --includedir-server 2>/dev/null)
PGLEASE_SO := $(BUILD)/lib/baton_lease.so

# Programs: directory → binary name, built only once their main.c exists.
PROGRAMS := operator/batond:batond operator/agent:baton-agent operator/batonctl:batonctl
prog_dir = $(word 1,$(subst :, ,$(1)))
prog_name = $(word 2,$(subst :, ,$(1)))
BINS := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call prog_dir,$(p))/main.c),$(BUILD)/bin/$(call prog_name,$(p))))

TEST_SUPPORT_SRCS := $(wildcard tests/unit/support/*.c)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
ITEST_SRCS := $(wildcard tests/integration/itest_*.c)
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/itests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
# The lab kubelet is a folder of its own (tests/helpers/labkubelet/,
# docs/testenv.md), built under the name the lab scripts and tests use.
LABKUBELET_SRCS := $(wildcard tests/helpers/labkubelet/*.c)
LABKUBELET_OBJS := $(LABKUBELET_SRCS:%.c=$(BUILD)/obj/%.o)
HELPER_BINS += $(BUILD)/tests/helpers/baton_labkubelet

.PHONY: kind-e2e lab lab-down all install uninstall help deps deps-apt raft curl testenv check unit integration e2e bench sim bench-batond bench-pg bench-kube bench-shift bench-pglease bench-failover bench-operators bench-raft \
	format format-check lint clean coverage regions-up regions-down fuzz fuzz-smoke fuzz-build \
	images images-smoke images-clean kind-node-image kind-lab kind-lab-down

help:
	@echo "make deps          install Debian packages, build raft $(RAFT_VERSION), a static libcurl $(CURL_VERSION) and the test binaries (idempotent)"
	@echo "make all           build batond, baton-agent, batonctl into $(BUILD)/bin"
	@echo "make install       those into PREFIX/bin (default /usr/local; DESTDIR too), kubectl-baton, man pages, completion"
	@echo "make check         unit tests under ASan+UBSan, then integration tests on a real control plane"
	@echo "make unit          unit tests only (SANITIZE=address,undefined by default)"
	@echo "make integration   integration tests only (starts and stops its own regions)"
	@echo "make format | format-check | lint | clean"
	@echo "make regions-up N=3 [NETNS=1] | regions-down   a local multi-region control plane"
	@echo "make lab | lab-down   the demo: 3 regions, batonds, a synchronous database on real PostgreSQL"
	@echo "make e2e           the lab drills (kill a region, partition, switchover, heal), checked"
	@echo "make bench | sim   benchmarks and the protocol simulation (print numbers)"
	@echo "make bench-shift   on the running lab: promote -> routing, labels, status per mesh backend"
	@echo "make bench-operators [SIZES=\"200 1000\"]   batond beside a controller-runtime operator doing the same work, ratios"
	@echo "make bench-raft [DBS=\"1000 10000\"] [SERVERS=3] [SECONDS=60] [ARGS=...]   the simulation's Raft load with renewals flowing: entries/s, bytes, snapshots, log in memory"
	@echo "make bench-failover [RUNS=3]   kill-region side by side: Patroni (apt on first use) and Baton's lab, RTOs and ratio"
	@echo "make fuzz [FUZZ_SECONDS=60] | fuzz-smoke   libFuzzer targets (clang), docs/fuzz.md"
	@echo "make images        the Debian base (debootstrap) and the Baton image ghcr.io/baton-dev/baton:$(VERSION) (Docker; docs/images.md)"
	@echo "make images-smoke  run the image: the three programs, the agent starting PostgreSQL | images-clean"
	@echo "make kind-node-image   a kind node image built here, nothing pulled (docs/kind.md)"
	@echo "make kind-lab | kind-lab-down   three kind clusters (regions), Baton by Helm in each"
	@echo "make kind-e2e      kind lab up, helm test per region, drills on kind, checked, lab down"

all: $(BINS) $(LIB) $(PGLEASE_SO)

# make install [PREFIX=/usr/local] [DESTDIR=] [MANDIR=PREFIX/share/man]:
# the three programs, kubectl-baton (batonctl under the name kubectl's
# plugin lookup wants: `kubectl baton status`), their man pages
# (docs/man/, mdoc, stamped with the version; kubectl-baton.1 is
# batonctl.1), and batonctl's bash and zsh completion.
# tests/integration/test_install.sh checks the layout and renders the pages.
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
MAN1 := docs/man/batonctl.1
MAN8 := docs/man/batond.8 docs/man/baton-agent.8
install: all
	install -d $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	ln -sf batonctl $(DESTDIR)$(PREFIX)/bin/kubectl-baton
	for m in $(MAN1); do sed 's/^\.Os Baton$$/.Os Baton $(VERSION)/' $$m \
		> $(DESTDIR)$(MANDIR)/man1/$$(basename $$m) || exit 1; done
	for m in $(MAN8); do sed 's/^\.Os Baton$$/.Os Baton $(VERSION)/' $$m \
		> $(DESTDIR)$(MANDIR)/man8/$$(basename $$m) || exit 1; done
	chmod 0644 $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	ln -sf batonctl.1 $(DESTDIR)$(MANDIR)/man1/kubectl-baton.1
	$(BUILD)/bin/batonctl completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/batonctl
	ln -sf batonctl $(DESTDIR)$(PREFIX)/share/bash-completion/completions/kubectl-baton
	$(BUILD)/bin/batonctl completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_batonctl

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,batond baton-agent batonctl kubectl-baton) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,batonctl.1 kubectl-baton.1) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/batonctl \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/kubectl-baton \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_batonctl

$(RAFT_PREFIX)/.complete:
	@echo "raft $(RAFT_VERSION) is not built yet: run 'make deps' (or 'make raft')" >&2; exit 1

$(CURL_PREFIX)/.complete:
	@echo "libcurl $(CURL_VERSION) (static, HTTP/HTTPS only) is not built yet: run 'make deps' (or 'make curl')" >&2; exit 1

$(BUILD)/obj/%.o: %.c $(RAFT_PREFIX)/.complete $(CURL_PREFIX)/.complete
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(PGLEASE_SO): operator/engine/pg_lease/baton_lease.c operator/engine/pg_lease/leasefile_format.h
	@test -f "$(PG_SERVER_INC)/postgres.h" || { echo "no PostgreSQL server headers: install postgresql-server-dev-15 (make deps)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -D_GNU_SOURCE $(WARN) -I$(PG_SERVER_INC) -o $@ $<

# batond links OpenSSL's archives, not its shared libraries (docs/batond.md,
# "Memory"): the shared libcrypto kept ~4 MiB of its pages resident in every
# batond, the archive brings only the objects batond calls. LDLIBS_<program>
# overrides LDLIBS for one program; -lssl and -lcrypto become the archives in
# place (libssl before libcrypto, as every pkg-config/curl-config says).
SSL_ARCHIVES_SSL = $(shell $(CC) -print-file-name=libssl.a)
SSL_ARCHIVES_CRYPTO = $(shell $(CC) -print-file-name=libcrypto.a)
LDLIBS_batond = $(patsubst -lssl,$(SSL_ARCHIVES_SSL),$(patsubst -lcrypto,$(SSL_ARCHIVES_CRYPTO),$(LDLIBS)))

define PROGRAM_RULE
$(BUILD)/bin/$(call prog_name,$(1)): $(BUILD)/obj/$(call prog_dir,$(1))/main.o $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(or $$(LDLIBS_$(call prog_name,$(1))),$$(LDLIBS))
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_RULE,$(p))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/itests/%: $(BUILD)/obj/tests/integration/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# The lab's packet delayer (drill delay-agent): its own library, so it is
# built only when a drill needs it, never by `make all` or `make check`.
$(BUILD)/tests/lab/baton_netdelay: tests/lab/netdelay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lnetfilter_queue

$(BUILD)/tests/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/helpers/baton_labkubelet: $(LABKUBELET_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- dependencies -----------------------------------------------------------

deps: deps-apt raft curl testenv

deps-apt:
	tests/env/deps-apt.sh

raft:
	RAFT_VERSION=$(RAFT_VERSION) RAFT_PREFIX=$(RAFT_PREFIX) BATON_CACHE=$(BATON_CACHE) consensus/build-raft.sh

curl:
	CURL_VERSION=$(CURL_VERSION) CURL_PREFIX=$(CURL_PREFIX) BATON_CACHE=$(BATON_CACHE) operator/kube/build-curl.sh

testenv:
	BATON_CACHE=$(BATON_CACHE) tests/env/build.sh

# ---- tests ------------------------------------------------------------------

# The unit tests always run under ASan+UBSan unless SANITIZE is set otherwise.
UNIT_SANITIZE ?= address,undefined

unit:
	$(MAKE) --no-print-directory SANITIZE=$(UNIT_SANITIZE) unit-build
	tests/run-unit.sh build/san/tests

unit-build: $(UNIT_BINS) $(ITEST_BINS) $(HELPER_BINS) $(BINS) $(PGLEASE_SO)

integration:
	$(MAKE) --no-print-directory SANITIZE=$(UNIT_SANITIZE) unit-build
	BATON_BUILD=build/san tests/integration/run.sh

check:
	@tests/check.sh

# Deterministic simulation of the failover protocol (consensus/sim.c), beyond
# the 2,000 schedules `make unit` runs. Prints violations (none expected),
# failover times and log sizes. The two-instance runs (the designation,
# S5, L2: docs/consensus.md §2) cost about 13 ms a schedule on 3 servers and
# 35 ms on 5, so their counts are smaller.
SCHEDULES ?= 70000
SCHEDULES5 ?= 30000
SCHEDULES2 ?= 10000
SCHEDULES2_5 ?= 3000
SCHEDULES2M ?= 3000
SCHEDULESW ?= 10000
SCHEDULESW2 ?= 3000
SEED ?= 1
sim:
	$(MAKE) --no-print-directory SANITIZE= build/plain/tests/helpers/baton_sim
	build/plain/tests/helpers/baton_sim --schedules $(SCHEDULES) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --servers 5 --schedules $(SCHEDULES5) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --hour
	build/plain/tests/helpers/baton_sim --instances 2 --schedules $(SCHEDULES2) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --instances 2 --servers 5 --schedules $(SCHEDULES2_5) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --witness --schedules $(SCHEDULESW) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --witness --instances 2 --schedules $(SCHEDULESW2) --seed $(SEED)
	build/plain/tests/helpers/baton_sim --instances 2 --moves --schedules $(SCHEDULES2M) --seed $(SEED)

# Benchmarks print numbers; they assert nothing about time.
bench-batond:
	tests/bench/bench-batond.sh $(or $(DBS),1000)

bench-pg:
	$(MAKE) --no-print-directory SANITIZE= build/plain/tests/helpers/bench_pg
	build/plain/tests/helpers/bench_pg 5

bench-kube:
	tests/bench/bench-kube.sh

# Issue 20's side by side (docs/batond.md, "batond beside a
# controller-runtime operator"): batond, then a minimal controller-runtime
# operator doing the same per-DatabaseCluster work (tests/bench/operators/,
# built from its pinned Go modules and cached under $(BATON_CACHE)/bin/),
# each on a fresh one-region control plane, at every size in SIZES. Niced:
# the machine is shared. Minutes per size; never part of make bench.
bench-operators:
	BATON_CACHE=$(BATON_CACHE) nice -n 10 tests/bench/bench-operators.sh $(or $(SIZES),200 1000)

# Issue 20's Raft load (docs/consensus.md, "Renewals at 10,000
# databases"): the simulation's scale mode (baton_sim --databases) at each
# size in DBS, on SERVERS servers, SECONDS simulated seconds with no fault
# once every database is registered: entries and bytes per second by
# command type, snapshots, the log a batond keeps in memory. ARGS goes to
# every run (--one-region, --writing, --max-inflight 1024, ...). Fails
# when a run found a violation, a lease lapsed or Raft did not keep up
# (10,000 at raft's default pipeline does not: docs/consensus.md §7);
# every size runs. Niced: the machine is shared; 10,000 take minutes.
bench-raft:
	$(MAKE) --no-print-directory SANITIZE= build/plain/tests/helpers/baton_sim
	@rc=0; for n in $(or $(DBS),1000 10000); do \
		echo "== baton_sim --databases $$n --servers $(or $(SERVERS),3) --seconds $(or $(SECONDS),60) $(ARGS)"; \
		nice -n 10 build/plain/tests/helpers/baton_sim --databases $$n \
			--servers $(or $(SERVERS),3) --seconds $(or $(SECONDS),60) $(ARGS) || rc=1; \
	done; exit $$rc

# What the baton_lease module costs per commit (docs/agent.md).
bench-pglease:
	$(MAKE) --no-print-directory SANITIZE= build/plain/tests/helpers/bench_pglease build/plain/lib/baton_lease.so
	build/plain/tests/helpers/bench_pglease $(or $(SECS),5) $(or $(ROUNDS),3)

bench: bench-kube bench-batond bench-pg

# Promote -> routing objects, labels and status in every region, per mesh
# backend, on the running lab (make lab first): tests/lab/bench-shift.py.
bench-shift: all
	tests/lab/bench-shift.py --repeat $(or $(REPEAT),3) $(if $(OUT),--out $(OUT))

# Issue 16's side-by-side (docs/lab.md, "Side by side with Patroni"): the
# kill-region drill against Patroni + etcd in three namespaces of its own,
# then against Baton's lab (make lab when it is not up, down again after),
# RUNS times each; holds /tmp/baton-netns.lock throughout. Never part of
# make check: it needs root, installs Debian's patroni on first use and
# takes ~3 minutes per run pair.
bench-failover:
	$(MAKE) --no-print-directory SANITIZE= build/plain/bin/batond build/plain/bin/baton-agent \
		build/plain/bin/batonctl build/plain/lib/baton_lease.so build/plain/tests/helpers/baton_labkubelet
	RUNS=$(or $(RUNS),3) tests/bench/bench-failover.sh $(if $(OUT),--out $(OUT))

# The lab drills (docs/lab.md): lab up, drills 1 2 5 6 with checks (no split
# brain, no lost acknowledged write, every drill converges), lab down. Own
# BUILD and BATON_LAB_DIR may be given; reports go to $(E2E_REPORT).
E2E_LAB ?= /tmp/baton-e2e-lab
E2E_REPORT ?= $(CURDIR)/build/e2e-reports
e2e:
	$(MAKE) --no-print-directory $(BUILD)/bin/batond $(BUILD)/bin/baton-agent $(BUILD)/bin/batonctl $(BUILD)/tests/helpers/baton_labkubelet
	BATON_BUILD=$(BUILD) BATON_LAB_DIR=$(E2E_LAB) tests/lab/e2e.sh $(E2E_REPORT)

# The demo (README): three regions in network namespaces, a batond per
# region over mutual TLS, a synchronous DatabaseCluster in every region, real
# PostgreSQL; waits until every region reports it Healthy, then shows
# `batonctl status`. `make lab-down` stops exactly what it started.
lab: all build/plain/tests/helpers/baton_labkubelet
	BATON_BUILD=build/plain tests/lab/lab.sh up
	BATON_BUILD=build/plain tests/lab/lab.sh apply-example
	@for i in $$(seq 1 120); do \
	    ok=1; for r in $$(cat tests/lab/run/regions/regions); do \
	        [ "$$(tests/env/bin/kubectl --kubeconfig tests/lab/run/regions/$$r/admin.kubeconfig -n lab get dbc orders -o jsonpath='{.status.phase}' 2>/dev/null)" = Healthy ] || ok=0; \
	    done; [ $$ok = 1 ] && break; sleep 2; \
	done; [ $$ok = 1 ] || echo "lab: not Healthy within 240 s (tests/lab/lab.sh status)" >&2
	build/plain/bin/batonctl status --lab tests/lab/run
	@echo "writes: see docs/lab.md; drills: build/plain/bin/batonctl drill 1; stop: make lab-down"

lab-down:
	tests/lab/lab.sh down

# ---- container images ---------------------------------------------------------

# docs/images.md. Never part of `make check` or CI (.ci/run): they need a
# Docker engine, which images/dockerd.sh starts when none answers (stop it
# with `images/dockerd.sh stop`). The work is in images/*.sh.
images:
	VERSION=$(VERSION) BATON_CACHE=$(BATON_CACHE) images/images.sh build

images-smoke:
	VERSION=$(VERSION) images/smoke.sh

images-clean:
	VERSION=$(VERSION) BATON_CACHE=$(BATON_CACHE) images/images.sh clean

# ---- kind (docs/kind.md) ------------------------------------------------------

# Never part of `make check` or CI: a kind node image built here (binaries
# and images from Go modules and Debian packages, cached by version under
# $(BATON_CACHE)/kind/), and three kind clusters, one per region.
kind-node-image:
	BATON_CACHE=$(BATON_CACHE) images/kind/node-image.sh

kind-lab: all
	VERSION=$(VERSION) BATON_CACHE=$(BATON_CACHE) images/kind/lab.sh up

kind-lab-down:
	BATON_CACHE=$(BATON_CACHE) images/kind/lab.sh down

KIND_E2E_REPORT ?= $(CURDIR)/build/kind-e2e
kind-e2e: all
	VERSION=$(VERSION) BATON_CACHE=$(BATON_CACHE) BATON_BUILD=$(BUILD) images/kind/e2e.sh $(KIND_E2E_REPORT)

# ---- regions by hand ----------------------------------------------------------

N ?= 3
regions-up:
	tests/env/regions up $(N) $(if $(NETNS),--netns)

regions-down:
	tests/env/regions down

# ---- fuzzing ------------------------------------------------------------------

# libFuzzer targets (tests/fuzz/fuzz_*.c, docs/fuzz.md), built with clang
# into build/fuzz/: the project sources they reach are compiled again with
# the fuzzer's coverage instrumentation and ASan+UBSan (any UB aborts), and
# linked from an archive so that each target takes only what it needs.
# `make fuzz` runs every target FUZZ_SECONDS, its corpus growing in
# build/fuzz/corpus/; `make fuzz-smoke` runs each FUZZ_SMOKE_SECONDS from
# the checked-in seeds and prints "fuzz: N passed, M failed" (make check).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_BUILD := build/fuzz
# gcc's warnings are the gate (make all); clang adds -Wformat-nonliteral to
# -Wformat=2 for vprintf-style wrappers, which gcc does not.
FUZZ_CFLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g -O1 -std=c11 $(WARN) -Wno-format-nonliteral \
	-fno-strict-aliasing -DBATON_CHECKED
# Not LIB_SRCS: compiling all of it with clang would double fuzz-smoke's time.
FUZZ_LIB_SRCS := operator/common/error.c operator/common/log.c \
	operator/common/assert.c operator/common/clock.c \
	operator/common/buf.c operator/common/failpoint.c \
	consensus/fsm.c consensus/index.c consensus/decider.c \
	operator/kube/client.c operator/kube/config.c operator/kube/execcred.c \
	operator/kube/rest.c \
	operator/kube/watch.c operator/http/server.c operator/http/metrics.c \
	operator/http/procmetrics.c \
	operator/agent/agent.c operator/agent/lease.c operator/engine/engine.c \
	operator/engine/leasefile.c operator/engine/postgres.c \
	operator/engine/procstate.c
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/obj/%.o: %.c $(RAFT_PREFIX)/.complete $(CURL_PREFIX)/.complete
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libbaton-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libbaton-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	tests/fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# ---- tooling ------------------------------------------------------------------

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
# every shell script: *.sh and the executables whose first line names bash
SHELL_SRCS = $(sort $(shell git ls-files '*.sh' 2>/dev/null) \
	$(shell git grep -lE '^\#!(/usr/bin/env bash|/bin/bash)' 2>/dev/null))

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: ok"

# helm from the test environment (make testenv); HELM=... to use another.
HELM ?= tests/env/bin/helm
CHART_CI_VALUES := $(wildcard charts/baton/ci/*.yaml)
# the Kubernetes version the chart is rendered for (tests/env's)
LINT_KUBE_VERSION ?= 1.34.4

BANNED := \b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|strncpy)\s*\(

lint:
	@if git grep -nP '$(BANNED)' -- '*.c' '*.h'; then \
		echo "lint: banned functions above (use snprintf, strtok_r, strtol...)" >&2; exit 1; fi
	@# Two false positives suppressed: cppcheck reads BATON_TEST_MAIN's array of
	@# suite constructors as uninitialised, and its whole-program check reports
	@# caller-owned handles passed to their *_init function (which initialises
	@# them) as "uninitialised argument".
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --suppress='uninitvar:tests/unit/*' \
		--suppress=ctuuninitvar --std=c11 -I. -Ioperator \
		$(LIB_DIRS) tests/unit tests/fuzz
	@# the C sources as clang-format would write them (make format)
	@clang-format --dry-run --Werror $(FORMAT_SRCS)
	@# the man pages as groff reads them: any warning fails
	@for m in $(MAN1) $(MAN8); do out=$$(groff -mandoc -ww -z -Tutf8 $$m 2>&1); \
		[ -z "$$out" ] || { echo "lint: $$m: $$out" >&2; exit 1; }; done
	@# every shell script, following what it sources; warnings fail
	shellcheck -x -P SCRIPTDIR -S warning $(SHELL_SRCS)
	@# The chart lints clean with each of its ci/ values files (the
	@# chart-testing convention); --strict turns warnings into failures.
	@test -x $(HELM) || { echo "lint: no helm at $(HELM): run 'make testenv' or give HELM=" >&2; exit 1; }
	@for f in $(CHART_CI_VALUES); do \
		$(HELM) lint --strict --quiet charts/baton -f $$f || exit 1; done
	@# The chart's alert rules as Prometheus reads them: the PrometheusRule
	@# rendered with the monitoring values, its spec (every rule of the
	@# template, or the extraction broke) through promtool (Debian's
	@# prometheus package, make deps). The exposition text: promtool check
	@# metrics in tests/unit/test_http_promtool.c and, on live batonds,
	@# tests/integration/test_failover.sh.
	@command -v promtool >/dev/null || { echo "lint: no promtool: make deps (Debian's prometheus)" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(HELM) template lint charts/baton -f charts/baton/ci/monitoring-values.yaml \
		--kube-version $(LINT_KUBE_VERSION) --show-only templates/prometheusrule.yaml >"$$tmp/rule.yaml" && \
	awk '/^spec:/ {on = 1; next} /^[^ #]/ {on = 0} on {sub(/^  /, ""); print}' "$$tmp/rule.yaml" >"$$tmp/rules.yaml" && \
	n=$$(grep -c '^ *- alert:' charts/baton/templates/prometheusrule.yaml) && \
	{ [ "$$n" -gt 0 ] && [ "$$(grep -c '^ *- alert:' "$$tmp/rules.yaml")" = "$$n" ] || \
		{ echo "lint: the rendered PrometheusRule's spec does not hold the template's $$n alerts" >&2; exit 1; }; } && \
	promtool check rules "$$tmp/rules.yaml" >"$$tmp/out" 2>&1 || { cat "$$tmp/out" >&2; exit 1; }
	@# The Grafana dashboard is JSON with panels, and every metric it and
	@# the alert rules name is one the code registers.
	@jq -e '.panels | length > 0' charts/baton/dashboards/baton.json >/dev/null || \
		{ echo "lint: charts/baton/dashboards/baton.json is no dashboard" >&2; exit 1; }
	@tests/lint-metric-names.sh
	@# one image tag (docs/images.md): the CRD's default agentImage (both
	@# copies) is the chart's appVersion, the chart's image is the same
	@# repository, and no file names another version of the image
	@for f in crds/baton.dev_databaseclusters.yaml charts/baton/crds/baton.dev_databaseclusters.yaml; do \
		grep -q 'default: ghcr.io/baton-dev/baton:$(VERSION)$$' $$f || \
		{ echo "lint: $$f: the default agentImage is not baton:$(VERSION) (Chart.yaml appVersion)" >&2; exit 1; }; done
	@grep -q '^  repository: ghcr.io/baton-dev/baton$$' charts/baton/values.yaml || \
		{ echo "lint: charts/baton/values.yaml: image.repository is not ghcr.io/baton-dev/baton" >&2; exit 1; }
	@if git grep -nP 'ghcr\.io/baton-dev/baton:v\d' | grep -vP 'baton:\Q$(VERSION)\E(?![\w.-])'; then \
		echo "lint: the lines above name an image tag other than $(VERSION) (Chart.yaml appVersion)" >&2; exit 1; fi
	@echo "lint: ok"

coverage:
	$(MAKE) COVERAGE=1 BUILD=build/coverage SANITIZE= unit-build
	tests/run-unit.sh build/coverage/tests

clean:
	rm -rf build
.SECONDARY:
