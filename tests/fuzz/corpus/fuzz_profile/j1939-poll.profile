; Trucks and e-buses whose high-resolution distance (PGN 65217) comes only
; on request: eco2d asks for it with a J1939 request (PGN 59904) while the
; vehicle moves; the other groups are broadcast. Layouts: docs/j1939.md.
[vehicle]
name = J1939 truck / e-bus (distance on request)
j1939 = builtin

[signals]
odometer = HRVD.HighResTotalVehicleDistance
speed = CCVS1.WheelBasedVehicleSpeed
pack_voltage = HVESSD1.HVESSVoltageLevel
pack_current = HVESSD1.HVESSCurrent

[poll]
; 0xFB: the on-board data logger's address (J1939 preferred addresses)
j1939_source_address = FB

[poll.distance]
j1939 = 65217
to = FF
driving_s = 1
charging_s = 0
parked_s = 0

[options]
; As j1939.profile: check on the vehicle that driving gives V*I > 0.
current_positive = discharge
