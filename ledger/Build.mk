# ledger/ — eco2-ledger, the ledger of signed records: HTTPS API
# (libmicrohttpd + GnuTLS), verification on ingest through crypto/, an
# RFC 9162 transparency log with receipts, SQLite and PostgreSQL stores.
ifeq ($(CONFIG_LEDGER_SERVER),y)
progs-y += eco2-ledger
bin-progs-y += eco2-ledger
eco2-ledger-objs := ledger/main.o ledger/server.o ledger/ingest.o ledger/tree.o \
	ledger/store.o ledger/store_sqlite.o ledger/limits.o ledger/metrics.o ledger/config.o \
	$(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),ledger/store_pg.o)
eco2-ledger-libs := $(LEDGER_LIBS) $(shell $(PKG_CONFIG) --libs gnutls 2>/dev/null) \
	$(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),$(shell $(PKG_CONFIG) --libs libpq 2>/dev/null)) -lpthread
CFLAGS_store_pg := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null)

# limits: token buckets, requests in flight per device, the body budget
tests-y += test_ledger_limits
test_ledger_limits-objs := tests/unit/test_ledger_limits.o ledger/limits.o

# config: eco2-ledger.conf
tests-y += test_ledger_config
test_ledger_config-objs := tests/unit/test_ledger_config.o ledger/config.o
fuzz-y += fuzz_ledger_config
fuzz_ledger_config-srcs := tests/fuzz/fuzz_ledger_config.c ledger/config.c
fuzz_ledger_config-libs := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null)

# store + tree: both back ends behind one table, the tree's batches
tests-y += test_ledger_store
test_ledger_store-objs := tests/unit/test_ledger_store.o ledger/store.o ledger/store_sqlite.o \
	ledger/tree.o $(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),ledger/store_pg.o)
test_ledger_store-libs := $(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),$(shell $(PKG_CONFIG) --libs libpq 2>/dev/null)) -lpthread

# eco2-ledger-proofs: trees and proofs printed for the Python oracle
test-progs-y += eco2-ledger-proofs
eco2-ledger-proofs-objs := tests/integration/ledger/proofs.o ledger/store.o ledger/store_sqlite.o \
	ledger/tree.o $(if $(filter y,$(CONFIG_LEDGER_POSTGRES)),ledger/store_pg.o)
eco2-ledger-proofs-libs := $(test_ledger_store-libs)

# eco2-bench-proofs: proof rates (make bench)
test-progs-y += eco2-bench-proofs
eco2-bench-proofs-objs := tests/bench/ledger/bench_proofs.o $(eco2-ledger-proofs-objs:tests/integration/ledger/proofs.o=)
eco2-bench-proofs-libs := $(test_ledger_store-libs)

itests-y += tests/integration/ledger_api.sh tests/integration/ledger_proofs.sh
itests-y += tests/integration/ledger_postgres.sh tests/integration/ledger_attacks.sh
itests-y += tests/integration/ledger_receipts.sh
endif
