; Trucks and e-buses on J1939: standard PGNs only, decoded from any source
; address with the built-in tables (see docs/j1939.md for each layout and
; its source). A vehicle without PGN 65217 can use the 0.125 km odometer
; of PGN 65248 instead: odometer = VD.TotalVehicleDistance
[vehicle]
name = J1939 truck / e-bus (standard PGNs)
j1939 = builtin

[signals]
odometer = HRVD.HighResTotalVehicleDistance
speed = CCVS1.WheelBasedVehicleSpeed
pack_voltage = HVESSD1.HVESSVoltageLevel
pack_current = HVESSD1.HVESSCurrent

[options]
; The HVESS current's sign convention could not be confirmed from a public
; source (docs/j1939.md); check it on the vehicle: driving must give V*I > 0.
current_positive = discharge
