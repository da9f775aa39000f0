# Unit tests (cmocka). A test may #include the .c it tests to reach statics.
tests-y += test_config
test_config-objs := tests/unit/test_config.o
tests-y += test_co2
test_co2-objs := tests/unit/test_co2.o
