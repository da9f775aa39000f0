# upload/ — the durable record queue (SQLite) and the uploader (libcurl).
lib-y += upload/queue.o upload/backoff.o upload/ledger_resp.o
lib-$(CONFIG_UPLOAD) += upload/ledger.o

# upload-drive: a small epoll loop that drains a store to a ledger (tests,
# benchmarks). Not installed.
ifeq ($(CONFIG_UPLOAD),y)
progs-y += upload-drive
upload-drive-objs := tests/integration/upload/drive.o
endif
# upload-fill: appends chained test records to a store (tests, benchmarks).
progs-y += upload-fill
upload-fill-objs := tests/integration/upload/fill.o

tests-y += test_queue test_backoff test_ledger_response
test_queue-objs := tests/unit/test_queue.o
test_backoff-objs := tests/unit/test_backoff.o
test_ledger_response-objs := tests/unit/test_ledger_response.o

fuzz-y += fuzz_ledger_response
fuzz_ledger_response-srcs := tests/fuzz/fuzz_ledger_response.c upload/ledger_resp.c


itests-y += tests/integration/upload_crash.sh tests/integration/upload_diskfull.sh tests/integration/upload_recover.sh
ifeq ($(CONFIG_UPLOAD)$(CONFIG_LEDGER_SERVER),yy)
itests-y += tests/integration/upload_tls.sh tests/integration/upload_faults.sh
itests-y += tests/integration/upload_ledger.sh tests/integration/upload_pkcs11.sh
itests-y += tests/integration/upload_tls_gnutls.sh
endif
