# upload/ — the durable record queue (SQLite) and the uploader (libcurl).

# queue: the SQLite store
lib-y += upload/queue.o
tests-y += test_queue
test_queue-objs := tests/unit/test_queue.o
# upload-fill: appends chained test records to a store
test-progs-y += upload-fill
upload-fill-objs := tests/integration/upload/fill.o
itests-y += tests/integration/upload_crash.sh tests/integration/upload_diskfull.sh
itests-y += tests/integration/upload_recover.sh

# backoff: full-jitter exponential back-off
lib-y += upload/backoff.o
tests-y += test_backoff
test_backoff-objs := tests/unit/test_backoff.o

# ledger_resp: the ledger's JSON answers
lib-y += upload/ledger_resp.o
tests-y += test_ledger_resp
test_ledger_resp-objs := tests/unit/test_ledger_resp.o
fuzz-y += fuzz_ledger_resp
fuzz_ledger_resp-srcs := tests/fuzz/fuzz_ledger_resp.c upload/ledger_resp.c

# ledger: the uploader, libcurl multi on the caller's loop
lib-$(CONFIG_UPLOAD) += upload/ledger.o
# upload-drive: a small epoll loop that drains a store to a ledger
test-progs-$(CONFIG_UPLOAD) += upload-drive
upload-drive-objs := tests/integration/upload/drive.o
ifeq ($(CONFIG_UPLOAD)$(CONFIG_LEDGER_SERVER),yy)
itests-y += tests/integration/upload_tls.sh tests/integration/upload_faults.sh
itests-y += tests/integration/upload_pkcs11.sh
itests-y += tests/integration/upload_tls_gnutls.sh
itests-y += tests/integration/upload_reconcile.sh
endif

# ledger_tls: what this libcurl's TLS back end can do ([ledger] key checks)
lib-$(CONFIG_UPLOAD) += upload/ledger_tls.o
tests-$(CONFIG_UPLOAD) += test_ledger_tls
test_ledger_tls-objs := tests/unit/test_ledger_tls.o
