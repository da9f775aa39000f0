# agent/ — wires CAN input to trips, records and upload; eco2d and eco2ctl.
lib-y += agent/log.o agent/config.o
lib-y += agent/co2.o
