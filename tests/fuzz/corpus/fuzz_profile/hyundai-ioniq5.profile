; Hyundai Ioniq 5 (2021-), every role read with UDS ReadDataByIdentifier
; over the OBD connector (500 kbit/s, 11-bit ids): the instrument
; cluster's odometer (DID 0xB002) and the battery controller's main page
; (DID 0x0101). Layouts as published by the Open Vehicle Monitoring
; System's Ioniq 5 support; README.md cites each byte.
[vehicle]
name = Hyundai Ioniq 5 (polled)

[poll.cluster]
ecu = 7C6 7CE
request = 22 B0 02
driving_s = 10
charging_s = 0
parked_s = 0
answer_bytes = 15
; 24 bits in the unit the cluster displays: km here; a cluster set to
; miles needs "mi"
odometer = 6:3 km

[poll.bms]
ecu = 7E4 7EC
request = 22 01 01
driving_s = 1
charging_s = 10
parked_s = 0
answer_bytes = 62
pack_current = 10:2 signed * 0.1 A
pack_voltage = 12:2 * 0.1 V
; cumulative discharged and charged energy, 0.1 kWh per bit: during a
; trip the charged counter only moves by regeneration
discharge_energy_total = 42:4 * 0.1 kWh
regen_energy_total = 38:4 * 0.1 kWh
ignition = 50.2

[options]
; The battery controller counts discharge current as positive.
current_positive = discharge
