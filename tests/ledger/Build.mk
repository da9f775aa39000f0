# tests/ledger/ — eco2-ledger, the reference ledger server (a test peer; not
# installed). libmicrohttpd with GnuTLS for HTTPS and client certificates.
ifeq ($(CONFIG_LEDGER_SERVER),y)
test-progs-y += eco2-ledger
eco2-ledger-objs := tests/ledger/main.o tests/ledger/lstore.o
eco2-ledger-libs := $(LEDGER_LIBS) $(shell $(PKG_CONFIG) --libs gnutls 2>/dev/null)
endif
