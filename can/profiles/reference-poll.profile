; The simulator's reference vehicle as a car that must be asked: ignition
; and charging are broadcast (VCU_Status of reference.dbc, 10 Hz), every
; other role is read with UDS ReadDataByIdentifier from two ECUs that
; eco2-sim plays (DIDs 0x2001 and 0x2002 are this project's own test
; identifiers, not a real vehicle's; layouts in README.md). Resolutions
; match reference.dbc: odometer 1 m, counters 1 Wh.
[vehicle]
name = eco2 reference EV (polled)
dbc = reference.dbc

[signals]
ignition = VCU_Status.Ignition
charging = VCU_Status.Charging

[poll]
budget_pct = 1

[poll.vcu]
ecu = 7E0 7E8
request = 22 20 01
driving_s = 0.5
charging_s = 0
parked_s = 0
odometer = 0:4 * 0.001 km
speed = 4:2 * 0.01 km/h

[poll.bms]
ecu = 7E4 7EC
request = 22 20 02
driving_s = 0.5
charging_s = 1
parked_s = 0
pack_voltage = 0:2 * 0.01 V
pack_current = 2:2 signed * 0.1 A
discharge_energy_total = 4:4 Wh
regen_energy_total = 8:4 Wh

[options]
current_positive = discharge
